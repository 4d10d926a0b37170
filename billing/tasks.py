from celery import shared_task

from billing.services import invoice_send, refund_reconcile, refund_send
from billing.services.invoices import invoices_due_ids
from billing.services.refunds import refunds_due_ids, refunds_stale_ids


@shared_task(acks_late=True, ignore_result=True)
def refunds_send(refund_ids: list[int]) -> None:
    # Retries are scheduled in the row (next_attempt_at) and picked up by the sweep, not by the broker.
    for refund_id in refund_ids:
        refund_send(refund_id=refund_id)


@shared_task(acks_late=True, ignore_result=True)
def refunds_reconcile(refund_ids: list[int]) -> None:
    for refund_id in refund_ids:
        refund_reconcile(refund_id=refund_id)


@shared_task(acks_late=True, ignore_result=True)
def invoices_send(invoice_ids: list[int]) -> None:
    for invoice_id in invoice_ids:
        invoice_send(invoice_id=invoice_id)


@shared_task(ignore_result=True)
def sweep_billing_calls() -> int:
    # Beat runs this every BILLING_SWEEP_SECONDS: a hand-over lost with the broker, and every retry, is sent
    # from here; so is the question to Stripe about a refund whose webhook has not come.
    refund_ids, invoice_ids, stale_ids = refunds_due_ids(), invoices_due_ids(), refunds_stale_ids()
    if refund_ids:
        refunds_send.delay(refund_ids)
    if invoice_ids:
        invoices_send.delay(invoice_ids)
    if stale_ids:
        refunds_reconcile.delay(stale_ids)
    return len(refund_ids) + len(invoice_ids) + len(stale_ids)
