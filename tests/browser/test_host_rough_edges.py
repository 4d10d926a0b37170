"""The steps of the help articles that failed, walked in a real browser as a host and a scheduler would:
reschedule into another room, see a no-show at once, type times in the host's zone, connect when it can
work, and come back to the dashboard after giving a session away."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import Room, Session
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser


def _session(host, *, start, title="Weekly review", room=None) -> Session:
    session = SessionFactory(
        host=host, start_at=start.replace(second=0, microsecond=0), title=title, room=room
    )
    ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    ParticipantFactory(session=session, name="Sam", email="sam@example.test")
    return session


def _quick_action(page, name: str):
    page.locator("#quick-actions").get_by_role("link", name=name).click()


def test_host_reschedules_into_another_room_and_the_answer_follows_the_room(
    page, live_server, host, other_host, organization, screenshot
):
    room_a = Room.objects.create(organization=organization, name="Room A")
    room_b = Room.objects.create(organization=organization, name="Room B")
    # At 10:00 the host's time, so that two hours later is the same day whenever the test runs (the form's
    # Date stays as it is).
    start = (timezone.now() + timedelta(days=2)).astimezone(host.zone).replace(hour=10, minute=0)
    session = _session(host, start=start, room=room_a)
    SessionFactory(host=other_host, start_at=session.start_at, room=room_b, title="Colleague's group")
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.locator("#session-room")).to_have_text("Room A")

    _quick_action(page, "Reschedule")
    room = page.get_by_label("Room")
    expect(room).to_have_value(str(room_a.pk))
    room.select_option(label="Room B")
    availability = page.locator("#availability")
    expect(availability).to_contain_text("Room is not available")
    expect(availability).to_contain_text("The room is busy with another session")
    room.select_option(label="Room A")
    expect(availability).to_contain_text("Slot available")
    # An hour later, Room B is free.
    later = session.start_at.astimezone(host.zone) + timedelta(hours=2)
    page.get_by_label("Time").fill(f"{later:%H:%M}")
    room.select_option(label="Room B")
    expect(availability).to_contain_text("Slot available")
    screenshot(page, "reschedule-room")
    page.get_by_role("button", name="Reschedule").click()

    expect(page).to_have_url(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.locator("#session-room")).to_have_text("Room B")
    session.refresh_from_db()
    assert (session.room, session.start_at.astimezone(host.zone)) == (room_b, later)


def test_a_no_show_is_visible_at_once_and_nobody_came_asks_again_when_someone_joined(
    page, live_server, host, screenshot
):
    session = _session(host, start=timezone.now() - timedelta(minutes=10), title="Started session")
    session.participants.filter(name="Pat").update(joined_at=timezone.now() - timedelta(minutes=8))
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.locator("#session-status")).to_have_text("Scheduled")

    _quick_action(page, "Mark no-show")
    page.get_by_label("Nobody came (whole session)").check()
    page.get_by_role("button", name="Save no-shows").click()
    confirm = page.get_by_label("Pat joined through their link")
    expect(confirm).to_be_visible()
    expect(page.locator("#no-show-form")).to_contain_text("Pat joined this session")
    assert not Session.objects.get(pk=session.pk).no_show
    screenshot(page, "no-show-confirm")
    confirm.check()
    page.get_by_role("button", name="Save no-shows").click()

    expect(page).to_have_url(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.locator("#session-status")).to_have_text("No-show")
    expect(page.locator("#no-show-badge")).to_be_visible()
    page.get_by_role("link", name="Dashboard", exact=True).first.click()
    expect(page.locator(f"[data-session-id='{session.pk}']")).to_contain_text("No-show")
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    # Started ten minutes ago: run just after midnight, the session is on the week's grid on both its days.
    on_the_grid = page.locator(f"#calendar-week [data-session-id='{session.pk}']")
    expect(on_the_grid.first).to_contain_text("No-show")
    expect(on_the_grid.last).to_contain_text("No-show")


def test_a_scheduler_in_another_zone_is_told_which_zone_they_read_and_which_they_type(
    page, live_server, host, scheduler, screenshot
):
    scheduler.time_zone = "America/New_York"
    scheduler.save(update_fields=["time_zone"])
    session = _session(host, start=timezone.now() + timedelta(days=3))
    log_in(page, live_server, scheduler)
    page.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    banner = page.locator("#acting-for-banner")
    expect(banner).to_contain_text("times shown in your zone (America/New_York)")
    expect(banner).to_contain_text(f"times you type are in {host.full_name}'s zone (Europe/London)")

    page.goto(f"{live_server.url}/sessions/{session.pk}/reschedule/")
    expect(page.locator("#id_time_helptext")).to_have_text("In Europe/London, the host's time zone.")
    day = (session.start_at.astimezone(host.zone) + timedelta(days=1)).date()
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Time").fill("10:00")
    expect(page.locator("#availability")).to_contain_text("Slot available")
    screenshot(page, "scheduler-reschedule-zone")
    page.get_by_role("button", name="Reschedule").click()

    expect(page).to_have_url(f"{live_server.url}/sessions/{session.pk}/")
    session.refresh_from_db()
    local = session.start_at.astimezone(host.zone)
    assert (local.date(), f"{local:%H:%M}") == (day, "10:00")


def test_connect_is_offered_when_it_can_work_and_says_when_it_opens_otherwise(page, live_server, host):
    far = _session(host, start=timezone.now() + timedelta(days=60), title="Far away")
    soon = _session(host, start=timezone.now() + timedelta(minutes=10), title="Starting soon")
    log_in(page, live_server, host)

    far_row = page.locator(f"[data-session-id='{far.pk}']")
    expect(far_row).to_contain_text("Connect opens")
    expect(far_row.get_by_role("button", name="Connect")).to_have_count(0)
    page.goto(f"{live_server.url}/sessions/{far.pk}/")
    expect(page.get_by_text("15 minutes before the start")).to_be_visible()
    expect(page.get_by_role("button", name="Connect")).to_have_count(0)

    page.goto(live_server.url + "/")
    connect = page.locator(f"[data-session-id='{soon.pk}']").get_by_role(
        "button", name="Connect to Starting soon"
    )
    connect.click()
    expect(page).to_have_url(f"{live_server.url}/sessions/{soon.pk}/video-room/")
    expect(page.get_by_text("You can connect from 15 minutes before the start")).to_have_count(0)


def test_a_host_who_reassigns_a_session_lands_on_their_dashboard_told_who_has_it(
    page, live_server, host, other_host
):
    session = _session(host, start=timezone.now() + timedelta(days=2), title="Handed over")
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    _quick_action(page, "Reassign")
    page.get_by_label(other_host.full_name).check()
    page.get_by_role("button", name="Reassign").click()

    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".alert-success")).to_contain_text(f"is now with {other_host.full_name}")
    expect(page.get_by_role("heading", name="Upcoming sessions")).to_be_visible()
    expect(page.locator(f"[data-session-id='{session.pk}']")).to_have_count(0)
    assert Session.objects.get(pk=session.pk).host == other_host


def test_the_outbox_keeps_a_notice_bodys_line_breaks_and_says_the_zone_of_its_times(page, live_server, host):
    from notifications.models import Notification

    session = _session(host, start=timezone.now() + timedelta(days=2))
    Notification.objects.create(
        organization=session.organization,
        session=session,
        participant=session.participants.get(name="Pat"),
        kind=Notification.Kind.INVITE,
        channel=Notification.Channel.EMAIL,
        recipient="pat@example.test",
        subject="Your session",
        body="Hello Pat,\n\nYour session is on Monday.\nJoin: [join link]",
        status=Notification.Status.SENT,
        send_at=timezone.now(),
        sent_at=timezone.now(),
    )
    log_in(page, live_server, host)
    page.goto(live_server.url + "/dev/outbox/")

    body = page.locator("#outbox .notice-body").first
    expect(body).to_be_visible()
    assert body.evaluate("element => getComputedStyle(element).whiteSpace") == "pre-wrap"
    # Three lines and a blank one, as written: each line is its own line box.
    assert body.evaluate("element => element.getClientRects()[0].height") > 3 * 14
    zone = timezone.now().astimezone(host.zone).tzname()
    expect(page.locator("#outbox")).to_contain_text(f"Sent {timezone.now().astimezone(host.zone).day}")
    expect(page.locator("#outbox")).to_contain_text(zone)
