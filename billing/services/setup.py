"""The organisation's side of payments: its Stripe account, its late-cancellation fee, what it charges for."""

from django.db import transaction

from accounts.audit import AuditAction, audit_record
from accounts.models import Organization, User
from billing import stripe_calls
from billing.models import Service, StripeConnection
from billing.services.common import (
    check_manages_billing,
    check_payments_enabled,
    clean_money,
    provider_error,
)
from config.errors import PermissionDeniedError, ValidationFailedError

_STRIPE_ERRORS = (stripe_calls.StripeTransientError, stripe_calls.StripePermanentError)


def stripe_connect_start(*, actor: User, organization: Organization, return_url: str) -> str:
    """The address of Stripe's onboarding for the organisation's own account, creating the account the first
    time. The person comes back to `return_url` (also where an expired link sends them for a new one).

    The account is created before its row exists, since the row holds its id; the idempotency key
    account-<organisation> makes the call safe to repeat, so a double click or a crash between the two
    leaves one account, not two."""
    check_manages_billing(actor=actor, organization=organization)
    check_payments_enabled()
    connection = StripeConnection.objects.filter(organization=organization).first()
    try:
        if connection is None:
            account = stripe_calls.account_create(organization=organization)
            with transaction.atomic():
                connection, created = StripeConnection.objects.get_or_create(
                    organization=organization,
                    defaults={"account_id": account.id, "charges_enabled": bool(account.charges_enabled)},
                )
                if created:
                    audit_record(
                        actor=actor,
                        organization_id=organization.pk,
                        action=AuditAction.STRIPE_CONNECT,
                        obj=connection,
                        account_id=connection.account_id,
                    )
        link = stripe_calls.account_link_create(
            account_id=connection.account_id, return_url=return_url, refresh_url=return_url
        )
    except _STRIPE_ERRORS as exc:
        raise provider_error(exc) from exc
    return link.url


def stripe_account_record(*, account_id: str, charges_enabled: bool) -> StripeConnection | None:
    """What Stripe says of a connected account (its account.updated event, or a retrieval): whether it can
    take payments. Nobody is behind the change; the audit event names no actor."""
    with transaction.atomic():
        connection = StripeConnection.objects.select_for_update().filter(account_id=account_id).first()
        if connection is None or connection.charges_enabled == charges_enabled:
            return connection
        connection.charges_enabled = charges_enabled
        connection.save(update_fields=["charges_enabled", "updated_at"])
        audit_record(
            actor=None,
            organization_id=connection.organization_id,
            action=AuditAction.STRIPE_ACCOUNT_UPDATE,
            obj=connection,
            charges_enabled=charges_enabled,
        )
    return connection


def stripe_connect_refresh(*, organization: Organization) -> StripeConnection | None:
    """Ask Stripe whether the organisation's account can take payments now (the person is back from
    onboarding). None when the organisation has no account yet."""
    connection = StripeConnection.objects.filter(organization=organization).first()
    if connection is None:
        return None
    try:
        account = stripe_calls.account_retrieve(account_id=connection.account_id)
    except (stripe_calls.StripeTransientError, stripe_calls.StripePermanentError) as exc:
        raise provider_error(exc) from exc
    return stripe_account_record(
        account_id=connection.account_id, charges_enabled=bool(account.charges_enabled)
    )


@transaction.atomic
def billing_settings_update(
    *, actor: User, organization: Organization, late_cancel_hours: int, late_cancel_fee_percent: int
) -> StripeConnection:
    """The late-cancellation rule: a cancel within `late_cancel_hours` of the start keeps
    `late_cancel_fee_percent` of what was paid (0 hours or 0 % refunds in full)."""
    check_manages_billing(actor=actor, organization=organization)
    if not isinstance(late_cancel_hours, int) or not 0 <= late_cancel_hours <= 24 * 30:
        raise ValidationFailedError("Give between 0 and 720 hours.", field="late_cancel_hours")
    if not isinstance(late_cancel_fee_percent, int) or not 0 <= late_cancel_fee_percent <= 100:
        raise ValidationFailedError("Give a share between 0 and 100 %.", field="late_cancel_fee_percent")
    connection = StripeConnection.objects.select_for_update().filter(organization=organization).first()
    if connection is None:
        raise ValidationFailedError("Connect the organisation's Stripe account first.")
    before = {"hours": connection.late_cancel_hours, "percent": connection.late_cancel_fee_percent}
    connection.late_cancel_hours = late_cancel_hours
    connection.late_cancel_fee_percent = late_cancel_fee_percent
    connection.save(update_fields=["late_cancel_hours", "late_cancel_fee_percent", "updated_at"])
    audit_record(
        actor=actor,
        organization_id=organization.pk,
        action=AuditAction.BILLING_SETTINGS_UPDATE,
        obj=connection,
        before=before,
        after={"hours": late_cancel_hours, "percent": late_cancel_fee_percent},
    )
    return connection


def _clean_service(*, name: str, price_amount: int, currency: str, duration_minutes: int) -> dict:
    name = (name or "").strip()
    if not name:
        raise ValidationFailedError("Give the service a name.", field="name")
    if len(name) > Service._meta.get_field("name").max_length:
        raise ValidationFailedError("Keep the name under 150 characters.", field="name")
    price_amount, currency = clean_money(price_amount, currency)
    if not isinstance(duration_minutes, int) or not 5 <= duration_minutes <= 24 * 60:
        raise ValidationFailedError(
            "A session lasts between 5 minutes and 24 hours.", field="duration_minutes"
        )
    return {
        "name": name,
        "price_amount": price_amount,
        "currency": currency,
        "duration_minutes": duration_minutes,
    }


def _check_service(*, actor: User, service: Service) -> Service:
    check_manages_billing(actor=actor, organization=service.organization)
    return Service.objects.select_for_update().get(pk=service.pk)


@transaction.atomic
def service_create(
    *,
    actor: User,
    organization: Organization,
    name: str,
    price_amount: int,
    currency: str,
    duration_minutes: int = 50,
) -> Service:
    check_manages_billing(actor=actor, organization=organization)
    fields = _clean_service(
        name=name, price_amount=price_amount, currency=currency, duration_minutes=duration_minutes
    )
    service = Service.objects.create(organization=organization, **fields)
    audit_record(
        actor=actor, organization_id=organization.pk, action=AuditAction.SERVICE_CREATE, obj=service, **fields
    )
    return service


@transaction.atomic
def service_update(
    *, actor: User, service: Service, name: str, price_amount: int, currency: str, duration_minutes: int
) -> Service:
    """Change a service. Payments already asked keep their amount: a price applies to what is asked next."""
    service = _check_service(actor=actor, service=service)
    fields = _clean_service(
        name=name, price_amount=price_amount, currency=currency, duration_minutes=duration_minutes
    )
    before = {name: getattr(service, name) for name in fields}
    for field, value in fields.items():
        setattr(service, field, value)
    service.save()
    audit_record(
        actor=actor,
        organization_id=service.organization_id,
        action=AuditAction.SERVICE_UPDATE,
        obj=service,
        before=before,
        after=fields,
    )
    return service


@transaction.atomic
def service_deactivate(*, actor: User, service: Service) -> Service:
    """Stop offering a service. It is kept, not deleted: the payments made for it still name it."""
    service = _check_service(actor=actor, service=service)
    if not service.is_active:
        return service
    service.is_active = False
    service.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        organization_id=service.organization_id,
        action=AuditAction.SERVICE_DEACTIVATE,
        obj=service,
    )
    return service


def check_service_of(*, service: Service | None, organization_id: int) -> None:
    if service is not None and service.organization_id != organization_id:
        raise PermissionDeniedError("That service belongs to another organisation.")
    if service is not None and not service.is_active:
        raise ValidationFailedError("That service is no longer offered.", field="service")
