"""A page's rows are served again while every row they read is unchanged (config/fragments.py), and never
once one has changed, whoever changed it and however; the clock's part is bounded by the page's moments and
PAGE_FRAGMENT_MAX_AGE."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config import fragments
from notifications.models import Notification
from sessions_app.models import CONNECT_LEAD, Participant, Room, Session
from tests.factories import SessionFactory, sessions_with_invites

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# A masked CSRF token, in a form or in htmx's headers: new in every response.
MASKED_TOKEN = re.compile(r"\b[A-Za-z0-9]{64}\b")


def _sessions(host, count, *, first=0, start=NOW + timedelta(hours=2)):
    return sessions_with_invites(host, count, start=start, first=first, status="pending")


def _get(client, url, **params) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def _without_tokens(html: str) -> str:
    return MASKED_TOKEN.sub("", html)


PAGES = [
    ("dashboard", lambda session: (reverse("sessions:dashboard"), {})),
    ("session page", lambda session: (reverse("sessions:detail", kwargs={"pk": session.pk}), {})),
    ("calendar", lambda session: (reverse("sessions:calendar"), {"date": "2026-11-23"})),
    ("history", lambda session: (reverse("sessions:history"), {})),
]


@pytest.mark.parametrize(("page", "address"), PAGES, ids=[page for page, _ in PAGES])
def test_a_page_loaded_again_unchanged_is_served_with_one_query_for_its_rows(client, host, page, address):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        session = _sessions(host, 3)[0]
        url, params = address(session)
        first, rendered = _get(client, url, **params)
        again, served = _get(client, url, **params)
        _sessions(host, 20, first=3, start=NOW + timedelta(days=1))
        fragments.store.clear()
        _get(client, url, **params)
        more_again, more_served = _get(client, url, **params)
    assert _without_tokens(again) == _without_tokens(first)
    assert served < rendered
    # The rows' queries ran again as one digest; the rest is what every logged-in page asks.
    assert more_served == served


def test_a_change_to_any_row_the_dashboard_read_shows_at_once(client, host):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        session = _sessions(host, 2)[0]
        url = reverse("sessions:dashboard")
        assert "Invite sending" in _get(client, url)[0]
        # Bulk updates, as a worker or the admin writes them: no model signal fires.
        Session.objects.filter(pk=session.pk).update(title="Renamed without a signal")
        assert "Renamed without a signal" in _get(client, url)[0]
        Notification.objects.filter(session=session).update(status="sent")
        page = _get(client, url)[0]
        assert page.count("Invite sent") == 3 and page.count("Invite sending") == 3
        room = Room.objects.create(organization=host.organization, name="Room Blue")
        Session.objects.filter(pk=session.pk).update(room=room)
        assert "Room: Room Blue" in _get(client, url)[0]
        Room.objects.filter(pk=room.pk).update(name="Room Green")
        assert "Room: Room Green" in _get(client, url)[0]
        Participant.objects.filter(session=session).update(name="Ada Lovelace")
        assert _get(client, url)[0].count("Ada Lovelace") >= 3
        Participant.objects.filter(session=session).delete()
        assert "Ada Lovelace" not in _get(client, url)[0]


def test_the_connect_button_appears_when_it_opens_though_nothing_changed(client, host, settings):
    settings.PAGE_FRAGMENT_MAX_AGE = 60
    client.force_login(host)
    session = _sessions(host, 1, start=NOW + CONNECT_LEAD + timedelta(seconds=3))[0]
    url = reverse("sessions:dashboard")
    with time_machine.travel(NOW, tick=False):
        assert "Connect opens" in _get(client, url)[0]
    with time_machine.travel(NOW + timedelta(seconds=4), tick=False):
        page = _get(client, url)[0]
    assert "Connect opens" not in page
    assert f'action="{reverse("sessions:connect", kwargs={"pk": session.pk})}' in page


def test_the_clocks_part_is_at_most_the_max_age_old(client, host, settings):
    settings.PAGE_FRAGMENT_MAX_AGE = 10
    client.force_login(host)
    # Open to its participants already, and no moment of its own before the start in 4 minutes.
    session = _sessions(host, 1, start=NOW + timedelta(minutes=4))[0]
    Participant.objects.filter(session=session).update(waiting_since=NOW - timedelta(seconds=30))
    url = reverse("sessions:dashboard")
    with time_machine.travel(NOW, tick=False):
        assert "waiting less than a minute" in _get(client, url)[0]
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        assert "waiting less than a minute" in _get(client, url)[0]
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert "waiting 2 min" in _get(client, url)[0]


def test_a_page_served_again_carries_this_browsers_own_csrf_token(host):
    session = _sessions(host, 1, start=NOW + timedelta(minutes=10))[0]
    url = reverse("sessions:detail", kwargs={"pk": session.pk})
    connect = reverse("sessions:connect", kwargs={"pk": session.pk})
    connect_token = re.compile(
        rf'action="{connect}">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"'
    )
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    with time_machine.travel(NOW, tick=False):
        for browser in (first, second):
            browser.force_login(host)
        _get(first, url)
        page, _ = _get(second, url)
        assert fragments.CSRF_PLACEHOLDER not in page
        response = second.post(connect, {"csrfmiddlewaretoken": connect_token.search(page).group(1)})
    assert response.status_code == 302


def test_another_viewer_gets_the_page_drawn_for_them(client, host, scheduler):
    _sessions(host, 1, start=NOW + timedelta(minutes=10))
    url = reverse("sessions:dashboard")
    with time_machine.travel(NOW, tick=False):
        client.force_login(host)
        assert ">Connect<" in _get(client, url)[0]
        client.force_login(scheduler)
        client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
        page = _get(client, url)[0]
    assert "Session 0" in page and ">Connect<" not in page


def test_no_page_is_kept_with_a_max_age_of_zero(client, host, settings):
    settings.PAGE_FRAGMENT_MAX_AGE = 0
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        _sessions(host, 2)
        rendered = _get(client, reverse("sessions:dashboard"))[1]
        assert _get(client, reverse("sessions:dashboard"))[1] == rendered
    assert len(fragments.store._entries) == 0


@pytest.fixture
def fragment_request(host, settings):
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [("django.template.loaders.locmem.Loader", {"titles.html": "{{ titles }}"})]
            },
        }
    ]
    request = RequestFactory().get("/titles/")
    request.user = host
    return request


def test_a_fragment_whose_rendering_writes_is_not_kept(fragment_request, host):
    session = SessionFactory(host=host)

    def load():
        Session.objects.filter(pk=session.pk).update(title="Written while rendering")
        return {"titles": list(Session.objects.values_list("title", flat=True))}

    fragments.page_fragment(fragment_request, name="titles", template="titles.html", load=load)
    assert len(fragments.store._entries) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the snapshot is PostgreSQL's REPEATABLE READ")
@pytest.mark.django_db(transaction=True)
def test_a_change_committed_while_a_fragment_renders_is_shown_next_time(fragment_request, host):
    session = SessionFactory(host=host, title="Before")

    def rename() -> None:
        Session.objects.filter(pk=session.pk).update(title="Committed meanwhile")
        connections.close_all()

    def load():
        titles = list(Session.objects.filter(pk=session.pk).values_list("title", flat=True))
        other = threading.Thread(target=rename)
        other.start()
        other.join()
        return {"titles": titles}

    first = fragments.page_fragment(fragment_request, name="titles", template="titles.html", load=load)
    again = fragments.page_fragment(fragment_request, name="titles", template="titles.html", load=load)
    assert "Before" in first
    assert "Committed meanwhile" in again


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_on_postgresql_a_page_served_again_is_planned_once_per_connection(client, host):
    client.force_login(host)
    url = reverse("sessions:dashboard")
    with time_machine.travel(NOW, tick=False):
        _sessions(host, 2)
        statements = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            statements.append([q["sql"].split(None, 1)[0] for q in queries if "page_fragment_" in q["sql"]])
    # Rendered (and its digest prepared), then served twice.
    assert statements == [["PREPARE", "EXECUTE"], ["EXECUTE"], ["EXECUTE"]]
