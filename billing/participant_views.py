"""The pay step of the participant's way in (sessions_app.join): before documents, waiting room and room,
a participant asked to pay does so on Stripe Checkout, reached with the cookie their join link left.

Paid means Stripe says so: the return from Checkout only asks Stripe (payment_confirm_from_checkout), and
the signed webhook says it too when the participant never comes back. Caching and the referrer policy are
those of every page of the way in (sessions_app.join.views.participant_page): Stripe, another site, gets no
referrer at all.
"""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from billing.models import Payment
from billing.selectors import payment_due, payment_for, payments_enabled
from billing.services import payment_checkout_start, payment_confirm_from_checkout
from config.errors import ApplicationError
from sessions_app.join.views import participant_page
from sessions_app.models import Participant
from sessions_app.timefmt import format_when
from sessions_app.views.common import refuse_method


def _still_payable(participant: Participant) -> bool:
    """A payment is asked until the session ends; after that (or once cancelled) the lobby says why not."""
    session = participant.session
    return not session.is_closed and timezone.now() < session.end_at


@participant_page
def participant_pay(request, participant):
    """GET: what is owed and the Pay button; POST: a Stripe Checkout page for it, where the browser goes."""
    if refused := refuse_method(request, "GET", "POST"):
        return refused
    payment = payment_due(participant)
    if payment is None or not _still_payable(participant):
        return redirect("join:lobby")
    if request.method == "POST" and payments_enabled():
        try:
            checkout_url = payment_checkout_start(
                participant=participant,
                # The address the browser really used (a host ALLOWED_HOSTS accepts): Stripe sends the
                # participant back there, where their join cookie is.
                success_url=request.build_absolute_uri(reverse("join:pay_return")),
                cancel_url=request.build_absolute_uri(reverse("join:lobby")),
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("join:pay")
        return HttpResponseRedirect(checkout_url)
    session = participant.session
    return render(
        request,
        "billing/participant_pay.html",
        {
            "participant": participant,
            "session": session,
            "payment": payment,
            "payments_enabled": payments_enabled(),
            "checking": request.GET.get("checking") == "1",
            "when": format_when(session.start_at, participant.time_zone),
        },
    )


@participant_page
def participant_pay_return(request, participant):
    """Stripe Checkout's success address: ask Stripe whether it is paid (the webhook may have said so
    already), then on to the lobby; while Stripe has not settled it, the pay page checks again by itself."""
    if refused := refuse_method(request, "GET"):
        return refused
    payment = payment_due(participant)
    if payment is not None:
        try:
            payment_confirm_from_checkout(payment=payment)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("join:pay")
        if payment_due(participant) is not None:
            return HttpResponseRedirect(reverse("join:pay") + "?checking=1")
    paid = payment_for(participant)
    if paid is not None and paid.status == Payment.Status.PAID:
        messages.success(request, "Thank you: your payment is received.")
    return redirect("join:lobby")
