"""The planning pages in a real browser: a host sets working hours and blocks a time on the Working hours page
and finds both, with a session, on the calendar; a scheduler reads a host's month and history; the Schedule
form shows the repeat details only when the session repeats."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from sessions_app.models import BlockedSlot, Room, Session, WorkingHours
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.browser


def _monday_in_two_weeks(zone):
    today = timezone.now().astimezone(zone).date()
    return today + timedelta(days=14 - today.weekday())


def test_host_sets_working_hours_and_sees_the_block_and_a_session_on_the_week(
    page, live_server, host, screenshot
):
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    monday = _monday_in_two_weeks(host.zone)
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    session = SessionFactory(
        host=host,
        title="Review with Maria",
        start_at=datetime.combine(tuesday, datetime.min.time().replace(hour=10), tzinfo=host.zone),
    )
    ParticipantFactory(session=session, name="Maria")
    log_in(page, live_server, host)

    page.get_by_role("link", name="Working hours", exact=True).click()
    expect(page.get_by_role("heading", name="Working hours", exact=True)).to_be_visible()
    hours_form = page.locator("#working-hours-form")
    hours_form.get_by_label("Day").select_option(label="Tuesday")
    hours_form.get_by_label("From").fill("09:00")
    hours_form.get_by_label("Until").fill("17:00")
    hours_form.get_by_role("button", name="Add hours").click()
    expect(page.get_by_role("status")).to_contain_text("Working hours added: Tuesday 09:00–17:00.")
    expect(page.locator("tr[data-weekday='Tuesday']")).to_contain_text("09:00–17:00")
    expect(page.locator("#no-hours")).to_have_count(0)
    # An overlapping range is refused with the reason, and what was typed stays.
    hours_form.get_by_label("Day").select_option(label="Tuesday")
    hours_form.get_by_label("From").fill("16:00")
    hours_form.get_by_label("Until").fill("18:00")
    hours_form.get_by_role("button", name="Add hours").click()
    expect(page.locator("#working-hours-form")).to_contain_text("overlaps the Tuesday hours 09:00–17:00")
    expect(page.locator("#working-hours-form").get_by_label("From")).to_have_value("16:00")
    screenshot(page, "working-hours-overlap")

    block_form = page.locator("#blocked-slot-form")
    block_form.get_by_label("Start date").fill(wednesday.isoformat())
    block_form.get_by_label("Start time").fill("12:00")
    block_form.get_by_label("End date").fill(wednesday.isoformat())
    block_form.get_by_label("End time").fill("14:30")
    block_form.get_by_label("Note").fill("Supervision")
    block_form.get_by_role("button", name="Block this time").click()
    expect(page.get_by_role("status")).to_contain_text("The time is blocked.")
    listed = page.locator("#blocked-slots .blocked-slot")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(f"{wednesday:%a} {wednesday.day} {wednesday:%b %Y}, 12:00 – 14:30")
    expect(listed).to_contain_text("Supervision")
    screenshot(page, "working-hours")

    slot = BlockedSlot.objects.get(host=host)
    assert slot.start_at == datetime.combine(
        wednesday, datetime.min.time().replace(hour=12), tzinfo=host.zone
    )
    assert WorkingHours.objects.filter(host=host, weekday=1).count() == 1

    page.get_by_role("link", name="Calendar", exact=True).click()
    expect(page.locator("#calendar-week")).to_be_visible()
    page.goto(f"{live_server.url}/calendar/?view=week&date={tuesday.isoformat()}")
    expect(page.locator("#calendar-title")).to_contain_text(f"{monday.day} {monday:%b}")
    block = page.locator(f".calendar-day[data-date='{wednesday.isoformat()}'] .calendar-block")
    expect(block).to_contain_text("Blocked · Supervision")
    tuesday_column = page.locator(f".calendar-day[data-date='{tuesday.isoformat()}']")
    expect(tuesday_column.locator(".calendar-working")).to_have_count(1)
    shown = tuesday_column.get_by_role("link", name=re.compile("Review with Maria"))
    expect(shown).to_contain_text("10:00–10:50")
    screenshot(page, "calendar-week")
    # The block sits at 12:00, under the 10:00 session: further down the column.
    assert block.bounding_box()["y"] > shown.bounding_box()["y"]

    page.get_by_role("link", name="Next week").click()
    expect(page.locator("#calendar-title")).to_contain_text(f"{(monday + timedelta(days=7)).day}")
    expect(page.locator(".calendar-session")).to_have_count(0)
    page.get_by_role("link", name="Previous week").click()
    page.locator(f"[data-session-id='{session.pk}']").click()
    expect(page).to_have_url(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.get_by_role("heading", name="Review with Maria")).to_be_visible()

    page.goto(f"{live_server.url}/working-hours/")
    page.get_by_role("button", name="Delete the block Supervision").click()
    expect(page.get_by_role("status")).to_contain_text("The blocked time is deleted.")
    expect(page.locator("#blocked-slots .blocked-slot")).to_have_count(0)
    assert not BlockedSlot.objects.exists()
    assert script_errors == []


def test_scheduler_reads_a_hosts_month_and_history(page, live_server, host, scheduler, screenshot):
    now = timezone.now()
    for days, title, extra in [
        (-20, "Intake", {}),
        (-13, "Follow-up", {"no_show": True}),
        (-6, "Check-in", {"status": Session.Status.CANCELLED, "cancel_reason": "Client travelling"}),
        (3, "Next review", {}),
    ]:
        session = SessionFactory(host=host, start_at=now + timedelta(days=days), title=title, **extra)
        ParticipantFactory(session=session, name=f"{title} client")
    log_in(page, live_server, scheduler)
    page.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    expect(page.locator("#acting-for-banner")).to_contain_text(host.full_name)

    page.get_by_role("link", name="Calendar", exact=True).click()
    page.get_by_role("link", name="Month").click()
    expect(page.locator("#calendar-month")).to_be_visible()
    today = now.astimezone(scheduler.zone).date()
    expect(page.locator(f"td[data-date='{today.isoformat()}']")).to_have_class(re.compile("is-today"))
    screenshot(page, "calendar-month")

    page.get_by_role("link", name="History", exact=True).click()
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Check-in")
    expect(rows.nth(0)).to_contain_text("Cancelled")
    expect(rows.nth(0)).to_contain_text("Client travelling")
    expect(rows.nth(1)).to_contain_text("No-show")
    expect(rows.nth(2)).to_contain_text("Completed")
    screenshot(page, "history")

    page.locator("#history-filters").get_by_label("Outcome").select_option(label="No-show")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Follow-up")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"history-dr-ada-host-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "Follow-up" in content and "Intake" not in content


def test_the_schedule_form_shows_repeat_details_only_when_repeating(page, live_server, host, screenshot):
    log_in(page, live_server, host)
    page.goto(live_server.url + "/sessions/new/")
    count, until = page.locator("#div_id_repeat_count"), page.locator("#div_id_repeat_until")
    expect(count).to_be_hidden()
    expect(until).to_be_hidden()
    page.get_by_label("Repeat").select_option(label="Every 2 weeks")
    expect(count).to_be_visible()
    expect(until).to_be_hidden()
    page.get_by_label("On a date").check()
    expect(until).to_be_visible()
    expect(count).to_be_hidden()
    screenshot(page, "schedule-repeat")

    start = (timezone.now() + timedelta(days=3)).astimezone(host.zone)
    page.locator("#id_title").fill("Fortnightly")
    page.locator("#id_date").fill(f"{start:%Y-%m-%d}")
    page.locator("#id_time").fill("11:00")
    page.get_by_label("Last date").fill(f"{start + timedelta(weeks=4):%Y-%m-%d}")
    fieldset = page.locator("#participant-forms .participant-form").nth(0)
    fieldset.get_by_label("Name or initials").fill("Kim Client")
    fieldset.get_by_label("Email").fill("kim@example.test")
    page.get_by_role("button", name="Schedule and send invites").click()
    expect(page.get_by_role("status")).to_contain_text("is scheduled every 2 weeks: 3 sessions")
    starts = list(Session.objects.filter(title="Fortnightly").values_list("start_at", flat=True))
    assert len(starts) == 3
    assert {s.astimezone(host.zone).strftime("%H:%M") for s in starts} == {"11:00"}
    assert all(s.tzinfo == UTC or s.utcoffset() == timedelta(0) for s in starts)


def test_scheduler_manages_rooms_and_books_one_on_the_schedule_form(
    page, live_server, host, scheduler, screenshot
):
    log_in(page, live_server, scheduler)
    page.get_by_role("link", name="Rooms", exact=True).click()
    add_form = page.locator("#room-add-form")
    for name in ("Blue room", "Green room"):
        add_form.get_by_label("Room name").fill(name)
        add_form.get_by_role("button", name="Add room").click()
        expect(page.get_by_role("status")).to_contain_text(f"Room “{name}” added.")
    blue = Room.objects.get(name="Blue room")
    row = page.locator(f"#active-rooms [data-room-id='{blue.pk}']")
    row.get_by_label("Room name").fill("Green room")
    row.get_by_role("button", name="Rename").click()
    expect(page.locator(f"[data-room-id='{blue.pk}']")).to_contain_text("There is already a room called")
    screenshot(page, "rooms-error")
    row = page.locator(f"#active-rooms [data-room-id='{blue.pk}']")
    row.get_by_label("Room name").fill("Quiet room")
    row.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_contain_text("Room “Blue room” is now “Quiet room”.")
    page.get_by_role("button", name="Deactivate Green room").click()
    expect(page.locator("#inactive-rooms")).to_contain_text("Green room")
    screenshot(page, "rooms")

    page.get_by_role("link", name="Scheduling", exact=True).click()
    page.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    page.get_by_role("link", name="Schedule session", exact=True).click()
    room_select = page.get_by_label("Room")
    expect(room_select.locator("option")).to_have_text(["No room", "Quiet room"])
    start = (timezone.now() + timedelta(days=2)).astimezone(host.zone)
    page.locator("#id_title").fill("In the quiet room")
    page.locator("#id_date").fill(f"{start:%Y-%m-%d}")
    page.locator("#id_time").fill("15:00")
    room_select.select_option(label="Quiet room")
    fieldset = page.locator("#participant-forms .participant-form").nth(0)
    fieldset.get_by_label("Name or initials").fill("Kim Client")
    fieldset.get_by_label("Email").fill("kim@example.test")
    page.get_by_role("button", name="Schedule and send invites").click()
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    assert Session.objects.get(title="In the quiet room").room == blue
