"""The organisation itself: its settings, its creation (command line, sign-up), its audit log's export."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from accounts.audit import AuditAction, audit_record
from accounts.models import Invitation, Membership, Organization, User
from accounts.services.common import (
    check_admin,
    check_display_name,
    check_email,
    check_member,
    check_organization_name,
    check_zone,
    own_organization_id,
)
from accounts.services.team import invitation_accept, set_invitation_token
from accounts.tokens import invitation_token
from config.errors import ValidationFailedError

MAX_CANCELLATION_WINDOW_HOURS = 24 * 14


# The organisation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationSettings:
    name: str
    default_participant_time_zone: str
    default_reminder_lead_minutes: list[int]
    sender_name: str
    cancellation_window_hours: int
    participant_cancel_cancels_session: bool = True


@transaction.atomic
def organization_settings_update(*, actor: User, values: OrganizationSettings) -> Organization:
    from sessions_app.services.reminders import MAX_REMINDERS, check_reminder_lead

    membership = check_admin(actor)
    organization = Organization.objects.select_for_update().get(pk=membership.organization_id)
    name = check_organization_name(values.name)
    check_zone(values.default_participant_time_zone, "default_participant_time_zone")
    leads = sorted({int(m) for m in values.default_reminder_lead_minutes}, reverse=True)
    if len(leads) > MAX_REMINDERS:
        raise ValidationFailedError(
            f"Choose at most {MAX_REMINDERS} reminders.", field="default_reminder_lead_minutes"
        )
    for minutes in leads:
        try:
            check_reminder_lead(minutes)
        except ValidationFailedError as error:
            raise ValidationFailedError(error.message, field="default_reminder_lead_minutes") from error
    sender_name = check_display_name(values.sender_name, "sender_name", "The sender name")
    if not 0 <= values.cancellation_window_hours <= MAX_CANCELLATION_WINDOW_HOURS:
        raise ValidationFailedError(
            f"Between 0 and {MAX_CANCELLATION_WINDOW_HOURS} hours.", field="cancellation_window_hours"
        )
    fields = {
        "name": name,
        "default_participant_time_zone": values.default_participant_time_zone,
        "default_reminder_lead_minutes": leads,
        "sender_name": sender_name,
        "cancellation_window_hours": values.cancellation_window_hours,
        "participant_cancel_cancels_session": bool(values.participant_cancel_cancels_session),
    }
    changed = [key for key, value in fields.items() if getattr(organization, key) != value]
    if not changed:
        return organization
    before = {key: getattr(organization, key) for key in changed}
    for key in changed:
        setattr(organization, key, fields[key])
    organization.save(update_fields=changed)
    audit_record(
        actor=actor,
        organization_id=organization.pk,
        action=AuditAction.ORGANIZATION_SETTINGS_UPDATE,
        obj=organization,
        before=before,
        after={key: fields[key] for key in changed},
    )
    return organization


def _unique_slug(name: str) -> str:
    base = slugify(name)[:40] or "organisation"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(
    *, name: str, admin_email: str, time_zone: str = "Europe/London"
) -> tuple[Organization, Invitation]:
    """A new organisation and the set-up invitation of its first admin (who also hosts: a practice of one
    runs itself). The caller shows the link (invitation_token); nobody is logged in to act."""
    name = check_organization_name(name)
    check_zone(time_zone)
    email = check_email(admin_email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailedError("That address already has an account.", field="email")
    organization = Organization.objects.create(
        name=name, slug=_unique_slug(name), default_participant_time_zone=time_zone
    )
    invitation = Invitation(
        organization=organization, email=email, role=Membership.Role.ADMIN, admin_hosts=True
    )
    set_invitation_token(invitation)
    invitation.save()
    audit_record(
        actor=None,
        organization_id=organization.pk,
        action=AuditAction.ORGANIZATION_CREATE,
        obj=organization,
        name=name,
        admin_email=email,
    )
    return organization, invitation


@transaction.atomic
def organization_sign_up(
    *, name: str, full_name: str, email: str, password: str, time_zone: str, hosts: bool = True
) -> User:
    """The public sign-up (setting ALLOW_SIGNUP): an organisation and its first admin, at once."""
    organization, invitation = organization_create(name=name, admin_email=email, time_zone=time_zone)
    invitation.admin_hosts = hosts
    invitation.save(update_fields=["admin_hosts"])
    return invitation_accept(
        token=invitation_token(invitation), full_name=full_name, time_zone=time_zone, password=password
    )


# The audit log ----------------------------------------------------------------------------------------------


def audit_log_exported(*, actor: User, filters: dict) -> None:
    """Whoever takes the log out of the product is in it too, with the filters they chose (the export holds
    every contact and colleague named in the events)."""
    check_member(actor)
    audit_record(
        actor=actor,
        organization_id=own_organization_id(actor),
        action=AuditAction.AUDIT_LOG_EXPORT,
        obj=actor.organization,
        filters=filters,
    )
