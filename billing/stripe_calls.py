"""Every call the product makes to Stripe, one function each, through the official SDK.

Payments are direct charges on the organisation's own (connected) account, so every call about money
carries `stripe_account`. Every call that creates something carries an idempotency key made from our row's
id: a retried call (a time-out after Stripe acted, a worker killed mid-call, the sweep and a worker racing)
returns what the first one created instead of charging, refunding or invoicing twice. Stripe keeps a key
for 24 hours, far longer than our retries run.

Errors come out as StripeTransientError (may pass: network, time-out, 409, 429, 5xx) or
StripePermanentError (will not: a refused request, bad keys), as notifications.channels does for Twilio.
"""

import threading
import uuid
from datetime import UTC, date, datetime, time

import stripe
from django.conf import settings


class StripeTransientError(Exception):
    pass


class StripePermanentError(Exception):
    pass


# One client per thread, kept for its open connection, as notifications.channels.twilio_client does.
_clients = threading.local()


def stripe_client() -> stripe.StripeClient:
    key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE_URL, settings.PROVIDER_TIMEOUT_SECONDS)
    cached = getattr(_clients, "stripe", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    base_addresses = {}
    if settings.STRIPE_API_BASE_URL:
        # Both the API and Connect's host, so no call can reach the real service from a test.
        base_addresses = {"api": settings.STRIPE_API_BASE_URL, "connect": settings.STRIPE_API_BASE_URL}
    client = stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base_addresses,
        # Our rows do the retrying, with backoff and a visible attempt count; the SDK's own retries would
        # hide a slow outage inside one attempt and hold a worker for it.
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=settings.PROVIDER_TIMEOUT_SECONDS),
    )
    _clients.stripe = (key, client)
    return client


def _call(method, *args, on_account: str | None, key: str | None = None, params: dict | None = None):
    options = {}
    if on_account:
        options["stripe_account"] = on_account
    if key:
        options["idempotency_key"] = key
    try:
        return method(*args, params=params, options=options)
    except stripe.APIConnectionError as exc:
        raise StripeTransientError(f"Could not reach Stripe: {exc.user_message or exc}") from exc
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        text = exc.user_message or str(exc)
        # 409: the same idempotency key is still being worked on at Stripe; asking again later is right.
        if status in (409, 429) or status >= 500:
            raise StripeTransientError(f"Stripe did not answer yet ({status}): {text}") from exc
        raise StripePermanentError(f"Stripe refused it ({status}): {text}") from exc


# --- Connect: the platform's own calls, about the organisation's account --------------------------------


def account_create(*, organization) -> stripe.Account:
    # Standard: the organisation owns its Stripe account and dashboard, and with direct charges it is the
    # merchant its clients see and the one who handles their disputes.
    return _call(
        stripe_client().v1.accounts.create,
        on_account=None,
        key=f"account-{organization.pk}",
        params={"type": "standard", "metadata": {"organization_id": str(organization.pk)}},
    )


def account_link_create(*, account_id: str, return_url: str, refresh_url: str) -> stripe.AccountLink:
    # A link works once and expires within minutes, so every visit needs a new one: the key only guards one
    # request against its own retry. It creates nothing that costs anything.
    return _call(
        stripe_client().v1.account_links.create,
        on_account=None,
        key=f"account-link-{account_id}-{uuid.uuid4().hex}",
        params={
            "account": account_id,
            "type": "account_onboarding",
            "return_url": return_url,
            "refresh_url": refresh_url,
        },
    )


def account_retrieve(*, account_id: str) -> stripe.Account:
    return _call(stripe_client().v1.accounts.retrieve, account_id, on_account=None)


# --- Payments, on the connected account -------------------------------------------------------------------


def checkout_session_create(
    *,
    account_id: str,
    payment,
    number: int,
    product_name: str,
    customer_email: str,
    success_url: str,
    cancel_url: str,
) -> stripe.checkout.Session:
    metadata = {"payment_id": str(payment.pk)}
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": payment.currency,
                    "unit_amount": payment.amount,
                    "product_data": {"name": product_name},
                },
            }
        ],
        "client_reference_id": str(payment.pk),
        "metadata": metadata,
        # Also on the payment itself, so the charge and its refunds in the organisation's dashboard say
        # which payment of ours they belong to.
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_email:
        params["customer_email"] = customer_email
    return _call(
        stripe_client().v1.checkout.sessions.create,
        on_account=account_id,
        key=f"checkout-{payment.pk}-{number}",
        params=params,
    )


def checkout_session_retrieve(*, account_id: str, checkout_session_id: str) -> stripe.checkout.Session:
    return _call(stripe_client().v1.checkout.sessions.retrieve, checkout_session_id, on_account=account_id)


def checkout_session_expire(
    *, account_id: str, payment, checkout_session_id: str, number: int
) -> stripe.checkout.Session:
    """Close the n-th Checkout Session of a payment, so a page left open in another tab (or opened before
    the price changed) can no longer take the money."""
    return _call(
        stripe_client().v1.checkout.sessions.expire,
        checkout_session_id,
        on_account=account_id,
        key=f"checkout-expire-{payment.pk}-{number}",
    )


def refund_create(*, account_id: str, refund, payment_intent_id: str) -> stripe.Refund:
    return _call(
        stripe_client().v1.refunds.create,
        on_account=account_id,
        key=f"refund-{refund.pk}",
        params={
            "payment_intent": payment_intent_id,
            "amount": refund.amount,
            "reason": "requested_by_customer",
            "metadata": {"refund_id": str(refund.pk), "payment_id": str(refund.payment_id)},
        },
    )


def refund_retrieve(*, account_id: str, stripe_refund_id: str) -> stripe.Refund:
    return _call(stripe_client().v1.refunds.retrieve, stripe_refund_id, on_account=account_id)


# --- Invoices (an extended session), on the connected account -------------------------------------------


def _end_of_day(day: date) -> int:
    return int(datetime.combine(day, time(23, 59), UTC).timestamp())


def customer_create(*, account_id: str, invoice, email: str, name: str) -> stripe.Customer:
    return _call(
        stripe_client().v1.customers.create,
        on_account=account_id,
        key=f"customer-inv-{invoice.pk}",
        params={"email": email, "name": name, "metadata": {"participant_id": str(invoice.participant_id)}},
    )


def invoice_create(*, account_id: str, invoice) -> stripe.Invoice:
    return _call(
        stripe_client().v1.invoices.create,
        on_account=account_id,
        key=f"invoice-{invoice.pk}",
        params={
            "customer": invoice.stripe_customer_id,
            "collection_method": "send_invoice",
            "due_date": _end_of_day(invoice.due_date),
            "currency": invoice.currency,
            "description": invoice.description,
            # Our services finalize and send it, each step recorded; Stripe's automatic advance would race us.
            "auto_advance": False,
            "metadata": {"invoice_id": str(invoice.pk), "session_id": str(invoice.session_id)},
        },
    )


def invoice_item_create(*, account_id: str, invoice) -> stripe.InvoiceItem:
    return _call(
        stripe_client().v1.invoice_items.create,
        on_account=account_id,
        key=f"invoiceitem-{invoice.pk}",
        params={
            "customer": invoice.stripe_customer_id,
            "invoice": invoice.stripe_invoice_id,
            "amount": invoice.amount,
            "currency": invoice.currency,
            "description": invoice.description,
        },
    )


def invoice_finalize(*, account_id: str, invoice) -> stripe.Invoice:
    return _call(
        stripe_client().v1.invoices.finalize_invoice,
        invoice.stripe_invoice_id,
        on_account=account_id,
        key=f"invoice-finalize-{invoice.pk}",
        params={"auto_advance": False},
    )


def invoice_send(*, account_id: str, invoice) -> stripe.Invoice:
    return _call(
        stripe_client().v1.invoices.send_invoice,
        invoice.stripe_invoice_id,
        on_account=account_id,
        key=f"invoice-send-{invoice.pk}",
    )
