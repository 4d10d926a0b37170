from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import ACTING_FOR_SESSION_KEY
from sessions_app.models import Session
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

SESSION_VIEWS = [
    ("get", "sessions:detail"),
    ("post", "sessions:detail"),
    ("post", "sessions:connect"),
    ("get", "sessions:connect"),
    ("get", "sessions:video_room"),
]


@pytest.fixture
def colleague_session(other_host):
    session = SessionFactory(host=other_host, start_at=timezone.now() + timedelta(minutes=2))
    ParticipantFactory(session=session, name="Colleague's client")
    return session


@pytest.mark.parametrize(("verb", "name"), SESSION_VIEWS)
def test_host_gets_404_on_a_colleagues_session_for_every_view_and_verb(
    client, host, colleague_session, verb, name
):
    client.force_login(host)
    response = getattr(client, verb)(reverse(name, kwargs={"pk": colleague_session.pk}))
    assert response.status_code == 404
    colleague_session.refresh_from_db()
    assert colleague_session.status == Session.Status.SCHEDULED


def test_host_dashboard_lists_only_their_own_sessions(client, host, colleague_session):
    mine = SessionFactory(host=host, title="Mine")
    client.force_login(host)
    content = client.get(reverse("sessions:dashboard")).content.decode()
    assert "Mine" in content and mine.title in content
    assert "Colleague&#x27;s client" not in content and "Colleague's client" not in content


@pytest.mark.parametrize(("verb", "name"), SESSION_VIEWS)
def test_scheduler_of_another_organisation_gets_404(
    client, outsider_scheduler, colleague_session, verb, name
):
    client.force_login(outsider_scheduler)
    assert getattr(client, verb)(reverse(name, kwargs={"pk": colleague_session.pk})).status_code == 404


def test_scheduler_of_another_organisation_cannot_act_for_a_host(client, outsider_scheduler, host):
    client.force_login(outsider_scheduler)
    assert client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk})).status_code == 404
    assert ACTING_FOR_SESSION_KEY not in client.session


def test_scheduler_acting_for_a_foreign_host_through_a_forged_session_value_sees_nothing(
    client, outsider_scheduler, host
):
    client.force_login(outsider_scheduler)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = host.pk
    session.save()
    response = client.get(reverse("sessions:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:scheduling")
    assert client.get(reverse("sessions:schedule")).status_code == 302


def test_scheduler_sees_the_host_sessions_but_never_a_connect_button(client, scheduler, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=2))
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    dashboard = client.get(reverse("sessions:dashboard")).content.decode()
    detail = client.get(reverse("sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert session.title in dashboard
    assert f"Acting for <strong>{host.full_name}</strong>" in dashboard
    for page in (dashboard, detail):
        assert reverse("sessions:connect", kwargs={"pk": session.pk}) not in page
        assert ">Connect<" not in page


def test_scheduler_cannot_connect_even_by_posting(client, scheduler, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=2))
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    assert client.post(reverse("sessions:connect", kwargs={"pk": session.pk})).status_code == 404
    assert client.get(reverse("sessions:video_room", kwargs={"pk": session.pk})).status_code == 404
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED and session.host_connected_at is None


def test_host_connects_and_the_session_goes_live(client, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=2))
    client.force_login(host)
    response = client.post(reverse("sessions:connect", kwargs={"pk": session.pk}))
    assert response["Location"] == reverse("sessions:video_room", kwargs={"pk": session.pk})
    room = client.get(response["Location"])
    assert session.video_room_name in room.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.LIVE and session.host_connected_at is not None


def test_host_cannot_connect_a_day_early(client, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1))
    client.force_login(host)
    response = client.post(reverse("sessions:connect", kwargs={"pk": session.pk}), follow=True)
    assert "15 minutes before the start" in response.content.decode()
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_hosts_have_no_scheduling_tab(client, host):
    client.force_login(host)
    assert client.get(reverse("accounts:scheduling")).status_code == 404
    assert client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk})).status_code == 404


@pytest.mark.parametrize(
    ("verb", "url"),
    [
        ("get", "/"),
        ("get", "/sessions/new/"),
        ("post", "/sessions/new/"),
        ("get", "/sessions/1/"),
        ("post", "/sessions/1/connect/"),
        ("get", "/sessions/1/video-room/"),
        ("get", "/scheduling/"),
        ("post", "/scheduling/act-for/1/"),
    ],
)
def test_anonymous_users_are_sent_to_log_in(client, verb, url):
    response = getattr(client, verb)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_schedule_form_post_requires_csrf(host):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(host)
    assert client.post(reverse("sessions:schedule"), {}).status_code == 403
