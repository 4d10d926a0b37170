"""The history page and its CSV export: outcomes, filters, local days, paging, scoping and queries."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config import fragments
from config.csv import csv_safe
from sessions_app.models import Session
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _set_zone(user, zone):
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


# History --------------------------------------------------------------------------------------------------


@pytest.fixture
def past_sessions(host):
    """Four ended sessions with each outcome, and one still to come."""
    base = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    held = SessionFactory(host=host, start_at=base, title="Held")
    ParticipantFactory(session=held, name="Ann")
    ParticipantFactory(session=held, name="Bob")
    cancelled = SessionFactory(
        host=host,
        start_at=base + timedelta(days=7),
        title="Called off",
        status=Session.Status.CANCELLED,
        cancel_reason="Host unwell",
    )
    removed = SessionFactory(
        host=host, start_at=base + timedelta(days=14), title="Taken off", status="removed"
    )
    no_show = SessionFactory(host=host, start_at=base + timedelta(days=21), title="Nobody came", no_show=True)
    upcoming = SessionFactory(host=host, start_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC), title="Upcoming")
    return {
        "held": held,
        "cancelled": cancelled,
        "removed": removed,
        "no_show": no_show,
        "upcoming": upcoming,
    }


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_history_lists_past_sessions_with_their_outcome(client, host, past_sessions):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        content = client.get(reverse("sessions:history")).content.decode()
    rows = re.findall(r'<tr data-session-id="(\d+)">.*?outcome-(\w+)', content, re.S)
    expected = ["no_show", "removed", "cancelled", "held"]
    assert rows == [(str(past_sessions[k].pk), k if k != "held" else "completed") for k in expected]
    assert "Upcoming" not in content
    assert "Ann, Bob" in content and "Host unwell" in content
    assert ">No-show<" in content and ">Completed<" in content


def test_history_filters_by_outcome_and_date(client, host, past_sessions):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        cancelled = client.get(reverse("sessions:history"), {"outcome": "cancelled"}).content.decode()
        october_first_half = client.get(
            reverse("sessions:history"), {"start": "2026-10-05", "end": "2026-10-12"}
        ).content.decode()
        completed_later = client.get(
            reverse("sessions:history"), {"start": "2026-10-13", "outcome": "completed"}
        ).content.decode()
    assert "Called off" in cancelled and "Held" not in cancelled and "Nobody came" not in cancelled
    assert "Held" in october_first_half and "Called off" in october_first_half
    assert "Taken off" not in october_first_half
    assert "No past sessions match." in completed_later


def test_history_dates_are_the_viewers_local_days(client, host):
    _set_zone(host, "America/New_York")
    # 02:30 UTC on 6 October is the evening of 5 October in New York.
    SessionFactory(host=host, start_at=datetime(2026, 10, 6, 2, 30, tzinfo=UTC), title="Evening")
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        fifth = client.get(reverse("sessions:history"), {"start": "2026-10-05", "end": "2026-10-05"})
        sixth = client.get(reverse("sessions:history"), {"start": "2026-10-06", "end": "2026-10-06"})
    assert "Evening" in fifth.content.decode() and "22:30" in fifth.content.decode()
    assert "Evening" not in sixth.content.decode()


def test_history_refuses_an_end_before_the_start(client, host, past_sessions):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        content = client.get(reverse("sessions:history"), {"start": "2026-10-12", "end": "2026-10-01"})
    assert "must not be before the start" in content.content.decode()
    assert "Held" not in content.content.decode()


def test_history_is_paginated_and_keeps_the_filters(client, host):
    base = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for index in range(30):
        SessionFactory(host=host, start_at=base + timedelta(days=index), title=f"Old {index:02d}")
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        first = client.get(reverse("sessions:history"), {"outcome": "completed"}).content.decode()
        second = client.get(reverse("sessions:history"), {"outcome": "completed", "page": 2}).content.decode()
    assert first.count("data-session-id=") == 25 and "Old 29" in first
    assert "Page 1 of 2" in first and "?outcome=completed&amp;page=2" in first
    assert second.count("data-session-id=") == 5 and "Old 00" in second


def test_history_shows_only_the_hosts_own_sessions(client, host, other_host, past_sessions):
    SessionFactory(host=other_host, start_at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC), title="Not yours")
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        assert "Not yours" not in client.get(reverse("sessions:history")).content.decode()


def test_history_queries_do_not_grow_with_rows(client, host, django_assert_num_queries):
    client.force_login(host)
    base = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def add(count, offset):
        for index in range(count):
            session = SessionFactory(host=host, start_at=base + timedelta(days=offset + index))
            ParticipantFactory(session=session)
            ParticipantFactory(session=session)

    add(2, 0)
    with time_machine.travel(NOW, tick=False):
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("sessions:history"))
        add(20, 10)
        fragments.store.clear()  # the page rendered again, not served again (tests/test_page_fragments.py)
        with django_assert_num_queries(len(queries)):
            client.get(reverse("sessions:history"))


# History CSV ----------------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_history_csv_has_the_filtered_rows_in_the_viewers_zone(client, host, past_sessions):
    _set_zone(host, "Europe/Paris")
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("sessions:history_csv"), {"start": "2026-10-01", "end": "2026-10-13"})
        rows = _csv(response)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="history-dr-ada-host-2026-11-20.csv"'
    assert rows == [
        ["Date", "Start", "End", "Time zone", "Title", "Host", "Participants", "Outcome", "Cancel reason"],
        [
            "2026-10-12",
            "11:00",
            "11:50",
            "CEST (Europe/Paris)",
            "Called off",
            "Dr Ada Host",
            "",
            "Cancelled",
            "Host unwell",
        ],
        [
            "2026-10-05",
            "11:00",
            "11:50",
            "CEST (Europe/Paris)",
            "Held",
            "Dr Ada Host",
            "Ann; Bob",
            "Completed",
            "",
        ],
    ]


def test_history_csv_filters_by_outcome_like_the_page(client, host, past_sessions):
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        rows = _csv(client.get(reverse("sessions:history_csv"), {"outcome": "no_show"}))
    assert [row[4] for row in rows[1:]] == ["Nobody came"]
    assert rows[1][7] == "No-show"


def test_history_csv_neutralises_cells_that_a_spreadsheet_would_run(client, host):
    session = SessionFactory(
        host=host,
        start_at=datetime(2026, 10, 5, 9, 0, tzinfo=UTC),
        title='=HYPERLINK("http://evil.example","click")',
        status=Session.Status.CANCELLED,
        cancel_reason="+1+cmd|' /C calc'!A0",
    )
    ParticipantFactory(session=session, name="@SUM(1+1)")
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        [_, row] = _csv(client.get(reverse("sessions:history_csv")))
    assert row[4] == '\'=HYPERLINK("http://evil.example","click")'
    assert row[6] == "'@SUM(1+1)"
    assert row[8] == "'+1+cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44", "'+44"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("Ann", "Ann"),
        ("", ""),
    ],
)
def test_csv_safe_prefixes_formula_starts(value, expected):
    assert csv_safe(value) == expected


def test_history_csv_is_scoped_to_the_host(client, host, other_host, past_sessions):
    SessionFactory(host=other_host, start_at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC), title="Not yours")
    client.force_login(host)
    with time_machine.travel(NOW, tick=False):
        rows = _csv(client.get(reverse("sessions:history_csv")))
    assert "Not yours" not in {row[4] for row in rows}
    assert len(rows) == 5


def test_history_csv_with_bad_filters_is_refused(client, host):
    client.force_login(host)
    response = client.get(reverse("sessions:history_csv"), {"start": "2026-13-45"})
    assert response.status_code == 400
