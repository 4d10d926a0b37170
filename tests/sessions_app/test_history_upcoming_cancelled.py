"""Sessions cancelled or removed for a time still ahead are not past sessions: History lists them apart,
above the table, and neither the table, its paging nor the CSV counts them until their start has passed."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from sessions_app.models import Session
from sessions_app.selectors import sessions_called_off_ahead_for, sessions_history_for
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(host):
    return {
        "held": SessionFactory(host=host, start_at=NOW - timedelta(days=3), title="Held last week"),
        "cancelled_past": SessionFactory(
            host=host,
            start_at=NOW - timedelta(days=2),
            title="Called off before",
            status=Session.Status.CANCELLED,
            cancel_reason="Client ill",
        ),
        "cancelled_ahead": SessionFactory(
            host=host,
            start_at=NOW + timedelta(days=4),
            title="Called off ahead",
            status=Session.Status.CANCELLED,
            cancel_reason="Host on leave",
        ),
        "removed_ahead": SessionFactory(
            host=host,
            start_at=NOW + timedelta(days=9),
            title="Taken off ahead",
            status=Session.Status.REMOVED,
        ),
        # Cancelled a few minutes before its start, which has now passed though its end has not.
        "cancelled_just_now": SessionFactory(
            host=host,
            start_at=NOW - timedelta(minutes=10),
            title="Called off at the door",
            status=Session.Status.CANCELLED,
        ),
        "upcoming": SessionFactory(host=host, start_at=NOW + timedelta(days=1), title="Still on"),
    }


def test_a_future_cancelled_session_is_not_a_past_session(host, sessions):
    with time_machine.travel(NOW, tick=False):
        past = list(sessions_history_for(actor=host, host=host))
        ahead = list(sessions_called_off_ahead_for(actor=host, host=host))
    assert past == [sessions["cancelled_just_now"], sessions["cancelled_past"], sessions["held"]]
    assert ahead == [sessions["cancelled_ahead"], sessions["removed_ahead"]]


def test_the_called_off_sessions_ahead_follow_the_outcome_and_date_filters(host, sessions):
    with time_machine.travel(NOW, tick=False):
        removed = list(sessions_called_off_ahead_for(actor=host, host=host, outcome="removed"))
        completed = list(sessions_called_off_ahead_for(actor=host, host=host, outcome="completed"))
        first_week = list(sessions_called_off_ahead_for(actor=host, host=host, end=NOW + timedelta(days=7)))
    assert removed == [sessions["removed_ahead"]]
    assert completed == []
    assert first_week == [sessions["cancelled_ahead"]]


def test_history_page_lists_future_cancelled_sessions_above_the_past_ones(client, host, sessions):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        content = client.get(reverse("sessions:history")).content.decode()
    ahead_html, table_html = content.split('id="history-table"')
    assert "Cancelled or removed, still ahead" in ahead_html
    assert re.findall(r'<li class="py-1" data-session-id="(\d+)"', ahead_html) == [
        str(sessions["cancelled_ahead"].pk),
        str(sessions["removed_ahead"].pk),
    ]
    assert "Host on leave" in ahead_html
    rows = re.findall(r'<tr data-session-id="(\d+)"', table_html)
    assert rows == [str(sessions[k].pk) for k in ("cancelled_just_now", "cancelled_past", "held")]
    assert "Still on" not in content


def test_history_without_called_off_sessions_ahead_has_no_such_section(client, host):
    SessionFactory(host=host, start_at=NOW - timedelta(days=3), title="Held last week")
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        content = client.get(reverse("sessions:history"), {"outcome": "completed"}).content.decode()
    assert "still ahead" not in content and "Held last week" in content


def test_history_csv_holds_only_the_past_sessions(client, host, sessions):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("sessions:history_csv"), {"outcome": "cancelled"})
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    titles = [row[4] for row in list(csv.reader(io.StringIO(body)))[1:]]
    assert titles == ["Called off at the door", "Called off before"]


def test_a_cancelled_session_joins_the_past_once_its_start_has_passed(client, host, sessions):
    client.force_login(host)
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        content = client.get(reverse("sessions:history"), {"outcome": "cancelled"}).content.decode()
    assert "still ahead" not in content
    table_html = content.split('id="history-table"')[1]
    assert f'<tr data-session-id="{sessions["cancelled_ahead"].pk}"' in table_html
