"""The dashboard's Manage menu: each row carries only the button, and the menu's items are fetched when it
opens (sessions:manage_menu), as the session is at that moment (docs/benchmarks.md, Pages)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Session
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _menu_url(session) -> str:
    return reverse("sessions:manage_menu", kwargs={"pk": session.pk})


def _session(host, *, start: timedelta = timedelta(days=1), title: str = "Review") -> Session:
    session = SessionFactory(host=host, start_at=timezone.now() + start, title=title)
    ParticipantFactory(session=session)
    return session


def _actions(html: str) -> dict[str, str]:
    """Each item's action name and its address ("" for one shown but not usable now), in menu order."""
    items = {}
    for item in re.findall(r'<(?:a|span) class="dropdown-item[ "][^>]*>', html):
        name = re.search(r'data-action="([a-z_]+)"', item)[1]
        href = re.search(r'href="([^"]+)"', item)
        items[name] = href[1] if href else ""
    return items


def test_the_dashboard_row_carries_the_button_that_fetches_the_menu_and_not_the_items(client, host):
    session = _session(host)
    client.force_login(host)

    page = client.get(reverse("sessions:dashboard")).content.decode()

    assert f'hx-get="{_menu_url(session)}" hx-trigger="show.bs.dropdown"' in page
    assert 'data-action="reschedule"' not in page


def test_the_menu_of_an_upcoming_session_offers_its_actions_with_their_addresses(client, host):
    session = _session(host)
    client.force_login(host)

    response = client.get(_menu_url(session))

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    actions = _actions(response.content.decode())
    assert list(actions) == ["reschedule", "change_end", "schedule_next", "reassign", "cancel"]
    for name, url in actions.items():
        assert url == reverse(f"sessions:{name}", kwargs={"pk": session.pk})


def test_the_menu_says_why_an_action_cannot_be_used_while_the_host_is_connected(client, host):
    session = _session(host, start=-timedelta(minutes=5))
    Session.objects.filter(pk=session.pk).update(status=Session.Status.LIVE, host_connected_at=timezone.now())
    client.force_login(host)

    html = client.get(_menu_url(session)).content.decode()

    assert _actions(html)["reschedule"] == ""
    assert "Not while the host is connected to the session." in html
    assert _actions(html)["no_show"] == reverse("sessions:no_show", kwargs={"pk": session.pk})


def test_the_menu_of_a_closed_session_says_nothing_is_left_to_manage(client, host):
    session = _session(host, start=timedelta(hours=3))
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED, cancelled_at=timezone.now())
    client.force_login(host)

    html = client.get(_menu_url(session)).content.decode()

    assert _actions(html) == {}
    assert "Nothing to manage: this session is closed." in html


def test_a_scheduler_acting_for_the_host_gets_the_menu(client, host, scheduler):
    session = _session(host)
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))

    assert "reassign" in _actions(client.get(_menu_url(session)).content.decode())


def test_the_menu_is_only_read(client, host):
    session = _session(host)
    client.force_login(host)

    assert client.post(_menu_url(session)).status_code == 405


def test_the_menu_costs_the_same_few_queries_for_any_session(client, host):
    few = _session(host, title="Few")
    many = _session(host, start=timedelta(days=2), title="Many")
    for _ in range(9):
        ParticipantFactory(session=many)
    client.force_login(host)
    client.get(_menu_url(few))

    with CaptureQueriesContext(connection) as first:
        client.get(_menu_url(few))
    with CaptureQueriesContext(connection) as second:
        client.get(_menu_url(many))

    assert len(second) == len(first) <= 8
