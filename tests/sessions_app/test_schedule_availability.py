"""The Schedule form's live availability answer (sessions:schedule_availability), the calendar's prefill
of the form (?date=&time= on the viewer's clock, typed on the host's), the note on a session saved outside
the working hours, and a refused booking's reasons shown one per line."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.middleware import ACTING_FOR_SESSION_KEY
from config.errors import ValidationFailedError
from sessions_app.availability import Availability
from sessions_app.models import Room, Session
from sessions_app.services import blocked_slot_add, working_hours_add
from sessions_app.services.common import check_bookable
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

# Wednesday 4 November 2026, noon UTC: "now" for every test here.
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
SATURDAY, MONDAY = date(2026, 11, 7), date(2026, 11, 9)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def weekday_hours(host):
    for weekday in range(5):
        working_hours_add(actor=host, host=host, weekday=weekday, start_time=time(9), end_time=time(17))


def _set_zone(user, zone):
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


def _act_for(client, scheduler, host):
    client.force_login(scheduler)
    session = client.session
    session[ACTING_FOR_SESSION_KEY] = host.pk
    session.save()


def _answer(client, **values) -> str:
    response = client.get(reverse("sessions:schedule_availability"), {"duration_minutes": "50", **values})
    assert response.status_code == 200
    return response.content.decode()


def _schedule_payload(day: date, wall: str, **extra) -> dict:
    return {
        "title": "Intake",
        "date": day.isoformat(),
        "time": wall,
        "duration_minutes": "50",
        "repeat_ends": "count",
        "participants-TOTAL_FORMS": "1",
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "1",
        "participants-MAX_NUM_FORMS": "20",
        "participants-0-name": "Maria Garcia",
        "participants-0-invite_method": "email",
        "participants-0-email": "maria@example.test",
        "participants-0-time_zone": "Europe/Madrid",
        **extra,
    }


def _success(response) -> str:
    return " ".join(m.message for m in get_messages(response.wsgi_request) if m.level_tag == "success")


# The live answer --------------------------------------------------------------------------------------------


def test_saturday_morning_is_outside_the_hosts_working_hours(client, host, weekday_hours):
    client.force_login(host)
    content = _answer(client, date=SATURDAY.isoformat(), time="07:00")
    assert "Host is not available" in content
    assert "Outside the host&#x27;s working hours" in content or "Outside the host's working hours" in content
    assert "You can still save this time." in content
    assert "Saturday 7 November 2026, 07:00–07:50" in content


def test_a_weekday_inside_the_working_hours_is_available(client, host, weekday_hours):
    client.force_login(host)
    content = _answer(client, date=MONDAY.isoformat(), time="10:00")
    assert "Slot available" in content
    assert "Outside the host" not in content


def test_the_duration_counts_a_session_running_past_the_end_of_the_day(client, host, weekday_hours):
    client.force_login(host)
    assert "Slot available" in _answer(client, date=MONDAY.isoformat(), time="16:00", duration_minutes="60")
    content = _answer(client, date=MONDAY.isoformat(), time="16:30", duration_minutes="60")
    assert "Host is not available" in content


def test_a_room_taken_by_a_colleague_is_not_available_without_saying_what_for(client, host, other_host):
    room = Room.objects.create(organization=host.organization, name="Blue room")
    start = datetime(2026, 11, 9, 10, 0, tzinfo=host.zone)
    SessionFactory(host=other_host, start_at=start, room=room, title="Colleague's private session")
    client.force_login(host)
    content = _answer(client, date=MONDAY.isoformat(), time="10:30", room=str(room.pk))
    assert "Room is not available" in content
    assert "The room is busy with another session" in content
    assert "private session" not in content
    assert "Slot available" in _answer(client, date=MONDAY.isoformat(), time="10:30")


def test_a_blocked_time_says_so_and_may_still_be_saved(client, host):
    blocked_slot_add(
        actor=host,
        host=host,
        start_at=datetime(2026, 11, 9, 12, 0, tzinfo=host.zone),
        end_at=datetime(2026, 11, 9, 14, 0, tzinfo=host.zone),
        note="Supervision",
    )
    client.force_login(host)
    content = _answer(client, date=MONDAY.isoformat(), time="12:30")
    assert "Host is not available" in content and "Blocked: Supervision" in content
    assert "You can still save this time." in content


def test_nothing_chosen_yet_gets_the_hint_not_an_error(client, host):
    client.force_login(host)
    content = _answer(client)
    assert "Availability is checked as you change the date and time." in content
    assert "required" not in content


@pytest.mark.parametrize(
    "values",
    [
        {"date": "2026-13-45", "time": "10:00"},
        {"date": "9999-12-31", "time": "10:00"},
        {"date": "2026-11-09", "time": "25:99"},
        {"date": "2026-11-09", "time": "10:00", "duration_minutes": "-1"},
        {"date": "2026-11-09", "time": "10:00", "room": "99999999999"},
    ],
)
def test_bad_values_get_the_fields_error_in_the_box(client, host, values):
    # With a room, the form offers the room choice (and checks the id sent).
    Room.objects.create(organization=host.organization, name="Blue room")
    client.force_login(host)
    content = _answer(client, **values)
    assert 'class="text-danger small mt-1"' in content


def test_a_past_time_is_refused_in_the_box(client, host):
    client.force_login(host)
    content = _answer(client, date="2026-11-03", time="10:00")
    assert "That time has already passed" in content


def test_a_scheduler_gets_the_answer_for_the_host_they_act_for(client, host, scheduler, weekday_hours):
    _act_for(client, scheduler, host)
    assert "Outside the host" in _answer(client, date=SATURDAY.isoformat(), time="07:00")


def test_the_answer_is_typed_in_the_hosts_zone_and_shown_in_the_viewers(client, host, scheduler):
    _set_zone(host, "America/New_York")
    _act_for(client, scheduler, host)  # the scheduler reads Europe/London
    content = _answer(client, date=MONDAY.isoformat(), time="10:00")
    assert "Monday 9 November 2026, 15:00–15:50 GMT (Europe/London)" in content


def test_the_schedule_page_has_the_box_asking_the_new_endpoint(client, host):
    client.force_login(host)
    content = client.get(reverse("sessions:schedule")).content.decode()
    assert f'hx-get="{reverse("sessions:schedule_availability")}"' in content
    assert 'hx-indicator="closest .availability-box"' in content
    assert re.search(r'<input type="date" name="date"[^>]*class="availability-input', content)
    assert re.search(r'<input type="time" name="time"[^>]*class="availability-input', content)
    assert re.search(r'<select name="duration_minutes"[^>]*class="availability-input', content)


def test_a_user_without_sessions_gets_no_answer(client, outsider_scheduler):
    client.force_login(outsider_scheduler)
    response = client.get(reverse("sessions:schedule_availability"), {"date": "2026-11-09", "time": "10:00"})
    # A scheduler who acts for nobody is sent to choose a host first.
    assert response.status_code == 302
    assert client.post(reverse("sessions:schedule_availability")).status_code == 302


def test_the_answer_takes_only_get(client, host):
    client.force_login(host)
    assert client.post(reverse("sessions:schedule_availability")).status_code == 405


# Prefill from the calendar ---------------------------------------------------------------------------------


def test_a_calendar_slot_prefills_the_same_instant_on_the_hosts_clock(client, host, scheduler):
    _set_zone(host, "America/New_York")
    _act_for(client, scheduler, host)  # the scheduler's calendar is in Europe/London
    content = client.get(
        reverse("sessions:schedule"), {"date": "2026-11-10", "time": "03:30"}
    ).content.decode()
    # 03:30 on Tuesday in London is 22:30 on Monday in New York.
    assert 'name="date" value="2026-11-09"' in content
    assert 'name="time" value="22:30"' in content


def test_a_calendar_day_without_a_time_prefills_the_date_at_nine(client, host):
    client.force_login(host)
    content = client.get(reverse("sessions:schedule"), {"date": "2026-11-10"}).content.decode()
    assert 'name="date" value="2026-11-10"' in content
    assert 'name="time" value="09:00"' in content


@pytest.mark.parametrize(
    "query",
    [
        {"date": "0001-01-01", "time": "10:00"},
        {"date": "9999-12-31", "time": "23:59"},
        {"date": "not a date", "time": "10:00"},
        {"date": "\x00", "time": "\x00"},
        {"date": "x" * 10_000},
    ],
)
def test_bad_calendar_values_are_ignored(client, host, query):
    client.force_login(host)
    response = client.get(reverse("sessions:schedule"), query)
    assert response.status_code == 200
    assert 'name="date" value=' not in response.content.decode()


def test_a_time_the_viewers_clocks_skip_keeps_only_the_date(client, host):
    # London skips 01:00–02:00 on Sunday 28 March 2027.
    client.force_login(host)
    content = client.get(
        reverse("sessions:schedule"), {"date": "2027-03-28", "time": "01:30"}
    ).content.decode()
    assert 'name="date" value="2027-03-28"' in content
    assert 'name="time" value=' not in content


# Saving -------------------------------------------------------------------------------------------------


def test_saving_outside_the_working_hours_says_so_in_the_message(client, host, scheduler, weekday_hours):
    _act_for(client, scheduler, host)
    response = client.post(reverse("sessions:schedule"), _schedule_payload(SATURDAY, "07:00"))
    assert response.status_code == 302
    assert "Note: outside Dr Ada Host’s working hours." in _success(response)


def test_the_host_is_told_about_their_own_working_hours_and_a_block(client, host, weekday_hours):
    blocked_slot_add(
        actor=host,
        host=host,
        start_at=datetime(2026, 11, 7, 6, 0, tzinfo=host.zone),
        end_at=datetime(2026, 11, 7, 8, 0, tzinfo=host.zone),
        note="Gym",
    )
    client.force_login(host)
    response = client.post(reverse("sessions:schedule"), _schedule_payload(SATURDAY, "07:00"))
    assert "Note: outside your working hours and over a blocked time." in _success(response)


def test_a_series_says_how_many_of_its_sessions_are_outside(client, host, weekday_hours):
    second = SATURDAY + timedelta(days=7)
    blocked_slot_add(
        actor=host,
        host=host,
        start_at=datetime.combine(second, time(9), tzinfo=host.zone),
        end_at=datetime.combine(second, time(12), tzinfo=host.zone),
        note="Away",
    )
    client.force_login(host)
    payload = _schedule_payload(SATURDAY, "10:00", repeat="weekly", repeat_count="3")
    response = client.post(reverse("sessions:schedule"), payload)
    assert _success(response).endswith(
        "Note: all 3 sessions are outside your working hours; 1 of the 3 sessions is over a blocked time."
    )


def test_saving_over_a_busy_time_of_the_hosts_own_calendar_says_so(client, host, weekday_hours):
    from sessions_app.models import CalendarSource, ExternalBusyTime

    source = CalendarSource.objects.create(host=host, url="https://calendar.example/secret.ics")
    ExternalBusyTime.objects.create(
        source=source,
        host=host,
        start_at=datetime.combine(MONDAY, time(9, 30), tzinfo=host.zone),
        end_at=datetime.combine(MONDAY, time(11), tzinfo=host.zone),
    )
    client.force_login(host)
    response = client.post(reverse("sessions:schedule"), _schedule_payload(MONDAY, "10:00"))
    assert _success(response).endswith("Note: over a busy time in your calendar.")


def test_saving_inside_the_working_hours_has_no_note(client, host, weekday_hours):
    client.force_login(host)
    response = client.post(reverse("sessions:schedule"), _schedule_payload(MONDAY, "10:00"))
    assert response.status_code == 302
    assert "Note" not in _success(response)


def test_a_refused_booking_shows_each_reason_on_its_own_line(client, host, other_host):
    room = Room.objects.create(organization=host.organization, name="Blue room")
    start = datetime(2026, 11, 9, 10, 0, tzinfo=host.zone)
    own = SessionFactory(host=host, start_at=start, title="Own session")
    ParticipantFactory(session=own)
    SessionFactory(host=other_host, start_at=start, room=room, title="Colleague's session")
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"), _schedule_payload(MONDAY, "10:00", room=str(room.pk))
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["time"]
    assert len(errors) == 2
    assert errors[0].startswith("Overlaps “Own session”")
    assert errors[1].startswith("The room is busy with another session")
    assert Session.objects.count() == 2


def test_check_bookable_gives_each_reason_as_a_detail(host):
    busy = SessionFactory(host=host, title="Busy")
    availability = Availability(host_overlaps=[busy], outside_working_hours=True)
    busy.in_viewer_scope = True
    with pytest.raises(ValidationFailedError) as refused:
        check_bookable(availability=availability, zone="Europe/London")
    assert len(refused.value.details) == 2
    assert refused.value.details[1] == "Outside the host's working hours"
    assert refused.value.message == " ".join(refused.value.details)
    assert refused.value.field == "start"


# The calendar's ways into the form ------------------------------------------------------------------------


def test_the_week_offers_each_empty_half_hour_still_to_come(client, host):
    # Wednesday 4 November 2026 at noon: the slots of that morning are past, the afternoon's are offered.
    own = SessionFactory(host=host, start_at=datetime(2026, 11, 5, 10, 0, tzinfo=host.zone), title="Review")
    ParticipantFactory(session=own)
    client.force_login(host)
    content = client.get(
        reverse("sessions:calendar"), {"view": "week", "date": "2026-11-04"}
    ).content.decode()
    assert "Schedule at Wed 4 Nov 11:30" not in content
    assert "Schedule at Wed 4 Nov 12:30" in content
    assert 'href="/sessions/new/?date=2026-11-04&amp;time=12%3A30"' in content
    # 10:00–10:50 on Thursday covers two half hours; the one after it is free again.
    assert "Schedule at Thu 5 Nov 09:30" in content
    assert "Schedule at Thu 5 Nov 10:00" not in content and "Schedule at Thu 5 Nov 10:30" not in content
    assert "Schedule at Thu 5 Nov 11:00" in content
    assert "Schedule at Mon 2 Nov" not in content
    assert f'href="{reverse("sessions:schedule")}">Schedule session</a>' in content


def test_the_week_is_a_table_of_days_for_assistive_technology(client, host):
    session = SessionFactory(
        host=host, start_at=datetime(2026, 11, 5, 10, 0, tzinfo=host.zone), title="Review"
    )
    ParticipantFactory(session=session)
    client.force_login(host)
    content = client.get(
        reverse("sessions:calendar"), {"view": "week", "date": "2026-11-04"}
    ).content.decode()
    assert 'role="table" aria-labelledby="calendar-title"' in content
    assert content.count('role="columnheader"') == 7
    assert content.count('role="cell"') == 7
    assert '<span class="visually-hidden">Thursday 5 November</span>' in content
    # The session's link is named by its time and title.
    assert re.search(
        r'<span class="calendar-session-time">10:00–10:50</span>\s*'
        r'<span class="calendar-session-title">Review',
        content,
    )


def test_the_month_offers_today_and_later_days_and_names_its_sessions_fully(client, host):
    session = SessionFactory(
        host=host, start_at=datetime(2026, 11, 5, 10, 0, tzinfo=host.zone), title="Review"
    )
    ParticipantFactory(session=session)
    client.force_login(host)
    content = client.get(
        reverse("sessions:calendar"), {"view": "month", "date": "2026-11-04"}
    ).content.decode()
    assert '<caption class="visually-hidden">Sessions and blocked times in November 2026</caption>' in content
    assert content.count('<th scope="col"') == 7
    assert '<abbr title="Monday">Mon</abbr>' in content
    assert "Schedule on Wed 4 Nov" in content and "Schedule on Tue 3 Nov" not in content
    assert 'href="/sessions/new/?date=2026-11-04"' in content
    assert '<span class="visually-hidden">, 10:00–10:50,</span> Review' in content


def test_the_phone_list_has_each_entry_with_its_whole_time_range(client, host):
    session = SessionFactory(
        host=host, start_at=datetime(2026, 11, 5, 15, 10, tzinfo=host.zone), title="Review"
    )
    ParticipantFactory(session=session)
    blocked_slot_add(
        actor=host,
        host=host,
        start_at=datetime(2026, 11, 5, 12, 0, tzinfo=host.zone),
        end_at=datetime(2026, 11, 5, 13, 30, tzinfo=host.zone),
        note="Supervision",
    )
    client.force_login(host)
    for view in ("week", "month"):
        content = client.get(
            reverse("sessions:calendar"), {"view": view, "date": "2026-11-04"}
        ).content.decode()
        listed = content[content.index('id="calendar-list"') :]
        thursday = listed[listed.index('data-list-date="2026-11-05"') :]
        assert "Thursday 5 November" in thursday
        # In the order of the day: the block at noon, then the session.
        assert thursday.index("12:00–13:30") < thursday.index("Supervision") < thursday.index("15:10–16:00")
        assert re.search(r"15:10–16:00</span> Review", thursday)
    month = client.get(reverse("sessions:calendar"), {"view": "month", "date": "2026-11-04"}).content.decode()
    # The month's list has only the days with something on them.
    assert month.count("data-list-date=") == 1
