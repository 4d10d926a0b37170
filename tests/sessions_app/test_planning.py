"""Availability (working hours and blocked slots), the calendar and the history, through their services and
through HTTP like a host or a scheduler would use them."""

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import ACTING_FOR_SESSION_KEY
from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from sessions_app.models import BlockedSlot, Session, WorkingHours
from sessions_app.services import (
    blocked_slot_add,
    blocked_slot_remove,
    working_hours_add,
    working_hours_remove,
)
from sessions_app.views.history import csv_safe
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


# Working hours: services -----------------------------------------------------------------------------------


def test_working_hours_add_records_audit_with_actor_and_host(scheduler, host):
    hours = working_hours_add(
        actor=scheduler, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12)
    )
    assert (hours.host, hours.weekday, hours.start_time, hours.end_time) == (host, 0, time(9), time(12))
    event = AuditEvent.objects.get(action="working_hours.add")
    assert (event.actor, event.acting_for, event.object_id) == (scheduler, host, str(hours.pk))
    assert event.organization == host.organization
    assert event.details == {"weekday": 0, "start_time": "09:00", "end_time": "12:00"}


def test_working_hours_end_must_be_after_start(host):
    with pytest.raises(ValidationFailedError, match="must be after the start"):
        working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(12), end_time=time(12))
    assert not WorkingHours.objects.exists()
    assert not AuditEvent.objects.exists()


def test_overlapping_working_hours_on_a_weekday_are_refused_but_touching_and_other_days_are_not(host):
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    with pytest.raises(ValidationFailedError, match="overlaps the Monday hours 09:00–12:00"):
        working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(11), end_time=time(14))
    with pytest.raises(ValidationFailedError, match="overlaps"):
        working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(8), end_time=time(17))
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(12), end_time=time(17))
    working_hours_add(actor=host, host=host, weekday=TUESDAY, start_time=time(10), end_time=time(11))
    ranges = WorkingHours.objects.filter(host=host).values_list("weekday", "start_time", "end_time")
    assert list(ranges) == [(0, time(9), time(12)), (0, time(12), time(17)), (1, time(10), time(11))]


def test_working_hours_of_one_host_do_not_clash_with_a_colleagues(host, other_host):
    working_hours_add(
        actor=other_host, host=other_host, weekday=MONDAY, start_time=time(9), end_time=time(17)
    )
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(17))
    assert WorkingHours.objects.count() == 2


def test_working_hours_remove_is_audited(scheduler, host):
    hours = working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    pk = hours.pk
    working_hours_remove(actor=scheduler, hours=hours)
    assert not WorkingHours.objects.exists()
    event = AuditEvent.objects.get(action="working_hours.remove")
    assert (event.actor, event.acting_for, event.object_id) == (scheduler, host, str(pk))


def test_scheduler_of_another_organisation_cannot_change_a_hosts_availability(outsider_scheduler, host):
    with pytest.raises(PermissionDeniedError):
        working_hours_add(
            actor=outsider_scheduler, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12)
        )
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(PermissionDeniedError):
        blocked_slot_add(
            actor=outsider_scheduler, host=host, start_at=start, end_at=start + timedelta(hours=1)
        )
    hours = working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    slot = blocked_slot_add(actor=host, host=host, start_at=start, end_at=start + timedelta(hours=1))
    with pytest.raises(PermissionDeniedError):
        working_hours_remove(actor=outsider_scheduler, hours=hours)
    with pytest.raises(PermissionDeniedError):
        blocked_slot_remove(actor=outsider_scheduler, slot=slot)
    assert WorkingHours.objects.count() == 1 and BlockedSlot.objects.count() == 1


def test_a_host_cannot_change_a_colleagues_availability(host, other_host):
    with pytest.raises(PermissionDeniedError):
        working_hours_add(actor=host, host=other_host, weekday=MONDAY, start_time=time(9), end_time=time(12))


# Blocked slots: services -----------------------------------------------------------------------------------


def test_blocked_slot_add_and_remove_are_audited_with_actor_and_host(scheduler, host):
    start = timezone.now() + timedelta(days=2)
    slot = blocked_slot_add(
        actor=scheduler, host=host, start_at=start, end_at=start + timedelta(hours=3), note="  Conference "
    )
    assert (slot.host, slot.note) == (host, "Conference")
    added = AuditEvent.objects.get(action="blocked_slot.add")
    assert (added.actor, added.acting_for, added.object_id) == (scheduler, host, str(slot.pk))
    assert added.details["note"] == "Conference"

    pk = slot.pk
    blocked_slot_remove(actor=host, slot=slot)
    assert not BlockedSlot.objects.exists()
    removed = AuditEvent.objects.get(action="blocked_slot.remove")
    assert (removed.actor, removed.acting_for, removed.object_id) == (host, host, str(pk))


def test_blocked_slot_must_end_after_it_starts_and_not_be_over(host):
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationFailedError, match="end must be after the start"):
        blocked_slot_add(actor=host, host=host, start_at=start, end_at=start)
    with pytest.raises(ValidationFailedError, match="already passed"):
        blocked_slot_add(
            actor=host, host=host, start_at=start - timedelta(days=3), end_at=start - timedelta(days=2)
        )
    assert not BlockedSlot.objects.exists()


def test_overlapping_blocked_slot_is_refused(host):
    start = timezone.now() + timedelta(days=1)
    blocked_slot_add(actor=host, host=host, start_at=start, end_at=start + timedelta(hours=2))
    with pytest.raises(ValidationFailedError, match="already blocked"):
        blocked_slot_add(
            actor=host, host=host, start_at=start + timedelta(hours=1), end_at=start + timedelta(hours=3)
        )
    blocked_slot_add(
        actor=host, host=host, start_at=start + timedelta(hours=2), end_at=start + timedelta(hours=3)
    )
    assert BlockedSlot.objects.count() == 2


# Working hours page ---------------------------------------------------------------------------------------


def test_host_adds_and_removes_working_hours_on_the_working_hours(client, host):
    client.force_login(host)
    response = client.post(
        reverse("sessions:working_hours_add"),
        {"hours-weekday": "2", "hours-start_time": "09:00", "hours-end_time": "13:30"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("sessions:working_hours")
    hours = WorkingHours.objects.get(host=host)
    assert (hours.weekday, hours.start_time, hours.end_time) == (2, time(9), time(13, 30))
    page = client.get(reverse("sessions:working_hours")).content.decode()
    assert re.search(r'data-weekday="Wednesday">.*?09:00–13:30', page, re.S)

    response = client.post(reverse("sessions:working_hours_remove", kwargs={"pk": hours.pk}))
    assert response.status_code == 302
    assert not WorkingHours.objects.exists()
    assert AuditEvent.objects.filter(action="working_hours.remove", actor=host).exists()


def test_overlapping_hours_through_the_page_show_the_reason_and_keep_the_input(client, host):
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    client.force_login(host)
    response = client.post(
        reverse("sessions:working_hours_add"),
        {"hours-weekday": "0", "hours-start_time": "11:00", "hours-end_time": "15:00"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "overlaps the Monday hours 09:00–12:00" in content
    assert 'value="11:00"' in content and 'value="15:00"' in content
    assert WorkingHours.objects.count() == 1


def test_scheduler_acting_for_a_host_blocks_a_time_typed_in_the_hosts_zone(client, scheduler, host):
    _set_zone(host, "America/New_York")
    _set_zone(scheduler, "Europe/Berlin")
    _act_for(client, scheduler, host)
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        response = client.post(
            reverse("sessions:blocked_slot_add"),
            {
                "block-start_date": "2026-11-26",
                "block-start_time": "08:00",
                "block-end_date": "2026-11-27",
                "block-end_time": "18:00",
                "block-note": "Thanksgiving",
            },
        )
        assert response.status_code == 302
        slot = BlockedSlot.objects.get(host=host)
        # 08:00 EST is 13:00 UTC.
        assert slot.start_at == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
        assert slot.end_at == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
        event = AuditEvent.objects.get(action="blocked_slot.add")
        assert (event.actor, event.acting_for) == (scheduler, host)
        page = client.get(reverse("sessions:working_hours")).content.decode()
    # Listed in the host's zone, not the scheduler's.
    assert "Thu 26 Nov 2026, 08:00 – Fri 27 Nov 2026, 18:00" in page
    assert "Thanksgiving" in page
    assert "Times in America/New_York" in page

    response = client.post(reverse("sessions:blocked_slot_delete", kwargs={"pk": slot.pk}))
    assert response.status_code == 302
    assert not BlockedSlot.objects.exists()


def test_block_with_end_before_start_keeps_the_input(client, host):
    client.force_login(host)
    response = client.post(
        reverse("sessions:blocked_slot_add"),
        {
            "block-start_date": "2030-01-10",
            "block-start_time": "15:00",
            "block-end_date": "2030-01-10",
            "block-end_time": "14:00",
            "block-note": "Dentist",
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "The end must be after the start." in content
    assert 'value="Dentist"' in content and 'value="2030-01-10"' in content
    assert not BlockedSlot.objects.exists()


def test_a_block_starting_at_a_time_the_clocks_skip_is_refused(client, host):
    client.force_login(host)
    response = client.post(
        reverse("sessions:blocked_slot_add"),
        {
            "block-start_date": "2030-03-31",
            "block-start_time": "01:30",
            "block-end_date": "2030-03-31",
            "block-end_time": "05:00",
        },
    )
    assert response.status_code == 200
    assert "01:30 does not exist on 31 March 2030 in Europe/London" in response.content.decode()
    assert not BlockedSlot.objects.exists()


def test_a_block_that_overlaps_another_shows_the_services_reason(client, host):
    start = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    blocked_slot_add(actor=host, host=host, start_at=start, end_at=start + timedelta(hours=4))
    client.force_login(host)
    response = client.post(
        reverse("sessions:blocked_slot_add"),
        {
            "block-start_date": "2030-01-10",
            "block-start_time": "10:00",
            "block-end_date": "2030-01-10",
            "block-end_time": "11:00",
        },
    )
    assert response.status_code == 200
    assert "overlaps a time that is already blocked" in response.content.decode()
    assert BlockedSlot.objects.count() == 1


@pytest.mark.parametrize("verb", ["get", "post"])
def test_a_host_cannot_touch_a_colleagues_blocks_or_hours(client, host, other_host, verb):
    start = timezone.now() + timedelta(days=1)
    slot = blocked_slot_add(
        actor=other_host, host=other_host, start_at=start, end_at=start + timedelta(hours=1)
    )
    hours = working_hours_add(
        actor=other_host, host=other_host, weekday=MONDAY, start_time=time(9), end_time=time(12)
    )
    client.force_login(host)
    call = getattr(client, verb)
    assert call(reverse("sessions:blocked_slot_delete", kwargs={"pk": slot.pk})).status_code == 404
    assert call(reverse("sessions:working_hours_remove", kwargs={"pk": hours.pk})).status_code == 404
    assert BlockedSlot.objects.filter(pk=slot.pk).exists()
    assert WorkingHours.objects.filter(pk=hours.pk).exists()
    assert "Colleague" not in client.get(reverse("sessions:working_hours")).content.decode()


def test_a_scheduler_acting_for_one_host_cannot_delete_another_hosts_block(
    client, scheduler, host, other_host
):
    start = timezone.now() + timedelta(days=1)
    slot = blocked_slot_add(
        actor=other_host, host=other_host, start_at=start, end_at=start + timedelta(hours=1)
    )
    _act_for(client, scheduler, host)
    assert client.post(reverse("sessions:blocked_slot_delete", kwargs={"pk": slot.pk})).status_code == 404
    assert BlockedSlot.objects.filter(pk=slot.pk).exists()


def test_the_working_hourss_only_take_the_right_verb(client, host):
    client.force_login(host)
    assert client.post(reverse("sessions:working_hours")).status_code == 405
    assert client.get(reverse("sessions:working_hours_add")).status_code == 405
    assert client.get(reverse("sessions:blocked_slot_add")).status_code == 405


@pytest.mark.parametrize(
    "name", ["sessions:working_hours", "sessions:calendar", "sessions:history", "sessions:history_csv"]
)
def test_a_scheduler_who_has_not_chosen_a_host_is_sent_to_the_scheduling_tab(client, scheduler, name):
    client.force_login(scheduler)
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:scheduling")


@pytest.mark.parametrize("name", ["sessions:working_hours", "sessions:calendar", "sessions:history"])
def test_planning_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


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
    with django_assert_num_queries(len(queries)):
        response = client.get(reverse("sessions:calendar"), {"date": "2026-11-23"})
    assert response.content.decode().count("data-session-id=") == 32


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
