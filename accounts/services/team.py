"""The organisation's team: invitations, roles, the hosts a scheduler books for, deactivation."""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import Invitation, Membership, User
from accounts.selectors import upcoming_sessions_hosted_by
from accounts.services.common import (
    check_admin,
    check_bookable_hosts,
    check_keeps_an_admin,
    check_role,
    check_same_organization,
    check_zone,
    give_reminder_defaults,
)
from accounts.tokens import invitation_token, new_nonce, token_hash
from config.errors import ValidationFailedError

INVITATION_LIFETIME = timedelta(days=7)


# Invitations ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationDetails:
    email: str
    role: str
    admin_hosts: bool = False
    # For a scheduler: None books for every host; a list, for those hosts only.
    bookable_host_ids: list[int] | None = None


def _queue_invitation_email(invitation: Invitation) -> None:
    from notifications.services import account_notice_create

    account_notice_create(
        organization_id=invitation.organization_id,
        kind="team_invite",
        recipient=invitation.email,
        key=f"invitation{invitation.pk}:{invitation.nonce}",
        # The nonce tells the worker whether this email still carries the current link (a re-sent
        # invitation has a new one): notifications.services._no_longer_applies.
        context={"invitation_id": invitation.pk, "nonce": invitation.nonce},
    )


def set_invitation_token(invitation: Invitation) -> None:
    invitation.nonce = new_nonce()
    invitation.token_hash = token_hash(invitation_token(invitation))
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME


@transaction.atomic
def invitation_create(*, actor: User, details: InvitationDetails) -> Invitation:
    """Invite someone to the actor's organisation by email: a single-use link valid for 7 days."""
    membership = check_admin(actor)
    email = details.email.strip().lower()
    check_role(details.role)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailedError("That address already has an account.", field="email")
    pending = Invitation.objects.filter(
        organization_id=membership.organization_id,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if pending.exists():
        raise ValidationFailedError(
            "That address has an invitation waiting: re-send it from the list below.", field="email"
        )
    restricted = details.role == Membership.Role.SCHEDULER and details.bookable_host_ids is not None
    hosts = (
        check_bookable_hosts(membership.organization_id, details.bookable_host_ids or [])
        if restricted
        else []
    )
    if restricted and not hosts:
        raise ValidationFailedError(
            "Choose at least one host, or let them book for every host.", field="bookable_hosts"
        )
    invitation = Invitation(
        organization_id=membership.organization_id,
        email=email,
        role=details.role,
        admin_hosts=details.role == Membership.Role.ADMIN and details.admin_hosts,
        books_for_all_hosts=not restricted,
        invited_by=actor,
    )
    set_invitation_token(invitation)
    invitation.save()
    invitation.bookable_hosts.set(hosts)
    _queue_invitation_email(invitation)
    audit_record(
        actor=actor,
        organization_id=membership.organization_id,
        action=AuditAction.INVITATION_CREATE,
        obj=invitation,
        email=email,
        role=details.role,
        admin_hosts=invitation.admin_hosts,
        bookable_hosts=[h.pk for h in hosts] if restricted else "all",
    )
    return invitation


def _pending_invitation(*, actor: User, invitation: Invitation) -> Invitation:
    membership = check_admin(actor)
    check_same_organization(membership, invitation)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationFailedError(f"{invitation.email} has already accepted this invitation.")
    return invitation


@transaction.atomic
def invitation_resend(*, actor: User, invitation: Invitation) -> Invitation:
    """A new link for 7 more days; the old link stops working (also for an expired or revoked one)."""
    invitation = _pending_invitation(actor=actor, invitation=invitation)
    set_invitation_token(invitation)
    invitation.revoked_at = None
    invitation.save(update_fields=["nonce", "token_hash", "expires_at", "revoked_at"])
    _queue_invitation_email(invitation)
    audit_record(
        actor=actor,
        organization_id=invitation.organization_id,
        action=AuditAction.INVITATION_RESEND,
        obj=invitation,
        email=invitation.email,
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    invitation = _pending_invitation(actor=actor, invitation=invitation)
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            organization_id=invitation.organization_id,
            action=AuditAction.INVITATION_REVOKE,
            obj=invitation,
            email=invitation.email,
        )
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token names, whatever its state (the page says why it no longer works)."""
    if not token or len(token) > 100:
        return None
    return Invitation.objects.select_related("organization").filter(token_hash=token_hash(token)).first()


def invitation_problem(invitation: Invitation | None) -> str:
    """Why an invitation link cannot be used, for the person holding it; "" when it can."""
    if invitation is None:
        return "This invitation link is not valid. Ask your organisation's administrator for a new one."
    if invitation.accepted_at is not None:
        return "This invitation has already been used. Log in with the address it was sent to."
    if invitation.revoked_at is not None:
        return "This invitation was withdrawn. Ask your organisation's administrator for a new one."
    if invitation.expires_at <= timezone.now():
        return "This invitation has expired. Ask your organisation's administrator to send it again."
    return ""


@transaction.atomic
def invitation_accept(*, token: str, full_name: str, time_zone: str, password: str) -> User:
    """The invited person sets their name, zone and password; their account joins the organisation."""
    invitation = invitation_for_token(token)
    if invitation is not None:
        invitation = (
            Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
        )
    if problem := invitation_problem(invitation):
        raise ValidationFailedError(problem)
    full_name = full_name.strip()
    if len(full_name) < 2:
        raise ValidationFailedError("Enter your name.", field="full_name")
    check_zone(time_zone)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationFailedError("That address already has an account: log in instead.")
    user = User(email=invitation.email, full_name=full_name, time_zone=time_zone)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationFailedError(" ".join(error.messages), field="password") from error
    user.set_password(password)
    user.save()
    membership = Membership.objects.create(
        user=user,
        organization=invitation.organization,
        role=invitation.role,
        admin_hosts=invitation.admin_hosts,
        books_for_all_hosts=invitation.books_for_all_hosts,
    )
    membership.bookable_hosts.set(invitation.bookable_hosts.filter(is_active=True))
    if membership.hosts_sessions:
        give_reminder_defaults(user, invitation.organization)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=user,
        organization_id=invitation.organization_id,
        action=AuditAction.INVITATION_ACCEPT,
        obj=invitation,
        email=user.email,
        role=membership.role,
    )
    return user


# Members ----------------------------------------------------------------------------------------------------


def _locked_member(*, actor: User, membership: Membership) -> tuple[Membership, Membership]:
    admin = check_admin(actor)
    check_same_organization(admin, membership)
    locked = (
        Membership.objects.select_for_update().select_related("user", "organization").get(pk=membership.pk)
    )
    return admin, locked


@transaction.atomic
def member_role_change(
    *, actor: User, membership: Membership, role: str, admin_hosts: bool = False
) -> Membership:
    """Change a member's role (and whether an admin also hosts). Refused when it would leave the
    organisation without an active admin, or take hosting from someone with upcoming sessions."""
    _admin, membership = _locked_member(actor=actor, membership=membership)
    check_role(role)
    admin_hosts = role == Membership.Role.ADMIN and admin_hosts
    before = {"role": membership.role, "admin_hosts": membership.admin_hosts}
    if before == {"role": role, "admin_hosts": admin_hosts}:
        return membership
    if role != Membership.Role.ADMIN:
        check_keeps_an_admin(membership)
    was_hosting = membership.hosts_sessions
    membership.role, membership.admin_hosts = role, admin_hosts
    if (
        was_hosting
        and not membership.hosts_sessions
        and upcoming_sessions_hosted_by(user=membership.user).exists()
    ):
        raise ValidationFailedError(
            f"{membership.user.full_name} has upcoming sessions: reassign or cancel them first (Deactivate "
            "shows them), then change the role.",
            field="role",
        )
    membership.save(update_fields=["role", "admin_hosts"])
    if membership.hosts_sessions and not was_hosting:
        give_reminder_defaults(membership.user, membership.organization)
    audit_record(
        actor=actor,
        organization_id=membership.organization_id,
        action=AuditAction.MEMBER_ROLE_CHANGE,
        obj=membership,
        member=membership.user.pk,
        before=before,
        after={"role": role, "admin_hosts": admin_hosts},
    )
    return membership


@transaction.atomic
def scheduler_hosts_set(
    *, actor: User, membership: Membership, all_hosts: bool, host_ids: list[int] | None = None
) -> Membership:
    """Which hosts a scheduler books for: all of the organisation's, or the ones chosen."""
    _admin, membership = _locked_member(actor=actor, membership=membership)
    if membership.role != Membership.Role.SCHEDULER:
        raise ValidationFailedError("Only a scheduler's hosts can be chosen; admins book for every host.")
    hosts = [] if all_hosts else check_bookable_hosts(membership.organization_id, host_ids or [])
    if not all_hosts and not hosts:
        raise ValidationFailedError(
            "Choose at least one host, or let them book for every host.", field="bookable_hosts"
        )
    membership.books_for_all_hosts = all_hosts
    membership.save(update_fields=["books_for_all_hosts"])
    membership.bookable_hosts.set(hosts)
    audit_record(
        actor=actor,
        organization_id=membership.organization_id,
        action=AuditAction.MEMBER_HOSTS_SET,
        obj=membership,
        member=membership.user.pk,
        bookable_hosts="all" if all_hosts else [h.pk for h in hosts],
    )
    return membership


REASSIGN = "reassign"
CANCEL = "cancel"


@transaction.atomic
def member_deactivate(
    *,
    actor: User,
    membership: Membership,
    upcoming: str = "",
    new_host: User | None = None,
    cancel_reason: str = "",
) -> Membership:
    """Stop a member from logging in. A host's upcoming sessions go first, in the same step: every one
    reassigned to `new_host` (upcoming="reassign") or cancelled with a notice (upcoming="cancel"); any
    refusal (a clash for the new host) leaves everything as it was."""
    from sessions_app.services import session_cancel, session_reassign, session_remove

    _admin, membership = _locked_member(actor=actor, membership=membership)
    user = membership.user
    if user.pk == actor.pk:
        raise ValidationFailedError("You cannot deactivate yourself; ask another admin.")
    if not user.is_active:
        return membership
    check_keeps_an_admin(membership)
    sessions = list(upcoming_sessions_hosted_by(user=user))
    if any(s.state == s.Status.LIVE for s in sessions):
        raise ValidationFailedError(f"{user.full_name} is in a session now. Try again when it has ended.")
    if sessions:
        if upcoming == REASSIGN:
            if new_host is None:
                raise ValidationFailedError("Choose the host who takes the sessions.", field="new_host")
            for session in sessions:
                session_reassign(actor=actor, session=session, new_host=new_host)
        elif upcoming == CANCEL:
            for session in sessions:
                # One that started more than 5 minutes ago (its host never connected) can only be removed.
                if session.cancel_offered():
                    session_cancel(actor=actor, session=session, reason=cancel_reason)
                else:
                    session_remove(actor=actor, session=session)
        else:
            count = len(sessions)
            raise ValidationFailedError(
                f"{user.full_name} has {count} upcoming session{'s' if count != 1 else ''}: reassign or "
                "cancel them in the same step.",
                field="upcoming",
            )
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        organization_id=membership.organization_id,
        action=AuditAction.MEMBER_DEACTIVATE,
        obj=membership,
        member=user.pk,
        sessions=[s.pk for s in sessions],
        upcoming=upcoming if sessions else "",
        new_host=new_host.pk if sessions and new_host else None,
    )
    return membership


@transaction.atomic
def member_reactivate(*, actor: User, membership: Membership) -> Membership:
    _admin, membership = _locked_member(actor=actor, membership=membership)
    if not membership.user.is_active:
        membership.user.is_active = True
        membership.user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            organization_id=membership.organization_id,
            action=AuditAction.MEMBER_REACTIVATE,
            obj=membership,
            member=membership.user.pk,
        )
    return membership
