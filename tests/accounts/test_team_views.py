"""The Team page and the invitation's accept page through HTTP (issue 12): what an admin sees and does,
what the invited person sees, and that nobody else reaches any of it."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Invitation, Membership, User
from accounts.services import InvitationDetails, invitation_create, invitation_revoke, scheduler_hosts_set
from accounts.tokens import invitation_token
from notifications.models import Notification
from sessions_app.models import Session
from tests.factories import ParticipantFactory, SessionFactory, member

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-fresh-password-42"


def _invite(admin, email="new@example.test", role=Membership.Role.HOST, **options) -> Invitation:
    return invitation_create(actor=admin, details=InvitationDetails(email=email, role=role, **options))


def _membership(user) -> Membership:
    return Membership.objects.get(user=user)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# The Team page ----------------------------------------------------------------------------------------------


def test_the_team_page_lists_members_with_role_zone_last_login_status_and_hosts(
    client, admin, host, other_host, scheduler
):
    scheduler_hosts_set(actor=admin, membership=_membership(scheduler), all_hosts=False, host_ids=[host.pk])
    User.objects.filter(pk=host.pk).update(last_login=timezone.now(), is_active=False, time_zone="Asia/Tokyo")
    _invite(admin, email="pending@example.test")
    client.force_login(admin)

    page = _text(client.get(reverse("accounts:team")))

    row = re.search(rf'data-member-id="{_membership(host).pk}".*?</tr>', page).group()
    assert "Dr Ada Host" in row and "Host" in row and "Asia/Tokyo" in row and "Deactivated" in row
    assert "Reactivate" in row and "Never" not in row
    scheduler_row = re.search(rf'data-member-id="{_membership(scheduler).pk}".*?</tr>', page).group()
    assert (
        "Books for: Dr Ada Host" in scheduler_row and "Active" in scheduler_row and "Never" in scheduler_row
    )
    assert "Books for: All hosts" not in scheduler_row
    assert "pending@example.test" in page and "Pending" in page
    assert "Last login (Europe/London)" in page


def test_inviting_from_the_page_sends_the_invitation(client, admin, host):
    client.force_login(admin)

    response = client.post(
        reverse("accounts:team_invite"),
        {
            "email": "sue@example.test",
            "role": "scheduler",
            "books_for": "chosen",
            "bookable_hosts": [host.pk],
        },
        follow=True,
    )

    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.books_for_all_hosts) == (
        "sue@example.test",
        "scheduler",
        False,
    )
    assert list(invitation.bookable_hosts.all()) == [host]
    assert "Invitation sent to sue@example.test" in _text(response)
    assert Notification.objects.filter(kind="team_invite", recipient="sue@example.test").exists()


def test_a_refused_invitation_is_shown_on_the_form_keeping_the_input(client, admin, host):
    client.force_login(admin)

    response = client.post(reverse("accounts:team_invite"), {"email": host.email, "role": "admin"})

    assert response.status_code == 400
    assert "That address already has an account." in _text(response)
    assert f'value="{host.email}"' in response.content.decode()
    assert not Invitation.objects.exists()


def test_resend_and_revoke_from_the_page(client, admin):
    invitation = _invite(admin)
    old_hash = invitation.token_hash
    client.force_login(admin)

    response = client.post(reverse("accounts:invitation_revoke", kwargs={"pk": invitation.pk}), follow=True)
    assert "The invitation of new@example.test is withdrawn" in _text(response)
    assert Invitation.objects.get().status == "revoked"

    response = client.post(reverse("accounts:invitation_resend", kwargs={"pk": invitation.pk}), follow=True)
    assert "Invitation sent again to new@example.test" in _text(response)
    invitation.refresh_from_db()
    assert invitation.status == "pending" and invitation.token_hash != old_hash


def test_changing_a_role_and_a_schedulers_hosts(client, admin, host, other_host, scheduler):
    client.force_login(admin)

    response = client.post(
        reverse("accounts:member_role", kwargs={"pk": _membership(admin).pk}),
        {"role": "admin", "admin_hosts": "on"},
        follow=True,
    )
    assert "Morgan Admin is now admin and host." in _text(response)
    response = client.post(
        reverse("accounts:member_hosts", kwargs={"pk": _membership(scheduler).pk}),
        {"books_for": "chosen", "bookable_hosts": [other_host.pk]},
        follow=True,
    )
    assert "Sue Scheduler now books for Dr Ben Colleague only." in _text(response)
    assert list(_membership(scheduler).bookable_hosts.all()) == [other_host]
    assert AuditEvent.objects.filter(action__in=["member.role_change", "member.hosts_set"]).count() == 2


def test_demoting_the_only_admin_is_refused_on_the_form(client, admin):
    client.force_login(admin)

    response = client.post(
        reverse("accounts:member_role", kwargs={"pk": _membership(admin).pk}), {"role": "host"}
    )

    assert response.status_code == 200
    assert "only active admin" in _text(response)
    assert _membership(admin).role == "admin"


def test_the_deactivate_page_lists_upcoming_sessions_and_reassigns_them_in_one_step(
    client, admin, host, other_host
):
    start = timezone.now() + timedelta(days=2)
    session = SessionFactory(host=host, title="Weekly review", start_at=start)
    ParticipantFactory(session=session)
    client.force_login(admin)
    url = reverse("accounts:member_deactivate", kwargs={"pk": _membership(host).pk})

    page = _text(client.get(url))
    assert "Weekly review" in page and "(Europe/London)" in page
    assert "Reassign them all to" in page and "Cancel them all" in page

    response = client.post(url, {"upcoming": "reassign", "new_host": other_host.pk}, follow=True)

    assert "Dr Ada Host is deactivated and can no longer log in." in _text(response)
    assert "now with Dr Ben Colleague" in _text(response)
    assert Session.objects.get().host == other_host and not User.objects.get(pk=host.pk).is_active


def test_a_refused_deactivation_keeps_the_choice_and_changes_nothing(client, admin, host, other_host):
    start = timezone.now() + timedelta(days=2)
    SessionFactory(host=host, title="Weekly review", start_at=start)
    SessionFactory(host=other_host, title="Busy", start_at=start)
    client.force_login(admin)

    response = client.post(
        reverse("accounts:member_deactivate", kwargs={"pk": _membership(host).pk}),
        {"upcoming": "reassign", "new_host": other_host.pk},
    )

    assert response.status_code == 200
    assert re.search(r'value="reassign"[^>]*checked', response.content.decode())
    assert re.search(rf'<option value="{other_host.pk}" selected>', response.content.decode())
    assert User.objects.get(pk=host.pk).is_active
    assert Session.objects.get(title="Weekly review").host == host


def test_deactivating_without_a_choice_is_asked_for_on_the_form(client, admin, host):
    SessionFactory(host=host, start_at=timezone.now() + timedelta(days=2))
    client.force_login(admin)

    response = client.post(reverse("accounts:member_deactivate", kwargs={"pk": _membership(host).pk}), {})

    assert "Choose whether to reassign or cancel" in _text(response)
    assert User.objects.get(pk=host.pk).is_active


def test_reactivating_a_member(client, admin, host):
    User.objects.filter(pk=host.pk).update(is_active=False)
    client.force_login(admin)

    response = client.post(
        reverse("accounts:member_reactivate", kwargs={"pk": _membership(host).pk}), follow=True
    )

    assert "Dr Ada Host is active again and can log in." in _text(response)
    assert User.objects.get(pk=host.pk).is_active


def _members(organization, count):
    for n in range(count):
        role = [Membership.Role.HOST, Membership.Role.SCHEDULER][n % 2]
        user = member(role=role, organization=organization, full_name=f"Member {n:02}")
        if role == Membership.Role.SCHEDULER:
            membership = _membership(user)
            membership.books_for_all_hosts = False
            membership.save()
            membership.bookable_hosts.set(User.objects.filter(full_name="Dr Ada Host"))


def test_the_team_page_query_count_does_not_grow_with_members(client, admin, host, django_assert_num_queries):
    client.force_login(admin)
    _members(admin.organization, 3)
    _invite(admin, email="one@example.test")
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("accounts:team")).status_code == 200

    _members(admin.organization, 10)
    for n in range(5):
        _invite(admin, email=f"more{n}@example.test")
    with django_assert_num_queries(len(small)):
        response = client.get(reverse("accounts:team"))
    assert response.content.decode().count("data-member-id=") == 15


# Authorization ----------------------------------------------------------------------------------------------


def _team_requests(admin, host, scheduler):
    """Every Team page and action, with what an admin would post."""
    invitation = _invite(admin)
    pk = _membership(host).pk
    return [
        ("get", reverse("accounts:team"), {}),
        ("post", reverse("accounts:team_invite"), {"email": "x@example.test", "role": "admin"}),
        ("post", reverse("accounts:invitation_resend", kwargs={"pk": invitation.pk}), {}),
        ("post", reverse("accounts:invitation_revoke", kwargs={"pk": invitation.pk}), {}),
        ("get", reverse("accounts:member_role", kwargs={"pk": pk}), {}),
        ("post", reverse("accounts:member_role", kwargs={"pk": pk}), {"role": "admin"}),
        ("get", reverse("accounts:member_hosts", kwargs={"pk": _membership(scheduler).pk}), {}),
        (
            "post",
            reverse("accounts:member_hosts", kwargs={"pk": _membership(scheduler).pk}),
            {"books_for": "chosen", "bookable_hosts": [host.pk]},
        ),
        ("get", reverse("accounts:member_deactivate", kwargs={"pk": pk}), {}),
        ("post", reverse("accounts:member_deactivate", kwargs={"pk": pk}), {}),
        ("post", reverse("accounts:member_reactivate", kwargs={"pk": pk}), {}),
    ]


def _state():
    return (
        list(Membership.objects.order_by("pk").values_list("role", "admin_hosts", "books_for_all_hosts")),
        list(User.objects.order_by("pk").values_list("is_active", flat=True)),
        list(Invitation.objects.order_by("pk").values_list("token_hash", "revoked_at")),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


@pytest.mark.parametrize("who", ["host", "scheduler", "foreign_admin", "foreign_admin_who_hosts"])
def test_nobody_but_the_organisations_admins_reaches_any_team_page_or_action(admin, host, scheduler, who):
    requests = _team_requests(admin, host, scheduler)
    if who.startswith("foreign_admin"):
        user = member(role=Membership.Role.ADMIN, full_name="Other Admin")
        Membership.objects.filter(user=user).update(admin_hosts=who.endswith("hosts"))
    else:
        user = {"host": host, "scheduler": scheduler}[who]
    client = Client()
    client.force_login(user)
    before = _state()

    for verb, url, data in requests:
        if who.startswith("foreign_admin") and "/team/" in url and not re.search(r"/\d+/", url):
            continue  # their own Team page and invitations: tested below to show nothing of ours
        response = getattr(client, verb)(url, data)
        assert response.status_code == 404, f"{verb} {url} as {who}: {response.status_code}"
    assert _state() == before


def test_another_organisations_admin_sees_nothing_of_ours_on_their_team_page(admin, host):
    _invite(admin, email="ours@example.test")
    stranger = member(role=Membership.Role.ADMIN, full_name="Other Admin")
    client = Client()
    client.force_login(stranger)

    page = _text(client.get(reverse("accounts:team")))

    assert "Other Admin" in page
    for ours in ("Morgan Admin", "Dr Ada Host", host.email, "ours@example.test"):
        assert ours not in page


def test_an_anonymous_visitor_is_sent_to_log_in(client, admin):
    response = client.get(reverse("accounts:team"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# Accepting an invitation ------------------------------------------------------------------------------------


def _open(client, invitation_or_token):
    token = (
        invitation_or_token if isinstance(invitation_or_token, str) else invitation_token(invitation_or_token)
    )
    return client.get(reverse("accounts:invitation_accept", kwargs={"token": token}))


def test_the_link_trades_its_token_for_a_cookie_and_the_form_shows_the_organisation_and_role(client, admin):
    invitation = _open_target = _invite(admin, role=Membership.Role.SCHEDULER)
    token = invitation_token(_open_target)

    response = _open(client, invitation)

    assert response.status_code == 302 and response["Location"] == reverse("accounts:invitation_form")
    assert response["Referrer-Policy"] == "no-referrer"
    assert token not in response["Location"]
    form = client.get(reverse("accounts:invitation_form"))
    page = _text(form)
    assert form.status_code == 200 and admin.organization.name in page and "as a scheduler" in page
    assert 'name="csrfmiddlewaretoken"' in page and 'name="password_confirm"' in page


def test_accepting_logs_the_host_in_on_their_dashboard(client, admin):
    _open(client, _invite(admin))

    response = client.post(
        reverse("accounts:invitation_form"),
        {
            "full_name": "Nia New",
            "time_zone": "Asia/Tokyo",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302 and response["Location"] == reverse("sessions:dashboard")
    user = User.objects.get(email="new@example.test")
    assert int(client.session["_auth_user_id"]) == user.pk and user.time_zone == "Asia/Tokyo"
    assert _text(client.get(reverse("sessions:dashboard"))).count("Welcome to") == 1


def test_accepting_sends_a_scheduler_to_the_scheduling_tab(client, admin):
    _open(client, _invite(admin, role=Membership.Role.SCHEDULER))

    response = client.post(
        reverse("accounts:invitation_form"),
        {"full_name": "Sue", "time_zone": "UTC", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )

    assert response["Location"] == reverse("accounts:scheduling")


@pytest.mark.parametrize(
    ("password", "confirm", "error"),
    [
        ("a-long-fresh-password-42", "another-password-42", "The two passwords differ."),
        ("password", "password", "This password is too common."),
        ("short", "short", "This password is too short."),
    ],
)
def test_a_refused_password_is_said_on_the_form_and_nobody_is_created(
    client, admin, password, confirm, error
):
    _open(client, _invite(admin))

    response = client.post(
        reverse("accounts:invitation_form"),
        {"full_name": "Nia New", "time_zone": "UTC", "password": password, "password_confirm": confirm},
    )

    assert response.status_code == 200 and error in _text(response)
    assert 'value="Nia New"' in response.content.decode()
    assert not User.objects.filter(email="new@example.test").exists()


def _used(admin):
    invitation = _invite(admin, email="used@example.test")
    client = Client()
    _open(client, invitation)
    client.post(
        reverse("accounts:invitation_form"),
        {"full_name": "Used", "time_zone": "UTC", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    return invitation


def _expired(admin):
    invitation = _invite(admin, email="expired@example.test")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return invitation


def _revoked(admin):
    return invitation_revoke(actor=admin, invitation=_invite(admin, email="revoked@example.test"))


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (_used, "already been used"),
        (_expired, "has expired"),
        (_revoked, "was withdrawn"),
        (lambda admin: "not-a-real-token", "not valid"),
    ],
)
def test_a_link_that_no_longer_works_is_a_404_that_says_why_with_no_form(client, admin, make, said):
    response = _open(client, make(admin))

    assert response.status_code == 404 and said in _text(response)
    assert response["Referrer-Policy"] == "no-referrer"
    assert 'name="password"' not in response.content.decode()
    assert "invitation" not in response.cookies or not response.cookies["invitation"].value


def test_the_form_without_the_cookie_is_a_404(client, admin):
    _invite(admin)

    response = client.get(reverse("accounts:invitation_form"))

    assert response.status_code == 404 and "not valid" in _text(response)


def test_an_invitation_revoked_after_the_link_was_opened_cannot_be_completed(client, admin):
    invitation = _invite(admin)
    _open(client, invitation)
    invitation_revoke(actor=admin, invitation=invitation)

    response = client.post(
        reverse("accounts:invitation_form"),
        {"full_name": "Nia", "time_zone": "UTC", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )

    assert response.status_code == 404 and "was withdrawn" in _text(response)
    assert not User.objects.filter(email="new@example.test").exists()


def test_the_accept_form_needs_the_csrf_token(admin):
    client = Client(enforce_csrf_checks=True)
    _open(client, _invite(admin))

    response = client.post(
        reverse("accounts:invitation_form"),
        {"full_name": "Nia", "time_zone": "UTC", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )

    assert response.status_code == 403
    assert not User.objects.filter(email="new@example.test").exists()
