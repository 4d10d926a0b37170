"""Invoices for an extended session: our row first, then, after commit, a worker walks it through Stripe
(customer, draft invoice, its line, finalize, send), recording each step's id so a retry resumes where the
last attempt stopped; each step's idempotency key is made from our row, so a step repeated is done once."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from billing import stripe_calls
from billing.models import Invoice, Payment, Service, StripeConnection
from billing.services.common import (
    SWEEP_GRACE,
    after_commit_publish,
    attempt_claim,
    attempt_failed,
    attempt_write,
    clean_money,
    logger,
    ready_connection,
)
from config.errors import ValidationFailedError
from notifications.clock import db_now
from sessions_app.models import Participant, Session
from sessions_app.services.common import check_not_closed, lock_session


@transaction.atomic
def invoice_for_extension(
    *, actor: User, session: Session, participant: Participant, amount: int, due_date: date
) -> Invoice:
    """Bill a participant for the time a session was extended: Stripe emails them an invoice to pay on its
    own page by `due_date`, in the currency of their payment (else of the organisation's first service,
    else EUR)."""
    session = lock_session(actor=actor, session=session)
    check_not_closed(session)
    if participant.session_id != session.pk or participant.removed_at is not None:
        raise ValidationFailedError(f"{participant.name} is not on this session.")
    if not participant.email:
        raise ValidationFailedError(
            f"Stripe emails invoices: add an email address for {participant.name} first."
        )
    amount, currency = clean_money(amount, _currency_of(participant))
    if amount == 0:
        raise ValidationFailedError("Give the amount to invoice.", field="amount")
    if not isinstance(due_date, date) or due_date <= timezone.localdate(timezone=participant.zone):
        raise ValidationFailedError("Give a due date after today.", field="due_date")
    ready_connection(session.organization_id)
    minutes = session.duration_minutes
    invoice = Invoice.objects.create(
        organization_id=session.organization_id,
        session=session,
        participant=participant,
        amount=amount,
        currency=currency,
        description=f"{session.title}: extended session ({minutes} minutes)"[:200],
        due_date=due_date,
    )
    audit_record(
        actor=actor,
        session=session,
        obj=invoice,
        action=AuditAction.INVOICE_CREATE,
        participant=participant.pk,
        amount=amount,
        currency=currency,
        due_date=due_date.isoformat(),
    )
    from billing.tasks import invoices_send

    after_commit_publish(invoices_send, [invoice.pk])
    return invoice


def _currency_of(participant: Participant) -> str:
    payment = Payment.objects.filter(participant=participant).only("currency").first()
    if payment is not None:
        return payment.currency
    service = Service.objects.filter(
        organization_id=participant.session.organization_id, is_active=True
    ).first()
    return service.currency if service is not None else "eur"


def invoice_send(*, invoice_id: int) -> Invoice | None:
    """Walk one due invoice through Stripe, from wherever the last attempt stopped. None when it was not due
    or another worker holds it."""
    invoice = attempt_claim(Invoice, invoice_id, related=("participant", "session"))
    if invoice is None:
        return None
    connection = StripeConnection.objects.filter(organization_id=invoice.organization_id).first()
    try:
        if connection is None:
            raise stripe_calls.StripePermanentError("The organisation has no Stripe account any more.")
        account_id = connection.account_id
        if not invoice.stripe_customer_id:
            customer = stripe_calls.customer_create(
                account_id=account_id,
                invoice=invoice,
                email=invoice.participant.email if invoice.participant else "",
                name=invoice.participant.name if invoice.participant else "",
            )
            if not attempt_write(invoice, stripe_customer_id=customer.id):
                return None
        if not invoice.stripe_invoice_id:
            draft = stripe_calls.invoice_create(account_id=account_id, invoice=invoice)
            if not attempt_write(invoice, stripe_invoice_id=draft.id):
                return None
        # Not skipped once done: its idempotency key makes the repeat return the same line, and an attempt
        # that stopped between the draft and its line must not finalize an invoice for nothing.
        stripe_calls.invoice_item_create(account_id=account_id, invoice=invoice)
        stripe_calls.invoice_finalize(account_id=account_id, invoice=invoice)
        sent = stripe_calls.invoice_send(account_id=account_id, invoice=invoice)
    except (stripe_calls.StripePermanentError, stripe_calls.StripeTransientError) as exc:
        permanent = isinstance(exc, stripe_calls.StripePermanentError)
        return _audited(invoice) if attempt_failed(invoice, exc, permanent=permanent) else invoice
    invoice_record(stripe_invoice_id=invoice.stripe_invoice_id, status=sent.status, account_id=account_id)
    invoice.refresh_from_db()
    return invoice


def _audited(invoice: Invoice) -> Invoice:
    audit_record(
        actor=None,
        session=invoice.session,
        obj=invoice,
        action=AuditAction.INVOICE_STATUS,
        status=invoice.status,
        error=invoice.last_error,
    )
    logger.warning("Invoice %s failed: %s", invoice.pk, invoice.last_error)
    return invoice


# How far along an invoice is; a report that would move it back (invoice.sent after invoice.paid) is ignored.
# One we gave up sending may still have gone out (sent again from the organisation's dashboard): what Stripe
# then reports of it is the truth.
_PROGRESS = {
    Invoice.Status.PENDING: 0,
    Invoice.Status.FAILED: 0,
    Invoice.Status.OPEN: 1,
    Invoice.Status.PAID: 2,
    Invoice.Status.VOID: 2,
}
_STRIPE_INVOICE_STATUS = {
    "open": Invoice.Status.OPEN,
    "paid": Invoice.Status.PAID,
    "void": Invoice.Status.VOID,
    "uncollectible": Invoice.Status.OPEN,
}


@transaction.atomic
def invoice_record(
    *, stripe_invoice_id: str, status: str, account_id: str, invoice_id: int | None = None
) -> Invoice | None:
    """What Stripe says of an invoice (its status after our send, or an invoice.* event), on the
    organisation's own account. Moves only forward: paid and void are final."""
    invoices = Invoice.objects.select_for_update(of=("self",)).select_related(
        "session", "organization__stripe"
    )
    invoice = invoices.filter(stripe_invoice_id=stripe_invoice_id).first() if stripe_invoice_id else None
    if invoice is None and invoice_id is not None:
        invoice = invoices.filter(pk=invoice_id).first()
    new_status = _STRIPE_INVOICE_STATUS.get(status)
    if invoice is None or new_status is None:
        return invoice
    connection = getattr(invoice.organization, "stripe", None)
    if connection is None or connection.account_id != account_id:
        logger.warning("Invoice %s reported on account %s, not its own", stripe_invoice_id, account_id)
        return None
    if _PROGRESS[new_status] <= _PROGRESS[invoice.status]:
        return invoice
    previous = invoice.status
    invoice.status = new_status
    invoice.stripe_invoice_id = invoice.stripe_invoice_id or stripe_invoice_id
    invoice.last_error = ""
    invoice.save(update_fields=["status", "stripe_invoice_id", "last_error", "updated_at"])
    audit_record(
        actor=None,
        session=invoice.session,
        obj=invoice,
        action=AuditAction.INVOICE_STATUS,
        status=new_status,
        previous_status=previous,
        stripe_invoice_id=invoice.stripe_invoice_id,
    )
    return invoice


def invoices_due_ids(*, limit: int = 500) -> list[int]:
    return list(
        Invoice.objects.filter(
            status=Invoice.Status.PENDING,
            next_attempt_at__lte=db_now(),
            created_at__lte=timezone.now() - SWEEP_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
