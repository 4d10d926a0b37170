"""What an email about an account says (an invitation to the team, a new address to confirm): the words its
templates are filled with. The link in it is a bearer secret derived here, at delivery, and never stored:
notifications.rendering keeps a copy of the text with the link cut out."""

from django.conf import settings
from django.urls import reverse

from accounts.models import Invitation, Membership, User
from accounts.tokens import invitation_token
from notifications.models import Notification
from sessions_app.timefmt import format_when

Kind = Notification.Kind

ROLE_WORDS = {
    Membership.Role.HOST: "a host",
    Membership.Role.SCHEDULER: "a scheduler",
    Membership.Role.ADMIN: "an administrator",
}


def invitation_of(notification: Notification) -> Invitation | None:
    invitation_id = (notification.context or {}).get("invitation_id")
    return (
        Invitation.objects.select_related("organization", "invited_by").filter(pk=invitation_id).first()
        if invitation_id
        else None
    )


def email_change_user_of(notification: Notification) -> User | None:
    user_id = (notification.context or {}).get("user_id")
    return User.objects.filter(pk=user_id).first() if user_id else None


def invitation_role_words(invitation: Invitation) -> str:
    """What the invited person will be, in a sentence: "a scheduler", "an administrator who also hosts
    sessions"."""
    words = ROLE_WORDS[invitation.role]
    if invitation.role == Membership.Role.ADMIN and invitation.admin_hosts:
        words += " who also hosts sessions"
    return words


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse(
        "accounts:invitation_accept", kwargs={"token": invitation_token(invitation)}
    )


def _team_invite(notification: Notification) -> dict:
    invitation = invitation_of(notification)
    inviter = invitation.invited_by
    # The invited person has no zone yet: the expiry is written in the zone of whoever invited them.
    zone = inviter.time_zone if inviter else invitation.organization.default_participant_time_zone
    return {
        "organization": invitation.organization,
        "inviter_name": inviter.full_name if inviter else "",
        "role_words": invitation_role_words(invitation),
        "expires": format_when(invitation.expires_at, zone),
        "link": invitation_url(invitation),
        "link_placeholder": "[invitation link]",
    }


def _email_confirm(notification: Notification) -> dict:
    from accounts.services import email_change_token

    user = email_change_user_of(notification)
    new_email = notification.context["new_email"]
    token = email_change_token(user=user, new_email=new_email)
    return {
        "recipient_name": user.full_name,
        "organization": user.organization,
        "new_email": new_email,
        "link": settings.SITE_URL + reverse("accounts:email_confirm", kwargs={"token": token}),
        "link_placeholder": "[confirmation link]",
    }


ACCOUNT_CONTEXTS = {Kind.TEAM_INVITE: _team_invite, Kind.EMAIL_CONFIRM: _email_confirm}


def account_notice_context(notification: Notification) -> dict:
    """The template context of an email about an account. `link` is the secret link it carries and
    `link_placeholder` what stands for it in the copy the product keeps."""
    return ACCOUNT_CONTEXTS[notification.kind](notification)
