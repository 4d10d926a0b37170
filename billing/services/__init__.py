"""Every change of billing goes through these functions (DESIGN.md rule 1)."""

from billing.services.common import PaymentProviderError
from billing.services.events import stripe_event_handle
from billing.services.invoices import invoice_for_extension, invoice_record, invoice_send
from billing.services.payments import (
    PaymentAsk,
    PaymentAskRefused,
    payment_checkout_start,
    payment_confirm_from_checkout,
    payment_require,
    payments_asked_again,
    payments_require,
)
from billing.services.refunds import (
    late_cancel_fee,
    payment_record_refunded,
    payments_refund_for_cancel,
    refund_reconcile,
    refund_record,
    refund_send,
)
from billing.services.setup import (
    billing_settings_update,
    service_create,
    service_deactivate,
    service_update,
    stripe_account_record,
    stripe_connect_refresh,
    stripe_connect_start,
)

__all__ = [
    "PaymentAsk",
    "PaymentAskRefused",
    "PaymentProviderError",
    "billing_settings_update",
    "invoice_for_extension",
    "invoice_record",
    "invoice_send",
    "late_cancel_fee",
    "payment_checkout_start",
    "payment_confirm_from_checkout",
    "payment_record_refunded",
    "payment_require",
    "payments_asked_again",
    "payments_require",
    "payments_refund_for_cancel",
    "refund_reconcile",
    "refund_record",
    "refund_send",
    "service_create",
    "service_deactivate",
    "service_update",
    "stripe_account_record",
    "stripe_connect_refresh",
    "stripe_connect_start",
    "stripe_event_handle",
]
