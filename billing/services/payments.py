"""What a participant pays to come in: asked by the host, paid on Stripe's Checkout page, confirmed only by
Stripe itself (the signed webhook, or our own retrieval of the Checkout Session), never by the browser."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_event, audit_record, audit_records
from accounts.models import User
from billing import stripe_calls
from billing.models import Payment, Service, StripeConnection
from billing.services.common import clean_money, logger, provider_error, ready_connection
from billing.services.setup import check_service_of
from config.errors import ApplicationError, ValidationFailedError
from sessions_app.models import Participant, Session
from sessions_app.services.common import check_acts_for, check_open, lock_session

_STRIPE_ERRORS = (stripe_calls.StripeTransientError, stripe_calls.StripePermanentError)
# A payment that no longer waits for money: the only states a Checkout Session can no longer change.
_SETTLED = (Payment.Status.PAID, Payment.Status.REFUNDED, Payment.Status.PARTIALLY_REFUNDED)


@dataclass(frozen=True)
class PaymentAsk:
    """What a participant is asked to pay: payment_require's arguments, and one ask of payments_require."""

    amount: int
    currency: str
    service: Service | None

    def arguments(self) -> dict:
        return {"amount": self.amount, "currency": self.currency, "service": self.service}


class PaymentAskRefused(ValidationFailedError):
    """payments_require refused one of its asks: `index` says which (the first, when the organisation cannot
    take payments at all), so a form with a row per person shows the refusal on that person's row. Without a
    field of its own, the refusal is about the amount asked."""

    def __init__(self, error: ApplicationError, *, index: int):
        super().__init__(error.message, field=error.field or "amount", details=error.details)
        self.index = index


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
    amount, currency = _checked_ask(
        session=session, participant=participant, amount=amount, currency=currency, service=service
    )
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
    audit_record(**_require_event(actor=actor, session=session, payment=payment, before=before))
    return payment


def _checked_ask(
    *, session: Session, participant: Participant, amount: int, currency: str, service: Service | None
) -> tuple[int, str]:
    """What payment_require and payments_require check of one ask: the session still open, the participant
    still on it, the amount and currency valid, the service the organisation's own and still offered.
    Returns the amount and currency cleaned."""
    check_open(session)
    if participant.removed_at is not None:
        raise ValidationFailedError(f"{participant.name} was removed from this session.")
    amount, currency = clean_money(amount, currency)
    check_service_of(service=service, organization_id=session.organization_id)
    return amount, currency


def _require_event(*, actor: User, session: Session, payment: Payment, before: dict | None) -> dict:
    """The audit event of a payment asked (audit_event's arguments), as it stands after the ask."""
    return {
        "actor": actor,
        "session": session,
        "obj": payment,
        "action": AuditAction.PAYMENT_REQUIRE,
        "participant": payment.participant_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "service": payment.service_id,
        "before": before,
    }


@transaction.atomic
def payments_require(*, actor: User, asks: list[tuple[Participant, PaymentAsk]]) -> list[Payment]:
    """Ask each of many participants new on their sessions (a booking's people, on every occurrence of a
    series) to pay, as payment_require asks one: the same checks, one payment and one audit event each. A
    fixed handful of queries however many there are, so a booking's transaction does not grow with its
    occurrences (payment_require locks and reads per participant). All or nothing: any refusal, before
    anything is written, is a PaymentAskRefused naming the ask. An amount of 0 asks nothing of that one."""
    asks = [(participant, ask) for participant, ask in asks if ask.amount != 0]
    if not asks:
        return []
    sessions = {
        session.pk: session
        for session in Session.objects.select_for_update(of=("self",))
        .select_related("host")
        .filter(pk__in={participant.session_id for participant, _ask in asks})
    }
    for host in {session.host for session in sessions.values()}:
        check_acts_for(actor=actor, host=host)
    organization_ids = {session.organization_id for session in sessions.values()}
    if len(organization_ids) != 1:
        # A caller's bug, not a person's: one booking is one organisation's.
        raise ValueError("payments_require asks payments on one organisation's sessions at a time")
    (organization_id,) = organization_ids
    cleaned = []
    for index, (participant, ask) in enumerate(asks):
        session = sessions[participant.session_id]
        try:
            amount, currency = _checked_ask(session=session, participant=participant, **ask.arguments())
        except ValidationFailedError as error:
            raise PaymentAskRefused(error, index=index) from error
        cleaned.append((participant, session, amount, currency, ask.service))
    try:
        ready_connection(organization_id)
    except ValidationFailedError as error:
        raise PaymentAskRefused(error, index=0) from error
    asked = set(
        Payment.objects.filter(participant__in=[participant for participant, _ask in asks]).values_list(
            "participant_id", flat=True
        )
    )
    for index, (participant, _ask) in enumerate(asks):
        if participant.pk in asked:
            # Changing what is asked (and closing the Checkout opened for it) is payment_require's.
            error = ValidationFailedError(f"{participant.name} is asked to pay already.")
            raise PaymentAskRefused(error, index=index)
    payments = Payment.objects.bulk_create(
        Payment(
            organization_id=organization_id,
            session=session,
            participant=participant,
            service=service,
            amount=amount,
            currency=currency,
        )
        for participant, session, amount, currency, service in cleaned
    )
    audit_records(
        [
            audit_event(**_require_event(actor=actor, session=payment.session, payment=payment, before=None))
            for payment in payments
        ]
    )
    return payments


def payments_asked_again(participants: list[Participant]) -> dict[int, PaymentAsk]:
    """What each of these participants was asked to pay for their session, by participant id, as the ask for
    the next one (session_schedule_next): the same amount and currency, and the same service while it is
    still offered. A payment waived (not charged) is not asked again. One query; it writes nothing."""
    payments = (
        Payment.objects.filter(participant__in=participants)
        .exclude(status=Payment.Status.CANCELLED)
        .select_related("service")
    )
    return {
        payment.participant_id: PaymentAsk(
            amount=payment.amount,
            currency=payment.currency,
            service=payment.service if payment.service is not None and payment.service.is_active else None,
        )
        for payment in payments
    }


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
