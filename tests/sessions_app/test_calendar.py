"""The calendar page: week and month views in the viewer's zone, blocks, working hours and queries."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.middleware import ACTING_FOR_SESSION_KEY
from config import fragments
from sessions_app.models import Session, WorkingHours
from sessions_app.services import blocked_slot_add, working_hours_add
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

MONDAY, TUESDAY = WorkingHours.Weekday.MONDAY, WorkingHours.Weekday.TUESDAY


def _act_for(client, scheduler, host):
    client.force_login(scheduler)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = host.pk
    session.save()


def _set_zone(user, zone):
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


def _day_column(content: str, day: str) -> str:
    """The HTML of one day of the calendar (week column or month cell), up to the next day."""
    start = content.index(f'data-date="{day}"')
    following = content.find("data-date=", start + 1)
    return content[start : following if following != -1 else len(content)]


# Calendar -------------------------------------------------------------------------------------------------


@pytest.fixture
def late_call(host):
    # 02:30 UTC on Wednesday 2 December is 21:30 on Tuesday 1 December in New York.
    session = SessionFactory(host=host, start_at=datetime(2026, 12, 2, 2, 30, tzinfo=UTC), title="Late call")
    ParticipantFactory(session=session, name="Maria")
    return session


def test_calendar_week_shows_the_session_in_the_viewers_zone_on_the_right_day(client, host, late_call):
    _set_zone(host, "America/New_York")
    client.force_login(host)
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False):
        response = client.get(reverse("sessions:calendar"), {"view": "week", "date": "2026-12-02"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "30 Nov – 6 Dec 2026" in content
    tuesday = _day_column(content, "2026-12-01")
    assert "Late call" in tuesday and "21:30–22:20" in tuesday
    assert reverse("sessions:detail", kwargs={"pk": late_call.pk}) in tuesday
    assert "Late call" not in _day_column(content, "2026-12-02")
    assert "Times in America/New_York" in content


def test_calendar_month_shows_the_session_in_the_viewers_zone_on_the_right_day(client, host, late_call):
    _set_zone(host, "America/New_York")
    client.force_login(host)
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False):
        response = client.get(reverse("sessions:calendar"), {"view": "month", "date": "2026-12-15"})
    content = response.content.decode()
    assert "December 2026" in content
    assert "Late call" in _day_column(content, "2026-12-01")
    assert "21:30" in _day_column(content, "2026-12-01")
    assert "Late call" not in _day_column(content, "2026-12-02")
    # The grid starts on the Monday before the 1st.
    assert 'data-date="2026-11-30"' in content and 'data-date="2026-11-29"' not in content


def test_the_same_session_lands_on_the_next_day_for_a_viewer_in_europe(client, host, scheduler, late_call):
    _set_zone(scheduler, "Europe/Paris")
    _act_for(client, scheduler, host)
    response = client.get(reverse("sessions:calendar"), {"view": "week", "date": "2026-12-02"})
    content = response.content.decode()
    # A scheduler sees the calendar of the host they act for, in their own zone: 03:30 in Paris.
    assert "03:30–04:20" in _day_column(content, "2026-12-02")
    assert "Late call" not in _day_column(content, "2026-12-01")


def test_calendar_navigation_moves_by_week_and_by_month(client, host):
    client.force_login(host)
    week = client.get(reverse("sessions:calendar"), {"view": "week", "date": "2026-11-25"}).content.decode()
    assert "?view=week&amp;date=2026-11-16" in week
    assert "?view=week&amp;date=2026-11-30" in week
    assert "?view=month&amp;date=2026-11-25" in week
    month = client.get(reverse("sessions:calendar"), {"view": "month", "date": "2026-01-31"}).content.decode()
    assert "?view=month&amp;date=2025-12-01" in month
    assert "?view=month&amp;date=2026-02-01" in month


def test_calendar_falls_back_to_this_week_on_a_bad_date(client, host):
    client.force_login(host)
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        response = client.get(reverse("sessions:calendar"), {"view": "year", "date": "not-a-date"})
    assert response.status_code == 200
    assert "23 Nov – 29 Nov 2026" in response.content.decode()


def test_calendar_strikes_through_cancelled_sessions_and_leaves_out_removed_ones(client, host):
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    SessionFactory(host=host, start_at=start, title="Went ahead")
    SessionFactory(host=host, start_at=start + timedelta(hours=2), title="Called off", status="cancelled")
    SessionFactory(host=host, start_at=start + timedelta(hours=4), title="Taken off", status="removed")
    client.force_login(host)
    content = client.get(reverse("sessions:calendar"), {"date": "2026-11-24"}).content.decode()
    day = _day_column(content, "2026-11-24")
    assert "Went ahead" in day
    assert re.search(
        r'class="calendar-session is-cancelled"[^>]*>\s*<span[^>]*>[^<]*</span>\s*'
        r'<span class="calendar-session-title">Called off',
        day,
    )
    assert "Taken off" not in content


def test_calendar_week_shows_blocks_and_shades_outside_working_hours(client, host):
    working_hours_add(actor=host, host=host, weekday=TUESDAY, start_time=time(9), end_time=time(17))
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        blocked_slot_add(
            actor=host,
            host=host,
            start_at=datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
            end_at=datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
            note="Supervision",
        )
    client.force_login(host)  # Europe/London: UTC in November
    content = client.get(reverse("sessions:calendar"), {"date": "2026-11-24"}).content.decode()
    tuesday = _day_column(content, "2026-11-24")
    # 07:00–20:00 is shown, so 09:00–17:00 starts 2/13 of the way down and lasts 8/13 of it.
    assert 'class="calendar-working" style="top: 15.3846%; height: 61.5385%"' in tuesday
    assert "calendar-working" not in _day_column(content, "2026-11-25")
    thursday = _day_column(content, "2026-11-26")
    assert "Blocked · Supervision" in thursday
    assert "has-working-hours" in thursday


def test_sessions_at_the_same_time_share_the_days_width(client, host):
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    SessionFactory(host=host, start_at=start, title="Called off", status=Session.Status.CANCELLED)
    SessionFactory(host=host, start_at=start, title="Booked instead")
    SessionFactory(host=host, start_at=start + timedelta(hours=3), title="Alone")
    client.force_login(host)
    day = _day_column(
        client.get(reverse("sessions:calendar"), {"date": "2026-11-24"}).content.decode(), "2026-11-24"
    )
    assert re.findall(r"left: ([\d.]+)%; width: ([\d.]+)%", day) == [
        ("0.0000", "50.0000"),
        ("50.0000", "50.0000"),
        ("0.0000", "100.0000"),
    ]


def test_calendar_keeps_wall_clock_times_across_a_daylight_saving_change(client, host):
    # Europe/London leaves summer time on Sunday 25 October 2026.
    SessionFactory(host=host, start_at=datetime(2026, 10, 23, 9, 0, tzinfo=UTC), title="Before")  # 10:00 BST
    SessionFactory(host=host, start_at=datetime(2026, 10, 26, 10, 0, tzinfo=UTC), title="After")  # 10:00 GMT
    client.force_login(host)
    week = client.get(reverse("sessions:calendar"), {"date": "2026-10-22"}).content.decode()
    assert "10:00–10:50" in _day_column(week, "2026-10-23")
    month = client.get(reverse("sessions:calendar"), {"view": "month", "date": "2026-10-01"}).content.decode()
    assert "10:00" in _day_column(month, "2026-10-23") and "10:00" in _day_column(month, "2026-10-26")


def test_working_hours_follow_the_hosts_zone_when_the_viewers_clocks_change_first(client, host, scheduler):
    # New York leaves summer time a week after London: on Monday 26 October 2026 09:00–17:00 in New York is
    # 13:00–21:00 in London, on Monday 2 November it is 14:00–22:00.
    _set_zone(host, "America/New_York")
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(17))
    _act_for(client, scheduler, host)
    first = client.get(reverse("sessions:calendar"), {"date": "2026-10-26"}).content.decode()
    second = client.get(reverse("sessions:calendar"), {"date": "2026-11-02"}).content.decode()
    # The grid grows to 07:00–21:00 (14 hours), then to 07:00–22:00 (15 hours).
    assert 'style="top: 42.8571%; height: 57.1429%"' in _day_column(first, "2026-10-26")
    assert 'style="top: 46.6667%; height: 53.3333%"' in _day_column(second, "2026-11-02")
    label = '<div class="calendar-hour-label">{}</div>'.format
    assert label("20:00") in first and label("21:00") not in first
    assert label("21:00") in second and label("22:00") not in second


def test_calendar_queries_do_not_grow_with_sessions(client, host, django_assert_num_queries):
    client.force_login(host)
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def add(first, count):
        for index in range(first, first + count):
            start = monday + timedelta(days=index % 7, hours=index // 7)
            session = SessionFactory(host=host, start_at=start)
            ParticipantFactory(session=session)

    add(0, 2)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("sessions:calendar"), {"date": "2026-11-23"})
    add(2, 30)
    fragments.store.clear()  # the page rendered again, not served again (tests/test_page_fragments.py)
    with django_assert_num_queries(len(queries)):
        response = client.get(reverse("sessions:calendar"), {"date": "2026-11-23"})
    assert response.content.decode().count("data-session-id=") == 32
