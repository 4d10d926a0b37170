"""The calendar schedules, and the Schedule form answers live, in a real browser: a click on an empty half
hour of the week opens the form at that instant (on the host's clock), the form says "Host is not available"
outside the working hours and the confirmation says so again, a refused booking lists its reasons one per
line, a slow availability check says "Checking…" over a greyed-out answer, and on a 390 px phone the
calendar is a list that fits the screen."""

import contextlib
import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from sessions_app.models import Room, Session
from sessions_app.services import working_hours_add
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

AVAILABILITY_REQUEST = re.compile(r"/sessions/(new|\d+)/availability/")
# The labels crispy writes ("Date*" on a required field); "Time zone" is the participant's.
DATE, TIME = re.compile(r"^\s*Date\s*\*?\s*$"), re.compile(r"^\s*Time\s*\*?\s*$")


def _weekday_in_two_weeks(zone, weekday: int) -> date:
    today = timezone.now().astimezone(zone).date()
    return today + timedelta(days=14 - today.weekday() + weekday)


def _set_zone(user, zone: str) -> None:
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


def _weekdays_nine_to_five(host) -> None:
    for weekday in range(5):
        working_hours_add(actor=host, host=host, weekday=weekday, start_time=time(9), end_time=time(17))


def _fill_participant(page: "Page") -> None:
    fieldset = page.locator("#participant-forms .participant-form").first
    fieldset.get_by_label("Name or initials").fill("Maria Garcia")
    fieldset.get_by_label("Email").fill("maria@example.test")


def _label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def test_a_click_on_an_empty_week_slot_schedules_at_that_instant_on_the_hosts_clock(
    page, live_server, host, scheduler, screenshot
):
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    # The scheduler reads London time; the host types New York time: the same instant, two clocks.
    _set_zone(host, "America/New_York")
    tuesday = _weekday_in_two_weeks(scheduler.zone, 1)
    log_in(page, live_server, scheduler)
    page.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    page.get_by_role("link", name="Calendar", exact=True).click()
    expect(page.get_by_role("link", name="Schedule session")).to_be_visible()
    page.get_by_role("link", name="Next week").click()
    page.get_by_role("link", name="Next week").click()
    monday = tuesday - timedelta(days=1)
    week = page.get_by_role("table", name=re.compile(f"^{monday.day} {monday:%b} – "))
    expect(week.get_by_role("columnheader")).to_have_count(7)
    expect(week.get_by_role("columnheader").nth(1)).to_have_accessible_name(
        f"{tuesday:%A} {tuesday.day} {tuesday:%B}"
    )

    slot = page.get_by_role("link", name=f"Schedule at {_label(tuesday)} 15:00", exact=True)
    slot.hover()
    screenshot(page, "calendar-week-slot-hover")
    slot.click()

    expect(page.get_by_role("heading", name=f"Schedule session for {host.full_name}")).to_be_visible()
    instant = datetime.combine(tuesday, time(15), tzinfo=scheduler.zone).astimezone(host.zone)
    expect(page.get_by_label(DATE)).to_have_value(instant.date().isoformat())
    expect(page.get_by_label(TIME)).to_have_value(f"{instant:%H:%M}")
    expect(page.locator("#schedule-form")).to_contain_text("In America/New York, the host's time zone.")
    # The live answer is about that instant, told on the scheduler's clock.
    expect(page.locator("#availability")).to_contain_text("Slot available")
    expect(page.locator("#availability")).to_contain_text(f"{tuesday.day} {tuesday:%B %Y}, 15:00–15:50")
    page.get_by_label("Title").fill("Intake from the calendar")
    _fill_participant(page)
    page.get_by_role("button", name="Schedule and send invites").click()
    expect(page.locator(".alert-success")).to_contain_text("“Intake from the calendar” is scheduled.")

    session = Session.objects.get(title="Intake from the calendar")
    assert session.start_at == datetime.combine(tuesday, time(15), tzinfo=scheduler.zone)
    page.goto(f"{live_server.url}/calendar/?view=week&date={tuesday.isoformat()}")
    column = page.locator(f".calendar-day[data-date='{tuesday.isoformat()}']")
    shown = column.get_by_role("link", name="15:00–15:50 Intake from the calendar")
    expect(shown).to_be_visible()
    # The session now covers its half hour: no slot link is offered under it any more.
    expect(page.get_by_role("link", name=f"Schedule at {_label(tuesday)} 15:00")).to_have_count(0)
    screenshot(page, "calendar-week-after-scheduling")
    assert script_errors == []


def test_a_click_on_an_empty_month_day_opens_the_form_on_that_day(page, live_server, host, screenshot):
    day = _weekday_in_two_weeks(host.zone, 2)
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/calendar/?view=month&date={day.isoformat()}")
    month = page.get_by_role("table", name=f"Sessions and blocked times in {day:%B %Y}")
    expect(month.get_by_role("columnheader")).to_have_count(7)
    cell = page.locator(f"td[data-date='{day.isoformat()}']")
    screenshot(page, "calendar-month-desktop")
    # A person clicks in the empty part of the day's box, not on a hidden link.
    cell.click(position={"x": 40, "y": 60})
    expect(page.get_by_role("heading", name="Schedule session")).to_be_visible()
    expect(page.get_by_label(DATE)).to_have_value(day.isoformat())
    expect(page.get_by_label(TIME)).to_have_value("09:00")
    screenshot(page, "schedule-form-from-month")


def test_saturday_morning_is_said_live_and_again_in_the_confirmation(page, live_server, host, screenshot):
    _weekdays_nine_to_five(host)
    saturday = _weekday_in_two_weeks(host.zone, 5)
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/new/")
    availability = page.locator("#availability")
    expect(availability).to_contain_text("Availability is checked as you change the date and time.")
    page.get_by_label(DATE).fill(saturday.isoformat())
    page.get_by_label(TIME).fill("07:00")
    expect(availability).to_contain_text("Host is not available")
    expect(availability.get_by_role("listitem")).to_have_text(["Outside the host's working hours"])
    expect(availability).to_contain_text("You can still save this time.")
    page.get_by_label("Duration").select_option(label="30 minutes")
    expect(availability).to_contain_text("07:00–07:30")
    screenshot(page, "schedule-form-outside-working-hours")
    _fill_participant(page)
    page.get_by_role("button", name="Schedule and send invites").click()

    expect(page.locator(".alert").filter(has_text="Note: outside your working hours.")).to_be_visible()
    assert Session.objects.get().start_at == datetime.combine(saturday, time(7), tzinfo=host.zone)


def test_a_refused_double_booking_shows_each_reason_on_its_own_line(
    page, live_server, host, other_host, screenshot
):
    monday = _weekday_in_two_weeks(host.zone, 0)
    start = datetime.combine(monday, time(10), tzinfo=host.zone)
    room = Room.objects.create(organization=host.organization, name="Blue room")
    ParticipantFactory(session=SessionFactory(host=host, start_at=start, title="Own review"))
    SessionFactory(host=other_host, start_at=start, room=room, title="Colleague's group")
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/new/")
    page.get_by_label(DATE).fill(monday.isoformat())
    page.get_by_label(TIME).fill("10:00")
    page.get_by_label("Room").select_option(label="Blue room")
    expect(page.locator("#availability")).to_contain_text("Room is not available")
    _fill_participant(page)
    page.get_by_role("button", name="Schedule and send invites").click()

    errors = page.locator("#id_time_error").locator("p")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("Overlaps “Own review”")
    expect(errors.nth(1)).to_contain_text("The room is busy with another session")
    first, second = errors.nth(0).bounding_box(), errors.nth(1).bounding_box()
    assert second["y"] >= first["y"] + first["height"], "the two reasons share a line"
    screenshot(page, "schedule-form-refused-two-reasons")
    assert Session.objects.count() == 2


def _hold_availability_requests(page: "Page") -> list:
    """From now on, every availability request waits until the test lets it through (a slow server)."""
    held = []

    def hold(route):
        held.append(route)

    page.route(AVAILABILITY_REQUEST, hold)
    return held


def _let_through(held: list) -> None:
    for route in held:
        # A request htmx replaced by a newer one was aborted: nothing waits for its answer.
        with contextlib.suppress(Exception):
            route.continue_()
    held.clear()


def _assert_checking_then_answer(page: "Page", held: list, new_answer: str) -> None:
    box, answer = page.locator(".availability-box"), page.locator("#availability")
    expect(box.get_by_role("status").filter(has_text="Checking…")).to_be_visible()
    expect(box).to_have_class(re.compile(r"\bhtmx-request\b"))
    expect(answer).to_have_css("opacity", "0.4")
    _let_through(held)
    expect(answer).to_contain_text(new_answer)
    expect(box.get_by_text("Checking…")).to_be_hidden()
    expect(answer).to_have_css("opacity", "1")


def test_a_slow_check_says_checking_and_greys_the_old_answer_on_the_schedule_form(
    page, live_server, host, screenshot
):
    _weekdays_nine_to_five(host)
    monday = _weekday_in_two_weeks(host.zone, 0)
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/new/?date={monday.isoformat()}&time=10:00")
    expect(page.locator("#availability")).to_contain_text("Slot available")
    held = _hold_availability_requests(page)
    page.get_by_label(TIME).fill("07:00")
    expect(page.get_by_text("Checking…")).to_be_visible()
    screenshot(page, "schedule-form-checking")
    _assert_checking_then_answer(page, held, "Host is not available")


def test_a_slow_check_says_checking_on_the_reschedule_page(page, live_server, host):
    _weekdays_nine_to_five(host)
    monday = _weekday_in_two_weeks(host.zone, 0)
    session = SessionFactory(host=host, start_at=datetime.combine(monday, time(10), tzinfo=host.zone))
    ParticipantFactory(session=session)
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/{session.pk}/reschedule/")
    expect(page.locator("#availability")).to_contain_text("Slot available")
    held = _hold_availability_requests(page)
    page.get_by_label(TIME).fill("18:00")
    _assert_checking_then_answer(page, held, "Host is not available")


@pytest.mark.parametrize("view", ["week", "month"])
def test_on_a_phone_the_calendar_is_a_list_that_fits_the_screen(page, live_server, host, screenshot, view):
    day = _weekday_in_two_weeks(host.zone, 3)
    session = SessionFactory(
        host=host,
        start_at=datetime.combine(day, time(15, 10), tzinfo=host.zone),
        title="Review with a long title that needs room",
    )
    ParticipantFactory(session=session)
    log_in(page, live_server, host)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/calendar/?view={view}&date={day.isoformat()}")

    entry = page.get_by_role("link", name=re.compile("15:10–16:00 Review with a long title"))
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("15:10–16:00")
    expect(page.get_by_role("heading", name=f"{day:%A} {day.day} {day:%B}")).to_be_visible()
    expect(page.get_by_role("link", name="Schedule session")).to_be_visible()
    expect(page.locator("#calendar-week, #calendar-month")).to_be_hidden()
    screenshot(page, f"calendar-{view}-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
