"""A person's own account: name, time zone, password and a confirmed change of email address."""

from datetime import timedelta

from django.core import signing
from django.db import transaction

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from accounts.services.common import (
    check_email,
    check_member,
    check_person_name,
    check_zone,
    own_organization_id,
)
from accounts.tokens import new_nonce
from config.errors import ValidationFailedError

EMAIL_CHANGE_MAX_AGE = timedelta(hours=24)
EMAIL_CHANGE_SALT = "accounts.email_change"


# Profile ----------------------------------------------------------------------------------------------------


@transaction.atomic
def profile_update(*, actor: User, full_name: str, time_zone: str) -> User:
    """A person's own name and time zone; every page follows the zone at once."""
    check_member(actor)
    full_name = check_person_name(full_name)
    check_zone(time_zone)
    before = {"full_name": actor.full_name, "time_zone": actor.time_zone}
    after = {"full_name": full_name, "time_zone": time_zone}
    changed = [key for key in after if before[key] != after[key]]
    if not changed:
        return actor
    actor.full_name, actor.time_zone = full_name, time_zone
    actor.save(update_fields=changed)
    audit_record(
        actor=actor,
        organization_id=own_organization_id(actor),
        action=AuditAction.PROFILE_UPDATE,
        obj=actor,
        before={key: before[key] for key in changed},
        after={key: after[key] for key in changed},
    )
    return actor


def password_changed(*, actor: User) -> None:
    """Django's password change view saved the new password; the log says so (never the password)."""
    audit_record(
        actor=actor,
        organization_id=own_organization_id(actor),
        action=AuditAction.PASSWORD_CHANGE,
        obj=actor,
    )


def email_change_token(*, user: User, new_email: str) -> str:
    """The signed confirmation token for a new address: names the account, its current address (so it
    stops working once the address changes) and the new one; expires after EMAIL_CHANGE_MAX_AGE."""
    return signing.dumps({"u": user.pk, "old": user.email, "new": new_email}, salt=EMAIL_CHANGE_SALT)


@transaction.atomic
def email_change_request(*, actor: User, new_email: str) -> None:
    """Send a confirmation link to the new address; the account keeps the old one until it is opened."""
    from notifications.services import account_notice_create

    check_member(actor)
    new_email = check_email(new_email)
    if new_email == actor.email:
        raise ValidationFailedError("That is already your address.", field="email")
    if User.objects.filter(email__iexact=new_email).exists():
        raise ValidationFailedError("That address belongs to another account.", field="email")
    nonce = new_nonce()
    account_notice_create(
        organization_id=own_organization_id(actor),
        kind="email_confirm",
        recipient=new_email,
        key=f"email{actor.pk}:{nonce}",
        context={"user_id": actor.pk, "new_email": new_email},
    )
    audit_record(
        actor=actor,
        organization_id=own_organization_id(actor),
        action=AuditAction.EMAIL_CHANGE_REQUEST,
        obj=actor,
        new_email=new_email,
    )


def _email_change_read(token: str, *, lock: bool = False) -> tuple[User, str]:
    """The account and new address a confirmation link names, or the reason it cannot be used."""
    if not token or len(token) > 1000:
        raise ValidationFailedError("This link is not valid.")
    try:
        data = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE)
    except signing.SignatureExpired as error:
        raise ValidationFailedError("This link has expired. Ask for a new one from your profile.") from error
    except signing.BadSignature as error:
        raise ValidationFailedError("This link is not valid.") from error
    users = User.objects.select_for_update() if lock else User.objects
    user = users.filter(pk=data.get("u"), is_active=True).first()
    # The link names the address it replaces: once the address has changed (this link or another one was
    # used), every older link stops working.
    if user is None or user.email != data.get("old"):
        raise ValidationFailedError("This link has already been used or is no longer valid.")
    new_email = data["new"]
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise ValidationFailedError("That address now belongs to another account.")
    return user, new_email


def email_change_pending(*, token: str) -> str:
    """The new address a confirmation link would set, for the page that asks to confirm it; raises when
    the link cannot be used, so the page says why before anyone presses a button."""
    return _email_change_read(token)[1]


@transaction.atomic
def email_change_confirm(*, token: str) -> User:
    """Opened from the new address's inbox: the account's login address becomes the new one."""
    user, new_email = _email_change_read(token, lock=True)
    old = user.email
    user.email = new_email
    user.save(update_fields=["email"])
    audit_record(
        actor=user,
        organization_id=own_organization_id(user),
        action=AuditAction.EMAIL_CHANGE_CONFIRM,
        obj=user,
        old_email=old,
        new_email=new_email,
    )
    return user
