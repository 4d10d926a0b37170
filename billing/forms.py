"""The forms of the payment pages, and the payment fields the participant and change-end forms borrow.

Money is typed as a decimal ("80.00") and handed to the services as integer cents, the unit Stripe counts
in: a Decimal with two places times 100 is exact, where a float would turn 0.29 into 28 cents."""

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms

from billing.models import Payment, Service
from billing.selectors import payments_enabled, services_of, stripe_connection_of
from billing.services.payments import PaymentAsk
from sessions_app.forms.fields import WindowDateField
from sessions_app.services.common import page_date_window

CURRENCY_CHOICES = [(code, code.upper()) for code in ("eur", "gbp", "usd", "chf", "aud", "cad")]
# Bounds of a typed amount: a cent at least, and under what a session could ever cost; past it Stripe's
# own limit (99,999,999 cents) would refuse the call anyway.
MAX_AMOUNT = Decimal("99999.99")
MAX_LATE_CANCEL_HOURS = 24 * 30


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def decimal_of(cents_amount: int) -> Decimal:
    return (Decimal(cents_amount) / 100).quantize(Decimal("0.01"))


class MoneyField(forms.DecimalField):
    """An amount typed with at most two decimals; `clean` gives a Decimal, `cents` turns it into cents."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 7)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("max_value", MAX_AMOUNT)
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
        super().__init__(**kwargs)


def _helper(*layout) -> FormHelper:
    # The templates write the <form> tag and its CSRF token.
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


class BillingSettingsForm(forms.Form):
    late_cancel_hours = forms.IntegerField(
        label="Late cancellation window (hours)",
        min_value=0,
        max_value=MAX_LATE_CANCEL_HOURS,
        help_text="A cancel this close to the start keeps the fee below; with 0 every cancel is refunded.",
    )
    late_cancel_fee_percent = forms.IntegerField(
        label="Late cancellation fee (%)",
        min_value=0,
        max_value=100,
        help_text="The share of the payment kept on a late cancel; the rest is refunded.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(Row(Column("late_cancel_hours"), Column("late_cancel_fee_percent")))


class ServiceForm(forms.Form):
    name = forms.CharField(max_length=Service._meta.get_field("name").max_length)
    price = MoneyField(label="Price", help_text="For example 80.00.")
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="eur")
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", min_value=5, max_value=24 * 60, initial=50
    )

    def __init__(self, *args, service: Service | None = None, **kwargs):
        if service is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": service.name,
                    "price": decimal_of(service.price_amount),
                    "currency": service.currency,
                    "duration_minutes": service.duration_minutes,
                },
            )
        super().__init__(*args, **kwargs)
        self.helper = _helper("name", Row(Column("price"), Column("currency"), Column("duration_minutes")))

    def service_fields(self) -> dict:
        """The keyword arguments of service_create and service_update."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "price_amount": cents(data["price"]),
            "currency": data["currency"],
            "duration_minutes": data["duration_minutes"],
        }


class PaymentFilterForm(forms.Form):
    """The Payments page's filters, read from the query string so a filtered page (and its CSV) has an
    address. The dates are the days of the sessions, in the viewer's zone, both included."""

    host = forms.ModelChoiceField(queryset=None, required=False, empty_label="All hosts")
    start = WindowDateField(label="Sessions from", required=False, window=page_date_window)
    end = WindowDateField(label="Until", required=False, window=page_date_window)

    def __init__(self, *args, hosts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host"].queryset = hosts
        self.helper = _helper(Row(Column("host"), Column("start"), Column("end")))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", "The end date must not be before the start date.")
        return cleaned


# The payment asked of a participant -----------------------------------------------------------------------


# payment_require's names for its arguments, as the participant forms call those fields.
PAYMENT_FIELDS = {"amount": "payment_amount", "currency": "payment_currency", "service": "service"}


def payment_services(*, organization) -> list[Service] | None:
    """The services offered on the participant forms when the organisation can take payments, else None: the
    payment fields are then not shown at all. Read once per page."""
    if not payments_enabled():
        return None
    connection = stripe_connection_of(organization)
    if connection is None or not connection.charges_enabled:
        return None
    return list(services_of(organization, active_only=True).order_by("name", "id"))


def add_payment_fields(form: forms.Form, *, services: list[Service]) -> None:
    """The Service and Payment required fields, for an organisation whose Stripe account takes charges.
    Picking a service fills the amount and currency in (static/js/service_price.js); the amount typed is
    what is asked."""
    form.services = {str(service.pk): service for service in services}
    form.fields["service"] = forms.ChoiceField(
        label="Service",
        required=False,
        choices=[
            ("", "No service"),
            *(
                (key, f"{s.name} · {decimal_of(s.price_amount)} {s.currency.upper()}")
                for key, s in form.services.items()
            ),
        ],
    )
    # The prices ride on the select as data, not as an inline script the Content-Security-Policy refuses.
    form.fields["service"].widget.attrs["data-service-prices"] = json.dumps(
        {
            key: {"amount": str(decimal_of(s.price_amount)), "currency": s.currency}
            for key, s in form.services.items()
        }
    )
    form.fields["payment_amount"] = MoneyField(
        label="Payment required",
        required=False,
        help_text="Left empty, nothing is asked. The participant pays before they can join.",
    )
    form.fields["payment_currency"] = forms.ChoiceField(
        label="Currency", choices=CURRENCY_CHOICES, required=False, initial="eur"
    )


def payment_ask_of(form: forms.Form) -> PaymentAsk | None:
    """The payment the cleaned form asks for, or None when the fields are absent or the amount empty."""
    if "payment_amount" not in form.fields:
        return None
    data = form.cleaned_data
    amount = data.get("payment_amount")
    if amount is None:
        return None
    return PaymentAsk(
        amount=cents(amount),
        currency=data.get("payment_currency") or "eur",
        service=form.services.get(data.get("service") or ""),
    )


def clean_payment_fields(form: forms.Form, cleaned: dict) -> None:
    """A chosen service with no amount typed asks the service's price (the page without its script)."""
    if "payment_amount" not in form.fields:
        return
    service = form.services.get(cleaned.get("service") or "")
    if service is not None and cleaned.get("payment_amount") is None and "payment_amount" not in form.errors:
        cleaned["payment_amount"] = decimal_of(service.price_amount)
        cleaned["payment_currency"] = service.currency


def payment_initial(payment: Payment | None) -> dict:
    if payment is None or payment.status != Payment.Status.DUE:
        return {}
    return {
        "service": str(payment.service_id or ""),
        "payment_amount": decimal_of(payment.amount),
        "payment_currency": payment.currency,
    }


def payment_change(form: forms.Form, payment: Payment | None) -> PaymentAsk | None:
    """What to ask of a participant already on the session, or None when the form leaves it as it is. An
    emptied amount asks nothing any more (payment_require with 0)."""
    ask = payment_ask_of(form)
    if payment is None or payment.status != Payment.Status.DUE:
        return ask
    if ask is None:
        return PaymentAsk(amount=0, currency=payment.currency, service=None)
    if (ask.amount, ask.currency, ask.service and ask.service.pk) == (
        payment.amount,
        payment.currency,
        payment.service_id,
    ):
        return None
    return ask


# The invoice for an extended session (the Change end time page) ---------------------------------------------

# invoice_for_extension's names for its arguments, as the change-end form calls those fields.
INVOICE_FIELDS = {
    "amount": "invoice_amount",
    "due_date": "invoice_due_date",
    "participant": "invoice_participant",
}
INVOICE_DUE_DAYS = 14


@dataclass(frozen=True)
class ExtensionInvoice:
    """What invoice_for_extension is called with, besides the actor and the session."""

    participant: object
    amount: int
    due_date: date

    def arguments(self) -> dict:
        return {"participant": self.participant, "amount": self.amount, "due_date": self.due_date}


def add_invoice_fields(form: forms.Form, *, participants: list, today: date) -> None:
    """ "Invoice the extension" and what it needs. Only participants with an email address are offered:
    Stripe emails the invoice."""
    form.invoice_participants = {str(p.pk): p for p in participants}
    form.fields["invoice_extension"] = forms.BooleanField(label="Invoice the extension", required=False)
    form.fields["invoice_participant"] = forms.ChoiceField(
        label="Participant",
        required=False,
        choices=[(key, f"{p.name} ({p.email})") for key, p in form.invoice_participants.items()],
    )
    form.fields["invoice_amount"] = MoneyField(
        label="Amount",
        required=False,
        help_text="In the currency of the participant's payment. Stripe emails them the invoice to pay.",
    )
    form.fields["invoice_due_date"] = WindowDateField(
        label="Due date", required=False, window=page_date_window, help_text=""
    )
    form.initial.setdefault("invoice_due_date", today + timedelta(days=INVOICE_DUE_DAYS))


def clean_invoice_fields(form: forms.Form, cleaned: dict) -> None:
    if not cleaned.get("invoice_extension"):
        return
    for name, message in (
        ("invoice_participant", "Choose who is invoiced."),
        ("invoice_amount", "Give the amount to invoice."),
        ("invoice_due_date", "Give the date the invoice is due."),
    ):
        if cleaned.get(name) in (None, "") and name not in form.errors:
            form.add_error(name, message)


def extension_invoice_of(form: forms.Form) -> ExtensionInvoice | None:
    """The invoice the cleaned form asks for, or None."""
    if "invoice_extension" not in form.fields or not form.cleaned_data.get("invoice_extension"):
        return None
    data = form.cleaned_data
    return ExtensionInvoice(
        participant=form.invoice_participants[data["invoice_participant"]],
        amount=cents(data["invoice_amount"]),
        due_date=data["invoice_due_date"],
    )
