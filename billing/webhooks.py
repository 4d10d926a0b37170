"""Stripe's webhook: the one way a payment, refund or invoice hears what happened at Stripe on its own.

Security: the body is acted on only when its Stripe-Signature verifies with our endpoint's secret and is at
most five minutes old (the SDK's default tolerance), so neither a forged event nor a captured one replayed
later changes anything; an event id is acted on once (billing.services.events). Without a secret the
endpoint does not exist (404): an event nobody can verify is never read.
"""

import stripe
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services import stripe_event_handle


@csrf_exempt
@require_POST
def stripe_webhook(request):
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise Http404
    try:
        event = stripe.Webhook.construct_event(request.body, request.headers.get("Stripe-Signature"), secret)
    except stripe.SignatureVerificationError:
        return HttpResponseForbidden("Bad signature.")
    except ValueError:
        return HttpResponseBadRequest("Not a Stripe event.")
    stripe_event_handle(event=event)
    # 200 for every verified event, acted on or not: any other answer makes Stripe send it again for days.
    return HttpResponse("ok")
