"""Refunds of a cancelled session's payments: our Refund rows are written with the cancel, Stripe is called
after commit by a worker, and its answer is recorded on the row (notifications.services is the model).

The call's idempotency key is refund-<row id>: the same refund asked twice (a retry after a time-out, the
sweep and a worker racing, a worker killed after Stripe acted) is one refund at Stripe."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from billing import stripe_calls
from billing.models import Payment, Refund, StripeConnection
from billing.services.common import (
    SWEEP_GRACE,
    after_commit_publish,
    attempt_claim,
    attempt_failed,
    attempt_write,
    logger,
)
from notifications.clock import db_now

CANCEL_REASON = "Session cancelled"
# A refund Stripe answered "pending" is finished by its refund.updated event. One still pending this long
# after we last heard of it is asked after (refund_reconcile), and again as often while Stripe works on it,
# so a lost or refused webhook never leaves the host looking at a refund that is "pending" for good.
RECONCILE_AFTER = timedelta(hours=1)


def late_cancel_fee(*, payment: Payment, connection: StripeConnection | None, at) -> int:
    """The share of a payment kept when its session is cancelled at `at`: the organisation's percentage
    when the cancel falls within its late-cancel hours of the start, rounded down (in the client's favour)."""
    if connection is None or not connection.late_cancel_hours or not connection.late_cancel_fee_percent:
        return 0
    if at < payment.session.start_at - timedelta(hours=connection.late_cancel_hours):
        return 0
    return payment.amount * connection.late_cancel_fee_percent // 100


def payments_refund_for_cancel(*, sessions: list, cancelled_by_host: bool = True) -> list[Refund]:
    """Inside the cancel's transaction (sessions_app.services.changes.session_cancel): payments still due
    are asked no more, and each paid one gets its Refund row, in full or less the late-cancel fee. Stripe is
    called once the cancel has committed (billing.tasks.refunds_send). A fixed number of queries however
    many sessions are cancelled."""
    if not sessions:
        return []
    moment = timezone.now()
    by_pk = {session.pk: session for session in sessions}
    payments = list(
        Payment.objects.select_for_update()
        .filter(session__in=sessions, status__in=[Payment.Status.DUE, Payment.Status.PAID])
        .order_by("pk")
    )
    if not payments:
        return []
    for payment in payments:
        payment.session = by_pk[payment.session_id]
    organization_id = sessions[0].organization_id
    connection = StripeConnection.objects.filter(organization_id=organization_id).first()
    due = [p.pk for p in payments if p.status == Payment.Status.DUE]
    Payment.objects.filter(pk__in=due).update(status=Payment.Status.CANCELLED, updated_at=moment)
    refunds, kept = [], []
    for payment in payments:
        if payment.status != Payment.Status.PAID:
            continue
        fee = late_cancel_fee(payment=payment, connection=connection, at=moment)
        kept.append({"payment": payment.pk, "fee": fee})
        if payment.amount > fee:
            refunds.append(Refund(payment=payment, amount=payment.amount - fee, reason=CANCEL_REASON))
    Refund.objects.bulk_create(refunds)
    audit_record(
        actor=None,
        session=sessions[0],
        obj=sessions[0],
        action=AuditAction.PAYMENTS_REFUND_FOR_CANCEL,
        cancelled_by_host=cancelled_by_host,
        not_charged=due,
        refunds=[{"refund": r.pk, "payment": r.payment_id, "amount": r.amount} for r in refunds],
        fees_kept=kept,
    )
    from billing.tasks import refunds_send

    after_commit_publish(refunds_send, [r.pk for r in refunds])
    return refunds


def refund_send(*, refund_id: int) -> Refund | None:
    """Ask Stripe for one due refund and record its answer: succeeded, pending at Stripe (its webhook
    finishes it), failed for good, or retried later. None when the refund was not due or another worker
    holds it."""
    refund = attempt_claim(
        Refund, refund_id, related=("payment__organization__stripe", "payment__session"), stripe_refund_id=""
    )
    if refund is None:
        return None
    payment = refund.payment
    connection = getattr(payment.organization, "stripe", None)
    if connection is None or not payment.payment_intent_id:
        attempt_write(
            refund, status=Refund.Status.FAILED, last_error="Stripe has no record of this payment to refund."
        )
        return _audited(refund)
    try:
        answer = stripe_calls.refund_create(
            account_id=connection.account_id, refund=refund, payment_intent_id=payment.payment_intent_id
        )
    except (stripe_calls.StripePermanentError, stripe_calls.StripeTransientError) as exc:
        permanent = isinstance(exc, stripe_calls.StripePermanentError)
        return _audited(refund) if attempt_failed(refund, exc, permanent=permanent) else refund
    if attempt_write(refund, stripe_refund_id=answer.id, last_error=""):
        refund_record(
            stripe_refund_id=answer.id,
            status=answer.status,
            failure_reason=getattr(answer, "failure_reason", None) or "",
            refund_id=refund.pk,
        )
    refund.refresh_from_db()
    return refund


def _audited(refund: Refund) -> Refund:
    audit_record(
        actor=None,
        session=refund.payment.session,
        obj=refund,
        action=AuditAction.REFUND_RESULT,
        status=refund.status,
        error=refund.last_error,
    )
    logger.warning("Refund %s failed: %s", refund.pk, refund.last_error)
    return refund


# Stripe's refund statuses, as our row's: "pending" and "requires_action" are still under way at Stripe.
_REFUND_STATUS = {
    "succeeded": Refund.Status.SUCCEEDED,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.FAILED,
}


@transaction.atomic
def refund_record(
    *, stripe_refund_id: str, status: str, failure_reason: str = "", refund_id: int | None = None
) -> Refund | None:
    """What Stripe says of a refund (the answer to our call, or its refund.updated event). A refund that
    succeeded or failed stays so: a report that arrives late changes nothing. The payment follows its
    succeeded refunds (partly refunded, then refunded)."""
    refunds = Refund.objects.select_for_update(of=("self",)).select_related("payment__session")
    refund = refunds.filter(stripe_refund_id=stripe_refund_id).first() if stripe_refund_id else None
    if refund is None and refund_id is not None:
        refund = refunds.filter(pk=refund_id).first()
    new_status = _REFUND_STATUS.get(status)
    if refund is None or new_status is None or refund.status != Refund.Status.PENDING:
        return refund
    refund.status = new_status
    refund.stripe_refund_id = refund.stripe_refund_id or stripe_refund_id
    refund.last_error = (
        f"Stripe could not refund it: {failure_reason or status}."
        if new_status == Refund.Status.FAILED
        else ""
    )
    refund.save(update_fields=["status", "stripe_refund_id", "last_error", "updated_at"])
    if new_status == Refund.Status.SUCCEEDED:
        _payment_follow_refunds(refund.payment)
    audit_record(
        actor=None,
        session=refund.payment.session,
        obj=refund,
        action=AuditAction.REFUND_RESULT,
        status=refund.status,
        stripe_refund_id=refund.stripe_refund_id,
        error=refund.last_error,
    )
    if new_status == Refund.Status.FAILED:
        logger.warning("Refund %s failed at Stripe: %s", refund.pk, refund.last_error)
    return refund


def payment_record_refunded(
    *, payment_intent_id: str, account_id: str, amount_refunded: int
) -> Payment | None:
    """Stripe's charge.refunded: how much of a payment is refunded in all, whoever refunded it (our cancel,
    or the organisation from its Stripe dashboard). Only ever moves forward."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("organization__stripe")
            .filter(payment_intent_id=payment_intent_id)
            .first()
            if payment_intent_id
            else None
        )
        connection = getattr(payment.organization, "stripe", None) if payment is not None else None
        if connection is None or connection.account_id != account_id:
            return None
        _payment_set_refunded(payment, amount_refunded)
    return payment


def _payment_follow_refunds(payment: Payment) -> None:
    total = (
        payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(total=Sum("amount"))["total"] or 0
    )
    _payment_set_refunded(Payment.objects.select_for_update().get(pk=payment.pk), total)


def _payment_set_refunded(payment: Payment, amount_refunded: int) -> None:
    if amount_refunded <= payment.refunded_amount or payment.status not in (
        Payment.Status.PAID,
        Payment.Status.PARTIALLY_REFUNDED,
    ):
        return
    payment.refunded_amount = min(amount_refunded, payment.amount)
    payment.status = (
        Payment.Status.REFUNDED
        if payment.refunded_amount >= payment.amount
        else Payment.Status.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])


def refunds_due_ids(*, limit: int = 500) -> list[int]:
    """Refunds the sweep hands to a worker: not yet answered by Stripe, due, and older than the minute the
    after-commit hand-over has to send them first."""
    return list(
        Refund.objects.filter(
            status=Refund.Status.PENDING,
            stripe_refund_id="",
            next_attempt_at__lte=db_now(),
            created_at__lte=timezone.now() - SWEEP_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def refunds_stale_ids(*, limit: int = 100) -> list[int]:
    """Refunds Stripe left pending and has not reported on for RECONCILE_AFTER: the sweep asks after them.
    Their next_attempt_at is the last time we asked Stripe or heard from it."""
    return list(
        Refund.objects.filter(status=Refund.Status.PENDING, next_attempt_at__lte=db_now() - RECONCILE_AFTER)
        .exclude(stripe_refund_id="")
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def refund_reconcile(*, refund_id: int) -> Refund | None:
    """Ask Stripe where a refund it left pending stands, and record its answer as its refund.updated event
    would have been recorded (refund_record: audited, the payment following it). One that Stripe still works
    on, or that Stripe could not be asked about, is asked after again RECONCILE_AFTER later. None when the
    refund is no longer pending at Stripe."""
    refund = (
        Refund.objects.select_related("payment__organization__stripe")
        .filter(pk=refund_id, status=Refund.Status.PENDING)
        .exclude(stripe_refund_id="")
        .first()
    )
    if refund is None:
        return None
    if (answer := _refund_at_stripe(refund)) is not None:
        recorded = refund_record(
            stripe_refund_id=refund.stripe_refund_id,
            status=answer.status,
            failure_reason=getattr(answer, "failure_reason", None) or "",
        )
        if recorded is not None and recorded.status != Refund.Status.PENDING:
            return recorded
    Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
        next_attempt_at=db_now(), updated_at=timezone.now()
    )
    refund.refresh_from_db()
    return refund


def _refund_at_stripe(refund: Refund):
    """Stripe's refund object for our row, or None when Stripe could not be asked (its account disconnected
    since, or Stripe unreachable): the row is asked after again later."""
    connection = getattr(refund.payment.organization, "stripe", None)
    if connection is None:
        logger.warning("Refund %s is pending at a Stripe account no longer connected", refund.pk)
        return None
    try:
        return stripe_calls.refund_retrieve(
            account_id=connection.account_id, stripe_refund_id=refund.stripe_refund_id
        )
    except (stripe_calls.StripePermanentError, stripe_calls.StripeTransientError) as exc:
        logger.warning("Could not ask Stripe about refund %s: %s", refund.pk, exc)
        return None
