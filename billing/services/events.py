"""Stripe's webhook events, acted on once each (billing.webhooks verifies them first).

Events are Connect events from the organisations' accounts: each carries `account`, and a row is changed
only by an event from the account it belongs to. Stripe does not promise order or a single delivery, so
each handler moves its row only forward and a replayed event id is not acted on again."""

from django.db import IntegrityError, transaction

from billing.models import StripeEvent
from billing.services.common import logger
from billing.services.invoices import invoice_record
from billing.services.payments import _checkout_record
from billing.services.refunds import payment_record_refunded, refund_record
from billing.services.setup import stripe_account_record


def _first_time(*, event_id: str, type: str, account_id: str) -> bool:
    """Write down that this event is being acted on; False when it was before. Inside the caller's
    transaction, so a failure later leaves no record and Stripe's retry is acted on."""
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event_id, type=type, account_id=account_id)
    except IntegrityError:
        return False
    return True


def _checkout(obj: dict, account_id: str):
    return _checkout_record(checkout=obj, account_id=account_id, source="webhook")


def _charge_refunded(obj: dict, account_id: str):
    for refund in (obj.get("refunds") or {}).get("data") or []:
        refund_record(stripe_refund_id=refund.get("id", ""), status=refund.get("status", ""))
    payment_intent = obj.get("payment_intent") or ""
    if isinstance(payment_intent, dict):
        payment_intent = payment_intent.get("id", "")
    return payment_record_refunded(
        payment_intent_id=payment_intent,
        account_id=account_id,
        amount_refunded=obj.get("amount_refunded") or 0,
    )


def _refund(obj: dict, account_id: str):
    refund_id = (obj.get("metadata") or {}).get("refund_id")
    return refund_record(
        stripe_refund_id=obj.get("id", ""),
        status=obj.get("status", ""),
        failure_reason=obj.get("failure_reason") or "",
        refund_id=int(refund_id) if str(refund_id or "").isdigit() else None,
    )


def _invoice(status: str):
    def handle(obj: dict, account_id: str):
        invoice_id = (obj.get("metadata") or {}).get("invoice_id")
        return invoice_record(
            stripe_invoice_id=obj.get("id", ""),
            status=status or obj.get("status", ""),
            account_id=account_id,
            invoice_id=int(invoice_id) if str(invoice_id or "").isdigit() else None,
        )

    return handle


def _account(obj: dict, account_id: str):
    return stripe_account_record(
        account_id=obj.get("id", ""), charges_enabled=bool(obj.get("charges_enabled"))
    )


_HANDLERS = {
    "checkout.session.completed": _checkout,
    "checkout.session.async_payment_succeeded": _checkout,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund,
    "refund.updated": _refund,
    "refund.failed": _refund,
    "invoice.finalized": _invoice("open"),
    "invoice.sent": _invoice("open"),
    "invoice.paid": _invoice("paid"),
    "invoice.voided": _invoice("void"),
    "account.updated": _account,
}


@transaction.atomic
def stripe_event_handle(*, event) -> object | None:
    """Act on one verified Stripe event (a dict, or the SDK's Event): once per event id, whatever Stripe
    resends. Returns the row it changed or looked at, or None for an event that is not ours to act on."""
    if hasattr(event, "to_dict"):
        event = event.to_dict()
    event_id, event_type = event.get("id") or "", event.get("type") or ""
    handler = _HANDLERS.get(event_type)
    if not event_id or handler is None:
        return None
    account_id = event.get("account") or ""
    if not _first_time(event_id=event_id, type=event_type, account_id=account_id):
        logger.info("Stripe event %s was acted on before", event_id)
        return None
    obj = (event.get("data") or {}).get("object") or {}
    return handler(obj, account_id)
