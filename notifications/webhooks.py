"""Providers' calls to us: Twilio's status callback of each message we sent and the messages people send
back, and the email service's tracking webhook.

All are public URLs, so nothing in them is believed before the provider's signature or our webhook secret
is checked. A signed Twilio request can be sent again by whoever captured it, so each is acted on once
(notifications.provider_events). The email tracking webhook is anymail's view of the one ESP that sends our
mail; notifications/signals.py records what it reports.
"""

from functools import cache

from anymail import urls as anymail_urls
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from notifications.provider_events import twilio_inbound_record, twilio_status_record


def _signed_by_twilio(request) -> bool:
    # Without an auth token there is nothing to check a signature against, so nothing is accepted.
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    # Twilio signs the exact URL it called. Behind the TLS-terminating proxy, request.build_absolute_uri()
    # can see http:// or an internal host and port and would never match, so the public URL is rebuilt
    # from SITE_URL, the same base the status_callback was built from (channels._send_twilio).
    url = settings.SITE_URL + request.get_full_path()
    return RequestValidator(token).validate(url, request.POST, signature)


@csrf_exempt
@require_POST
def twilio_status(request):
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    # An unknown MessageSid, or a callback acted on before, is still answered 200: another answer only makes
    # Twilio try again.
    twilio_status_record(
        message_sid=request.POST.get("MessageSid", ""),
        message_status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode") or None,
    )
    return HttpResponse()


@csrf_exempt
@require_POST
def twilio_inbound(request):
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    answer_text = twilio_inbound_record(
        message_sid=request.POST.get("MessageSid", ""),
        sender=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
    )
    # Twilio itself confirms a STOP or START to the person. A C or X is answered here, in the reply Twilio
    # sends back on the same channel (confirmed, cancelled, or why not); a message for the host gets no
    # answer, since the host answers it themselves.
    response = MessagingResponse()
    if answer_text:
        response.message(answer_text)
    return HttpResponse(str(response), content_type="text/xml")


@cache
def _tracking_views() -> dict:
    """anymail's tracking webhook view of each ESP, by its backend's module name (anymail.backends.<esp>)."""
    views = {}
    for pattern in anymail_urls.urlpatterns:
        esp, _, kind = pattern.name.partition("_tracking_")
        if kind == "webhook":
            views[esp] = pattern.callback
    return views


def email_esp() -> str | None:
    """The ESP whose anymail backend sends our mail (EMAIL_BACKEND = anymail.backends.<esp>.EmailBackend),
    or None for any other backend."""
    module, _, _ = settings.EMAIL_BACKEND.rpartition(".")
    prefix = "anymail.backends."
    return module[len(prefix) :] if module.startswith(prefix) else None


def email_tracking_view():
    """The tracking webhook to serve, or None. Only the ESP that sends our mail can report on it, and only
    with a webhook secret: without one anymail accepts events from anyone (it merely warns), and a forged
    bounce would fail a notice. anymail mounts all its ESPs' webhooks; here every other URL is a 404."""
    if not get_anymail_setting("webhook_secret", default=None):
        return None
    return _tracking_views().get(email_esp() or "")


@csrf_exempt
def email_tracking(request, esp: str):
    view = email_tracking_view()
    if view is None or esp != email_esp():
        raise Http404("No email tracking webhook here")
    return view(request)
