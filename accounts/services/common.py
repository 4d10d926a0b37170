"""What the account services share: who may act, and the checks of names, addresses, zones and roles."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import Membership, Organization, User
from accounts.selectors import hosts_of_organization
from accounts.timezones import TIME_ZONE_CHOICES
from config.errors import PermissionDeniedError, ValidationFailedError

ZONES = {value for value, _label in TIME_ZONE_CHOICES}


def check_admin(actor: User) -> Membership:
    if not actor.is_authenticated or not actor.is_active or not actor.is_admin:
        raise PermissionDeniedError("Only an administrator of the organisation can do this.")
    return actor.membership


def check_same_organization(actor_membership: Membership, obj) -> None:
    if obj.organization_id != actor_membership.organization_id:
        # Told as missing, never as "not yours" (DESIGN.md rule 4).
        raise PermissionDeniedError("Not found.")


def check_zone(zone: str, field: str = "time_zone") -> None:
    if zone not in ZONES:
        raise ValidationFailedError("Choose a time zone from the list.", field=field)


def check_display_name(value: str, field: str, what: str, max_length: int = 100) -> str:
    """A name shown to people (and written into an email's From): one line of printable text. A line break
    in a header would let it add headers of its own."""
    value = value.strip()
    if not value.isprintable():
        raise ValidationFailedError(f"{what} can only hold letters, digits and punctuation.", field=field)
    if len(value) > max_length:
        raise ValidationFailedError(f"{what} can be at most {max_length} characters.", field=field)
    return value


def check_person_name(full_name: str) -> str:
    full_name = check_display_name(
        full_name, "full_name", "Your name", User._meta.get_field("full_name").max_length
    )
    if len(full_name) < 2:
        raise ValidationFailedError("Enter your name.", field="full_name")
    return full_name


def check_organization_name(name: str) -> str:
    name = check_display_name(
        name, "name", "The organisation's name", Organization._meta.get_field("name").max_length
    )
    if len(name) < 2:
        raise ValidationFailedError("Enter the organisation's name.", field="name")
    return name


def check_email(email: str, field: str = "email") -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationFailedError("Enter a valid email address.", field=field) from error
    if len(email) > User._meta.get_field("email").max_length:
        raise ValidationFailedError("That address is too long.", field=field)
    return email


def check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationFailedError("Choose a role.", field="role")


def _active_admins(organization_id: int):
    return Membership.objects.filter(
        organization_id=organization_id, role=Membership.Role.ADMIN, user__is_active=True
    )


def check_keeps_an_admin(membership: Membership) -> None:
    """An organisation always keeps at least one active admin."""
    if membership.role != Membership.Role.ADMIN or not membership.user.is_active:
        return
    if not _active_admins(membership.organization_id).exclude(pk=membership.pk).exists():
        raise ValidationFailedError(
            f"{membership.user.full_name} is the organisation's only active admin. Make someone else an "
            "admin first.",
            field="role",
        )


def give_reminder_defaults(user: User, organization: Organization) -> None:
    """A member who starts hosting gets the organisation's reminder times, unless they chose their own."""
    from notifications.models import HostNoticeSettings

    HostNoticeSettings.objects.get_or_create(
        host=user, defaults={"reminder_lead_minutes": list(organization.default_reminder_lead_minutes)}
    )


def check_bookable_hosts(organization_id: int, host_ids: list[int]) -> list[User]:
    hosts = list(hosts_of_organization(organization_id=organization_id).filter(pk__in=host_ids))
    if len(hosts) != len(set(host_ids)):
        raise ValidationFailedError("Choose hosts of your organisation.", field="bookable_hosts")
    return hosts


def own_organization_id(user: User) -> int | None:
    return user.membership.organization_id if user.membership else None


def check_member(actor: User) -> None:
    # Every event belongs to an organisation: an account of none (a bare superuser) has no profile here.
    if not actor.is_authenticated or not actor.is_active or actor.membership is None:
        raise PermissionDeniedError("Only a member of an organisation can do this.")
