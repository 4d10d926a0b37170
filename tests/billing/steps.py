"""The steps of a payment as the tests take them: through the product's services and the fake Stripe."""

from billing.models import Payment
from billing.services import payment_checkout_start, payment_require

WEBHOOK = "/webhooks/stripe/"


def post_event(client, fake_stripe, event, **signing):
    body, headers = fake_stripe.signed(event, **signing)
    return client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"]
    )


def checkout(participant) -> str:
    return payment_checkout_start(
        participant=participant,
        success_url="http://testserver/paid/?cs={CHECKOUT_SESSION_ID}",
        cancel_url="http://testserver/pay/",
    )


def pay(client, fake_stripe, participant, *, host, amount=6000, currency="eur") -> Payment:
    """Ask a payment, open Checkout, pay there, and let Stripe's signed event say so."""
    payment_require(actor=host, participant=participant, amount=amount, currency=currency)
    checkout(participant)
    payment = Payment.objects.get(participant=participant)
    paid = fake_stripe.mark_paid(payment.checkout_session_id)
    assert (
        post_event(client, fake_stripe, fake_stripe.event("checkout.session.completed", paid)).status_code
        == 200
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    return payment
