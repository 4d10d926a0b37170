"""What the billing services share: who manages an organisation's payments, the money rules, the errors,
and the retry policy of the calls our rows make at Stripe."""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Membership, Organization, User
from billing import stripe_calls
from billing.models import StripeConnection
from billing.selectors import payments_enabled
from config.errors import ApplicationError, PermissionDeniedError, ValidationFailedError
from notifications.clock import db_now
from notifications.services import retry_delay

logger = logging.getLogger("billing")

# A refund or invoice call is tried this often before the row fails for the host to see; the waits between
# are notifications.services.retry_delay's (30 s doubling, with jitter), so one policy rules every provider.
MAX_ATTEMPTS = 6
# A row a worker holds is not taken by the sweep for this long (BILLING_CLAIM_LEASE_SECONDS). A worker that
# dies mid-call leaves the row to the sweep after it; calling again is safe, the idempotency key sees to it.
CLAIM_LEASE_SECONDS = 300
# The sweep leaves a new row this long to the worker it was handed to after commit.
SWEEP_GRACE = timedelta(minutes=1)
# Stripe's largest amount in the smallest unit (eight digits).
MAX_AMOUNT = 99_999_999
_CURRENCY = re.compile(r"^[a-z]{3}$")
BILLING_ROLES = (Membership.Role.ADMIN, Membership.Role.HOST)


class PaymentProviderError(ApplicationError):
    """Stripe could not be reached or refused the request; the message is for the person waiting."""


def lease() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "BILLING_CLAIM_LEASE_SECONDS", CLAIM_LEASE_SECONDS)))


def check_manages_billing(*, actor: User, organization: Organization) -> None:
    # The organisation's money: its admins and hosts set it up; schedulers act on sessions, not on the
    # account the money goes to.
    membership = actor.membership if actor.is_authenticated else None
    if (
        membership is None
        or membership.organization_id != organization.pk
        or membership.role not in BILLING_ROLES
    ):
        raise PermissionDeniedError("Only the organisation's admins and hosts manage its payments.")


def check_payments_enabled() -> None:
    if not payments_enabled():
        raise ValidationFailedError(
            "Payments are off on this site: it has no Stripe key (STRIPE_SECRET_KEY)."
        )


def ready_connection(organization_id: int) -> StripeConnection:
    """The organisation's Stripe account, when it can take payments."""
    check_payments_enabled()
    connection = StripeConnection.objects.filter(organization_id=organization_id).first()
    if connection is None:
        raise ValidationFailedError("Connect the organisation's Stripe account before asking for payments.")
    if not connection.charges_enabled:
        raise ValidationFailedError(
            "The organisation's Stripe account cannot take payments yet: finish its setup at Stripe."
        )
    return connection


def clean_money(amount, currency: str) -> tuple[int, str]:
    # Amounts are integers of the smallest unit; a float or a string here is a caller's bug, not a price.
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailedError("Give the amount in cents, as a whole number.", field="amount")
    if not 0 <= amount <= MAX_AMOUNT:
        raise ValidationFailedError("Give an amount between 0 and 999,999.99.", field="amount")
    currency = (currency or "").strip().lower()
    if not _CURRENCY.match(currency):
        raise ValidationFailedError("Give the currency as its three-letter code (EUR).", field="currency")
    return amount, currency


def provider_error(exc: Exception) -> PaymentProviderError:
    """What a person waiting on a page is told when a call they started failed."""
    logger.warning("Stripe call failed: %s", exc)
    if isinstance(exc, stripe_calls.StripeTransientError):
        return PaymentProviderError("Stripe could not be reached just now. Please try again in a moment.")
    return PaymentProviderError(f"Stripe refused the request: {exc}")


def after_commit_publish(task, ids: list[int]) -> None:
    """Hand rows to a worker once the transaction that wrote them commits. A refused hand-over is left to
    the sweep (billing.tasks.sweep_billing_calls): the page that started it never fails here."""
    if not ids:
        return

    def publish() -> None:
        try:
            task.delay(ids)
        except Exception:  # noqa: BLE001 - any broker error: the sweep is the safety net
            logger.warning("Could not hand %s billing rows to the broker; the sweep will send them", len(ids))

    transaction.on_commit(publish)


# --- One attempt at a call our row makes at Stripe (a refund, an invoice) ----------------------------------


def attempt_claim(model, pk: int, *, related: tuple[str, ...], **due):
    """Take a due row for one attempt: its attempt count goes up and it is leased to this worker, so the
    sweep leaves it alone while the call runs. Only the holder of this attempt records the outcome
    (attempt_write). None when the row is not due or another worker holds it."""
    with transaction.atomic():
        claimable = (
            model.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status="pending", next_attempt_at__lte=db_now(), **due)
            .values_list("pk", flat=True)
        )
        if not claimable:
            return None
        model.objects.filter(pk=pk).update(
            attempts=F("attempts") + 1, next_attempt_at=db_now() + lease(), updated_at=timezone.now()
        )
        return model.objects.select_related(*related).get(pk=pk)


def attempt_write(row, **fields) -> bool:
    """Record a step, only while this attempt holds the row (a worker past its lease writes nothing)."""
    fields["updated_at"] = timezone.now()
    written = type(row).objects.filter(pk=row.pk, status="pending", attempts=row.attempts).update(**fields)
    for name, value in fields.items():
        setattr(row, name, value)
    return bool(written)


def attempt_failed(row, error: Exception, *, permanent: bool) -> bool:
    """Record a failed call: failed for good (a permanent refusal, or the last attempt), or due again after
    retry_delay. True when the row has failed for good."""
    if not permanent and row.attempts < MAX_ATTEMPTS:
        attempt_write(row, last_error=str(error), next_attempt_at=timezone.now() + retry_delay(row.attempts))
        return False
    message = str(error) if permanent else f"Gave up after {row.attempts} attempts: {error}"
    attempt_write(row, status="failed", last_error=message)
    return True
