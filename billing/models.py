"""Payments: what a participant owes for a session, what Stripe confirmed, refunded and invoiced.

Amounts are integers in the currency's smallest unit (cents), as Stripe counts them: no float ever holds
money. Every row that leads to a call at Stripe exists before the call, and its id makes the call's
idempotency key, so a retried call never charges or refunds twice (billing.stripe_calls)."""

from django.db import models
from django.utils import timezone

from accounts.models import Organization


class StripeConnection(models.Model):
    """The organisation's own Stripe account (Stripe Connect): every call is made on its behalf."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="stripe")
    account_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    # A host cancel within this many hours of the start keeps this share of the payment (0 = full refund).
    late_cancel_hours = models.PositiveIntegerField(default=0)
    late_cancel_fee_percent = models.PositiveSmallIntegerField(default=0)
    connected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization} ({self.account_id})"


class Service(models.Model):
    """Something the organisation charges for (a 50-minute consultation), with its default price."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=150)
    price_amount = models.PositiveIntegerField(help_text="In the currency's smallest unit (cents).")
    currency = models.CharField(max_length=3, default="eur")
    duration_minutes = models.PositiveIntegerField(default=50)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Payment(models.Model):
    """What one participant of one session is asked to pay, and what became of it."""

    class Status(models.TextChoices):
        DUE = "due", "Due"
        PAID = "paid", "Paid"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"
        # Nothing more is asked (the session was cancelled before they paid).
        CANCELLED = "cancelled", "Not charged"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="payments")
    session = models.ForeignKey("sessions_app.Session", on_delete=models.PROTECT, related_name="payments")
    participant = models.OneToOneField(
        "sessions_app.Participant", null=True, on_delete=models.SET_NULL, related_name="payment"
    )
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DUE)
    # The last Checkout Session opened for it, and what Stripe said once it was paid.
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    # How many Checkout Sessions were opened for it: the n-th one's idempotency key is checkout-<pk>-<n>, so a
    # repeated request returns the same page and a later one (the price changed) gets a new one.
    checkout_count = models.PositiveIntegerField(default=0)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_amount = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.amount / 100:.2f} {self.currency.upper()} ({self.get_status_display()})"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When a worker may next call Stripe for it: now when written, later after a transient failure, and a
    # lease while a worker holds it (billing.services).
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A payment is refunded for one reason once: the cancel of its session.
            models.UniqueConstraint(fields=["payment", "reason"], name="refund_once_per_reason"),
        ]

    def __str__(self) -> str:
        return f"Refund of {self.amount / 100:.2f} ({self.get_status_display()})"


class Invoice(models.Model):
    """An invoice Stripe emails to a participant (an extended session), paid on Stripe's own page."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being created"
        OPEN = "open", "Sent"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invoices")
    session = models.ForeignKey("sessions_app.Session", on_delete=models.PROTECT, related_name="invoices")
    participant = models.ForeignKey(
        "sessions_app.Participant", null=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200)
    due_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invoice {self.amount / 100:.2f} {self.currency.upper()} ({self.get_status_display()})"


class StripeEvent(models.Model):
    """A webhook event acted on: recorded once by its id, so a replayed event changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    account_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
