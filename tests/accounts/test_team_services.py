"""The team's services (issue 12): invitations, the last-admin rule, deactivating a member with upcoming
sessions, and which hosts a scheduler books for."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Invitation, Membership, User
from accounts.selectors import hosts_actor_may_act_for, hosts_of_organization, invitations_of_organization
from accounts.services import (
    CANCEL,
    REASSIGN,
    InvitationDetails,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_problem,
    invitation_resend,
    invitation_revoke,
    member_deactivate,
    member_reactivate,
    member_role_change,
    scheduler_hosts_set,
)
from accounts.tokens import invitation_token
from config.errors import PermissionDeniedError, ValidationFailedError
from notifications.models import Notification
from notifications.services import notices_deliver_due
from sessions_app.models import Session
from sessions_app.selectors import sessions_visible_to
from sessions_app.services import ParticipantDetails, session_schedule
from tests.factories import PASSWORD, ParticipantFactory, SessionFactory, member

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-fresh-password-42"


def _invite(admin, email="new@example.test", role=Membership.Role.HOST, **options) -> Invitation:
    return invitation_create(actor=admin, details=InvitationDetails(email=email, role=role, **options))


def _accept(invitation: Invitation, **options) -> User:
    return invitation_accept(
        token=options.get("token", invitation_token(invitation)),
        full_name=options.get("full_name", "Nia New"),
        time_zone=options.get("time_zone", "Asia/Tokyo"),
        password=options.get("password", NEW_PASSWORD),
    )


def _membership(user) -> Membership:
    return Membership.objects.get(user=user)


# Invitations ------------------------------------------------------------------------------------------------


def test_an_invitation_email_carries_a_working_link_and_the_kept_copy_does_not(admin, settings):
    settings.SITE_URL = "https://consult.example"
    invitation = _invite(admin, role=Membership.Role.SCHEDULER)

    notices_deliver_due()

    (email,) = mail.outbox
    link = "https://consult.example" + reverse(
        "accounts:invitation_accept", kwargs={"token": invitation_token(invitation)}
    )
    assert email.to == ["new@example.test"]
    assert email.subject == f"You're invited to join {admin.organization.name} on Consultations"
    assert link in email.body and link in email.alternatives[0][0]
    assert "Morgan Admin has invited you" in email.body and "as a scheduler" in email.body
    assert "expires on" in email.body and "(Europe/London)" in email.body
    notice = Notification.objects.get(kind=Notification.Kind.TEAM_INVITE)
    assert notice.status == Notification.Status.SENT
    assert "[invitation link]" in notice.body and invitation_token(invitation) not in notice.body


def test_the_token_is_stored_nowhere_only_its_hash(admin):
    invitation = _invite(admin)
    notices_deliver_due()
    token = invitation_token(invitation)

    stored = [
        *Invitation.objects.values_list(),
        *Notification.objects.values_list(),
        *AuditEvent.objects.values_list(),
    ]
    assert token not in repr(stored)
    assert Invitation.objects.get().token_hash != token
    assert invitation_for_token(token) == invitation


def test_accepting_makes_a_member_with_the_invited_role_and_their_own_name_and_zone(admin, host):
    invitation = _invite(admin, role=Membership.Role.SCHEDULER, bookable_host_ids=[host.pk])

    user = _accept(invitation)

    membership = _membership(user)
    assert (user.email, user.full_name, user.time_zone) == ("new@example.test", "Nia New", "Asia/Tokyo")
    assert user.check_password(NEW_PASSWORD)
    assert membership.organization == admin.organization and membership.role == Membership.Role.SCHEDULER
    assert not membership.books_for_all_hosts and list(membership.bookable_hosts.all()) == [host]
    assert AuditEvent.objects.filter(action="invitation.accept", actor=user).exists()
    assert invitation_problem(Invitation.objects.get()) == (
        "This invitation has already been used. Log in with the address it was sent to."
    )


def test_a_used_invitation_cannot_be_used_again(admin):
    invitation = _invite(admin)
    _accept(invitation)

    with pytest.raises(ValidationFailedError, match="already been used"):
        _accept(invitation, full_name="Someone Else")
    assert User.objects.filter(email="new@example.test").count() == 1


def test_an_expired_invitation_cannot_be_accepted(admin):
    invitation = _invite(admin)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ValidationFailedError, match="expired"):
        _accept(invitation)
    assert not User.objects.filter(email="new@example.test").exists()


def test_an_invitation_expires_after_seven_days(admin):
    invitation = _invite(admin)

    assert (
        timedelta(days=7) - timedelta(minutes=1) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    )


def test_a_revoked_invitation_cannot_be_accepted_and_its_unsent_email_is_withdrawn(admin):
    invitation = _invite(admin)
    invitation_revoke(actor=admin, invitation=invitation)

    with pytest.raises(ValidationFailedError, match="withdrawn"):
        _accept(invitation)
    notices_deliver_due()
    assert not mail.outbox
    notice = Notification.objects.get(kind=Notification.Kind.TEAM_INVITE)
    assert notice.status == Notification.Status.WITHDRAWN and "revoked" in notice.last_error


def test_resending_kills_the_old_link_and_only_the_new_email_goes_out(admin):
    invitation = _invite(admin)
    old_token = invitation_token(invitation)

    invitation = invitation_resend(actor=admin, invitation=invitation)
    notices_deliver_due()

    assert invitation_for_token(old_token) is None
    with pytest.raises(ValidationFailedError, match="not valid"):
        _accept(invitation, token=old_token)
    (email,) = mail.outbox
    assert invitation_token(invitation) in email.body and old_token not in email.body
    statuses = dict(Notification.objects.values_list("context__nonce", "status"))
    assert statuses == {
        invitation.nonce: "sent",
        **{k: "withdrawn" for k in statuses if k != invitation.nonce},
    }
    assert len(statuses) == 2
    assert _accept(invitation).is_active


def test_an_email_for_an_invitation_accepted_or_expired_meanwhile_is_withdrawn(admin):
    accepted = _invite(admin, email="a@example.test")
    expired = _invite(admin, email="b@example.test")
    _accept(accepted)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    notices_deliver_due()

    assert not mail.outbox
    errors = sorted(Notification.objects.values_list("last_error", flat=True))
    assert errors == ["Withdrawn: the invitation was accepted.", "Withdrawn: the invitation was expired."]


def test_another_organisations_admin_cannot_see_resend_or_revoke_our_invitations(admin):
    invitation = _invite(admin)
    stranger = member(role=Membership.Role.ADMIN, full_name="Other Admin")

    assert not invitations_of_organization(actor=stranger).exists()
    with pytest.raises(PermissionDeniedError):
        invitation_resend(actor=stranger, invitation=invitation)
    with pytest.raises(PermissionDeniedError):
        invitation_revoke(actor=stranger, invitation=invitation)
    assert Invitation.objects.get().nonce == invitation.nonce and invitation.revoked_at is None


def test_an_invitation_to_another_organisations_host_is_refused(admin):
    stranger_host = member(role=Membership.Role.HOST)

    with pytest.raises(ValidationFailedError, match="Choose hosts of your organisation"):
        _invite(admin, role=Membership.Role.SCHEDULER, bookable_host_ids=[stranger_host.pk])
    assert not Invitation.objects.exists()


def test_an_address_that_has_an_account_is_refused(admin, host):
    with pytest.raises(ValidationFailedError, match="already has an account"):
        _invite(admin, email=host.email.upper())
    assert not Invitation.objects.exists() and not Notification.objects.exists()


def test_only_an_admin_invites(host, scheduler):
    for actor in (host, scheduler):
        with pytest.raises(PermissionDeniedError):
            _invite(actor)
    assert not Invitation.objects.exists()


# The last admin ---------------------------------------------------------------------------------------------


def test_the_only_admin_cannot_be_demoted_or_deactivated(admin, host):
    with pytest.raises(ValidationFailedError, match="only active admin"):
        member_role_change(actor=admin, membership=_membership(admin), role=Membership.Role.HOST)
    second = member(role=Membership.Role.ADMIN, organization=admin.organization)
    member_deactivate(actor=admin, membership=_membership(second))
    with pytest.raises(ValidationFailedError, match="only active admin"):
        member_role_change(actor=admin, membership=_membership(admin), role=Membership.Role.SCHEDULER)
    assert _membership(admin).role == Membership.Role.ADMIN


def test_with_two_admins_one_can_be_demoted_or_deactivated(admin):
    second = member(role=Membership.Role.ADMIN, organization=admin.organization, full_name="Second Admin")

    member_role_change(actor=second, membership=_membership(admin), role=Membership.Role.HOST)
    assert _membership(admin).role == Membership.Role.HOST
    member_role_change(actor=second, membership=_membership(admin), role=Membership.Role.ADMIN)
    member_deactivate(actor=second, membership=_membership(admin))

    assert not User.objects.get(pk=admin.pk).is_active
    # Now the second is the only active one.
    with pytest.raises(ValidationFailedError, match="only active admin"):
        member_role_change(actor=second, membership=_membership(second), role=Membership.Role.HOST)


# Deactivation -----------------------------------------------------------------------------------------------


@pytest.fixture
def hosts_sessions(host):
    sessions = [
        SessionFactory(host=host, title=f"Session {n}", start_at=timezone.now() + timedelta(days=n))
        for n in (1, 2)
    ]
    for session in sessions:
        ParticipantFactory(session=session, email=f"p{session.pk}@example.test")
    return sessions


def test_deactivating_a_host_with_upcoming_sessions_needs_a_choice(admin, host, hosts_sessions):
    with pytest.raises(ValidationFailedError, match="2 upcoming sessions"):
        member_deactivate(actor=admin, membership=_membership(host))

    assert User.objects.get(pk=host.pk).is_active
    assert set(Session.objects.values_list("host_id", "status")) == {(host.pk, "scheduled")}


def test_reassigning_moves_every_upcoming_session_and_tells_the_new_host(
    admin, host, other_host, hosts_sessions
):
    member_deactivate(actor=admin, membership=_membership(host), upcoming=REASSIGN, new_host=other_host)

    assert not User.objects.get(pk=host.pk).is_active
    assert set(Session.objects.values_list("host_id", "status")) == {(other_host.pk, "scheduled")}
    assert Notification.objects.filter(kind=Notification.Kind.REASSIGNED, host=other_host).count() == 2
    event = AuditEvent.objects.get(action="member.deactivate")
    assert event.details["upcoming"] == REASSIGN and event.details["new_host"] == other_host.pk


def test_cancelling_cancels_every_upcoming_session_with_notices(admin, host, hosts_sessions):
    member_deactivate(actor=admin, membership=_membership(host), upcoming=CANCEL, cancel_reason="Leaving")

    assert not User.objects.get(pk=host.pk).is_active
    assert set(Session.objects.values_list("status", flat=True)) == {"cancelled"}
    cancellations = Notification.objects.filter(kind=Notification.Kind.CANCELLATION)
    assert cancellations.count() == 2 and {n.context.get("reason") for n in cancellations} == {"Leaving"}


def test_a_clash_for_the_new_host_changes_nothing(admin, host, other_host, hosts_sessions):
    SessionFactory(host=other_host, title="Busy", start_at=hosts_sessions[1].start_at)

    with pytest.raises(ValidationFailedError):
        member_deactivate(actor=admin, membership=_membership(host), upcoming=REASSIGN, new_host=other_host)

    assert User.objects.get(pk=host.pk).is_active
    assert list(Session.objects.filter(title__startswith="Session").values_list("host_id", flat=True)) == [
        host.pk,
        host.pk,
    ]
    assert not Notification.objects.filter(kind=Notification.Kind.REASSIGNED).exists()
    assert not AuditEvent.objects.filter(action__in=["member.deactivate", "session.reassign"]).exists()


def _logs_in(user) -> bool:
    response = Client().post(reverse("login"), {"username": user.email, "password": PASSWORD})
    return response.status_code == 302


def test_a_deactivated_member_can_no_longer_log_in_and_is_logged_out(admin, host, client):
    client.force_login(host)
    member_deactivate(actor=admin, membership=_membership(host))

    assert client.get(reverse("sessions:dashboard")).status_code == 302
    assert not _logs_in(host)
    assert host not in hosts_of_organization(organization_id=host.organization.pk)
    member_reactivate(actor=admin, membership=_membership(host))
    assert _logs_in(host)


def test_an_admin_cannot_deactivate_another_organisations_member(admin):
    stranger = member(role=Membership.Role.HOST)

    with pytest.raises(PermissionDeniedError):
        member_deactivate(actor=admin, membership=_membership(stranger))
    assert User.objects.get(pk=stranger.pk).is_active


# A scheduler's hosts ----------------------------------------------------------------------------------------


@pytest.fixture
def restricted(admin, scheduler, host, other_host):
    scheduler_hosts_set(
        actor=admin, membership=_membership(scheduler), all_hosts=False, host_ids=[other_host.pk]
    )
    return User.objects.get(pk=scheduler.pk)


def test_a_scheduler_books_for_every_host_until_restricted(admin, scheduler, host, other_host):
    assert set(hosts_actor_may_act_for(actor=scheduler)) == {host, other_host}

    scheduler_hosts_set(
        actor=admin, membership=_membership(scheduler), all_hosts=False, host_ids=[other_host.pk]
    )
    assert list(hosts_actor_may_act_for(actor=User.objects.get(pk=scheduler.pk))) == [other_host]

    scheduler_hosts_set(actor=admin, membership=_membership(scheduler), all_hosts=True)
    assert set(hosts_actor_may_act_for(actor=User.objects.get(pk=scheduler.pk))) == {host, other_host}


def test_a_restricted_scheduler_sees_and_acts_for_their_hosts_only(client, restricted, host, other_host):
    own = SessionFactory(host=other_host)
    foreign = SessionFactory(host=host)
    client.force_login(restricted)

    tab = client.get(reverse("accounts:scheduling")).content.decode()
    assert other_host.full_name in tab and host.full_name not in tab
    assert client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk})).status_code == 404
    assert client.post(reverse("accounts:act_for", kwargs={"host_id": other_host.pk})).status_code == 302
    assert client.get(reverse("sessions:detail", kwargs={"pk": foreign.pk})).status_code == 404
    assert client.get(reverse("sessions:detail", kwargs={"pk": own.pk})).status_code == 200
    assert list(sessions_visible_to(restricted)) == [own]


def test_a_restricted_scheduler_cannot_book_for_another_host(restricted, host):
    with pytest.raises(PermissionDeniedError):
        session_schedule(
            actor=restricted,
            host=host,
            title="Sneaky",
            start_at=timezone.now() + timedelta(days=1),
            duration_minutes=30,
            participants=[ParticipantDetails(name="Pat", invite_method="email", email="pat@example.test")],
        )
    assert not Session.objects.exists()


def test_only_a_schedulers_hosts_can_be_chosen_and_at_least_one(admin, host, scheduler):
    with pytest.raises(ValidationFailedError, match="Only a scheduler"):
        scheduler_hosts_set(actor=admin, membership=_membership(host), all_hosts=False, host_ids=[host.pk])
    with pytest.raises(ValidationFailedError, match="at least one host"):
        scheduler_hosts_set(actor=admin, membership=_membership(scheduler), all_hosts=False, host_ids=[])
    assert _membership(scheduler).books_for_all_hosts


# An admin who hosts -----------------------------------------------------------------------------------------


def test_an_admin_who_hosts_is_a_host_and_schedules_for_themself(admin, host):
    assert admin not in hosts_of_organization(organization_id=admin.organization.pk)

    member_role_change(
        actor=admin, membership=_membership(admin), role=Membership.Role.ADMIN, admin_hosts=True
    )
    admin = User.objects.get(pk=admin.pk)

    assert admin.is_host and admin.is_admin and _membership(admin).role_label == "Admin and host"
    assert admin in hosts_of_organization(organization_id=admin.organization.pk)
    session = session_schedule(
        actor=admin,
        host=admin,
        title="My own",
        start_at=timezone.now() + timedelta(days=1),
        duration_minutes=30,
        participants=[ParticipantDetails(name="Pat", invite_method="email", email="pat@example.test")],
    )
    assert session.host == admin
    assert set(hosts_actor_may_act_for(actor=admin)) == {admin, host}


def test_hosting_cannot_be_taken_from_someone_with_upcoming_sessions(admin, host, hosts_sessions):
    with pytest.raises(ValidationFailedError, match="upcoming sessions"):
        member_role_change(actor=admin, membership=_membership(host), role=Membership.Role.SCHEDULER)
    assert _membership(host).role == Membership.Role.HOST
