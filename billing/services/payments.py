"""What a participant pays to come in: asked by the host, paid on Stripe's Checkout page, confirmed only by
Stripe itself (the signed webhook, or our own retrieval of the Checkout Session), never by the browser."""

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from billing import stripe_calls
from billing.models import Payment, Service, StripeConnection
from billing.services.common import clean_money, logger, provider_error, ready_connection
from billing.services.setup import check_service_of
from config.errors import ValidationFailedError
from sessions_app.models import Participant
from sessions_app.services.common import check_open, lock_session

_STRIPE_ERRORS = (stripe_calls.StripeTransientError, stripe_calls.StripePermanentError)
# A payment that no longer waits for money: the only states a Checkout Session can no longer change.
_SETTLED = (Payment.Status.PAID, Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED)


def _expire_checkout_after_commit(*, payment: Payment, account_id: str) -> None:
    """Close the Checkout Session opened for the old amount, so nobody pays what is no longer asked. Best
    effort: should it fail, a payment of the wrong amount is refused by _checkout_record (and shown)."""
    checkout_session_id, number = payment.checkout_session_id, payment.checkout_count
    if not checkout_session_id:
        return

    def expire() -> None:
        try:
            stripe_calls.checkout_session_expire(
                account_id=account_id, payment=payment, checkout_session_id=checkout_session_id, number=number
            )
        except _STRIPE_ERRORS as exc:
            logger.warning("Could not close Checkout Session %s: %s", checkout_session_id, exc)

    transaction.on_commit(expire)


@transaction.atomic
def payment_require(
    *, actor: User, participant: Participant, amount: int, currency: str, service: Service | None = None
) -> Payment | None:
    """Ask a participant to pay `amount` (cents) before they come in, or change what is asked. An amount of
    0 asks nothing any more (the payment shows as not charged). Refused once they have paid: what was paid
    is refunded through a cancel, not rewritten here. Returns the payment, or None when nothing was ever
    asked."""
    session = lock_session(actor=actor, session=participant.session)
    check_open(session)
    if participant.removed_at is not None:
        raise ValidationFailedError(f"{participant.name} was removed from this session.")
    amount, currency = clean_money(amount, currency)
    check_service_of(service=service, organization_id=session.organization_id)
    payment = Payment.objects.select_for_update().filter(participant=participant).first()
    if payment is not None and payment.status in _SETTLED:
        raise ValidationFailedError(f"{participant.name} has paid already: the amount can no longer change.")
    if amount == 0:
        if payment is None or payment.status == Payment.Status.CANCELLED:
            return payment
        payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status", "updated_at"])
        connection = StripeConnection.objects.filter(organization_id=session.organization_id).first()
        if connection is not None:
            _expire_checkout_after_commit(payment=payment, account_id=connection.account_id)
        audit_record(
            actor=actor,
            session=session,
            obj=payment,
            action=AuditAction.PAYMENT_WAIVE,
            participant=participant.pk,
        )
        return payment
    connection = ready_connection(session.organization_id)
    if payment is None:
        payment = Payment.objects.create(
            organization_id=session.organization_id,
            session=session,
            participant=participant,
            service=service,
            amount=amount,
            currency=currency,
        )
        before = None
    else:
        before = {"amount": payment.amount, "currency": payment.currency, "status": payment.status}
        if (payment.amount, payment.currency) != (amount, currency):
            _expire_checkout_after_commit(payment=payment, account_id=connection.account_id)
        payment.amount, payment.currency, payment.service = amount, currency, service
        payment.status = Payment.Status.DUE
        payment.save(update_fields=["amount", "currency", "service", "status", "updated_at"])
    audit_record(
        actor=actor,
        session=session,
        obj=payment,
        action=AuditAction.PAYMENT_REQUIRE,
        participant=participant.pk,
        amount=amount,
        currency=currency,
        service=service.pk if service is not None else None,
        before=before,
    )
    return payment


def _checkout_claim(participant: Participant) -> tuple[Payment, StripeConnection, str, int]:
    """Number the next Checkout Session of the participant's payment, after checking there is something to
    pay and a session to pay for. Returns the payment, its account, and the previous session's id and
    number."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("session")
            .filter(participant=participant)
            .first()
        )
        if payment is None or payment.status == Payment.Status.CANCELLED:
            raise ValidationFailedError("There is nothing to pay for this session.")
        if payment.status in _SETTLED:
            raise ValidationFailedError("This session is paid already.")
        session = payment.session
        if participant.removed_at is not None or session.is_closed:
            raise ValidationFailedError(f"This session was {session.get_status_display().lower()}.")
        if not session.is_open:
            raise ValidationFailedError("This session has ended.")
        connection = ready_connection(payment.organization_id)
        previous = (payment.checkout_session_id, payment.checkout_count)
        payment.checkout_count += 1
        payment.save(update_fields=["checkout_count", "updated_at"])
    return payment, connection, *previous


def payment_checkout_start(*, participant: Participant, success_url: str, cancel_url: str) -> str:
    """Open Stripe's Checkout page for what the participant owes and return its address. The participant is
    the one asking (they have no account): their join cookie is the view's check.

    Each call opens a new Checkout Session, numbered in our row (its idempotency key is
    checkout-<payment>-<n>), and first closes the previous one, so two tabs cannot both take the money; a
    previous one that was paid meanwhile makes the payment paid instead."""
    payment, connection, previous_id, previous_number = _checkout_claim(participant)
    account_id = connection.account_id
    try:
        if previous_id:
            previous = stripe_calls.checkout_session_retrieve(
                account_id=account_id, checkout_session_id=previous_id
            )
            if previous.payment_status == "paid":
                _checkout_record(checkout=previous.to_dict(), account_id=account_id, source="return")
                raise ValidationFailedError("This session is paid already.")
            if previous.status == "open":
                stripe_calls.checkout_session_expire(
                    account_id=account_id,
                    payment=payment,
                    checkout_session_id=previous_id,
                    number=previous_number,
                )
        checkout = stripe_calls.checkout_session_create(
            account_id=account_id,
            payment=payment,
            number=payment.checkout_count,
            product_name=payment.session.title,
            customer_email=participant.email,
            success_url=success_url,
            cancel_url=cancel_url,
        )
    except _STRIPE_ERRORS as exc:
        raise provider_error(exc) from exc
    with transaction.atomic():
        # A later click numbered a newer Checkout Session: that one is the payment's, not this.
        Payment.objects.filter(pk=payment.pk, checkout_count=payment.checkout_count).update(
            checkout_session_id=checkout.id, updated_at=timezone.now()
        )
        audit_record(
            actor=None,
            session=payment.session,
            obj=payment,
            action=AuditAction.PAYMENT_CHECKOUT_START,
            participant=participant.pk,
            checkout_session_id=checkout.id,
        )
    return checkout.url


def payment_confirm_from_checkout(*, payment: Payment) -> Payment:
    """The participant is back from Checkout: ask Stripe (not the browser) whether the payment went through.
    A payment Stripe does not call paid stays due; the webhook will still tell us when it is."""
    if payment.status != Payment.Status.DUE or not payment.checkout_session_id:
        return payment
    connection = StripeConnection.objects.filter(organization_id=payment.organization_id).first()
    if connection is None:
        return payment
    try:
        checkout = stripe_calls.checkout_session_retrieve(
            account_id=connection.account_id, checkout_session_id=payment.checkout_session_id
        )
    except _STRIPE_ERRORS as exc:
        logger.warning("Could not ask Stripe about payment %s: %s", payment.pk, exc)
        return payment
    recorded = _checkout_record(
        checkout=checkout.to_dict(), account_id=connection.account_id, source="return"
    )
    return recorded or payment


@transaction.atomic
def _checkout_record(*, checkout: dict, account_id: str, source: str) -> Payment | None:
    """A Checkout Session as Stripe reports it (webhook or retrieval): its payment becomes paid when Stripe
    says it is paid, on the organisation's own account, for the amount and currency asked. Returns the
    payment, or None when the session is not one of ours."""
    payment_id = (checkout.get("metadata") or {}).get("payment_id") or checkout.get("client_reference_id")
    if not str(payment_id or "").isdigit():
        return None
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("session", "organization__stripe")
        .filter(pk=int(payment_id))
        .first()
    )
    if payment is None:
        logger.info("Checkout Session %s names no payment of ours", checkout.get("id"))
        return None
    connection = getattr(payment.organization, "stripe", None)
    if connection is None or connection.account_id != account_id:
        # Metadata is written by whoever creates the Checkout Session: one on another account naming our
        # payment id pays nothing here.
        logger.warning(
            "Checkout Session %s on account %s is not payment %s's",
            checkout.get("id"),
            account_id,
            payment.pk,
        )
        return None
    if checkout.get("payment_status") != "paid":
        return payment
    paid = (checkout.get("amount_total"), (checkout.get("currency") or "").lower())
    if paid != (payment.amount, payment.currency):
        logger.error(
            "Checkout Session %s paid %s %s, but payment %s asks %s %s",
            checkout.get("id"),
            *paid,
            payment.pk,
            payment.amount,
            payment.currency,
        )
        audit_record(
            actor=None,
            session=payment.session,
            obj=payment,
            action=AuditAction.PAYMENT_MISMATCH,
            checkout_session_id=checkout.get("id"),
            paid_amount=paid[0],
            paid_currency=paid[1],
        )
        return payment
    payment_intent = checkout.get("payment_intent") or ""
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id", "")
    if payment.status in _SETTLED:
        if payment_intent and payment_intent != payment.payment_intent_id:
            # Two Checkout Sessions paid (tabs opened at the same moment): the money is at Stripe; the host
            # refunds the second from the dashboard. Never lost: logged and in the audit log.
            logger.error("Payment %s was paid a second time (%s)", payment.pk, payment_intent)
            audit_record(
                actor=None,
                session=payment.session,
                obj=payment,
                action=AuditAction.PAYMENT_MISMATCH,
                checkout_session_id=checkout.get("id"),
                payment_intent=payment_intent,
                paid_twice=True,
            )
        return payment
    # A payment asked no more (cancelled) that Stripe says was paid anyway is paid: the money arrived, and the
    # host sees it to refund it.
    previous = payment.status
    payment.status = Payment.Status.PAID
    payment.paid_at = timezone.now()
    payment.payment_intent_id = payment_intent
    payment.checkout_session_id = checkout.get("id") or payment.checkout_session_id
    payment.save(
        update_fields=["status", "paid_at", "payment_intent_id", "checkout_session_id", "updated_at"]
    )
    audit_record(
        actor=None,
        session=payment.session,
        obj=payment,
        action=AuditAction.PAYMENT_PAID,
        source=source,
        previous_status=previous,
        checkout_session_id=payment.checkout_session_id,
        payment_intent=payment_intent,
        amount=payment.amount,
        currency=payment.currency,
    )
    return payment
