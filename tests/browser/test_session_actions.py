"""The session actions in a real browser: from the Manage menu on a dashboard row to the action's page and
back, with the live availability check on the reschedule page."""

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from notifications.models import Notification
from sessions_app.models import Session
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def _session(host, *, start=None, title="Weekly review") -> Session:
    # Tomorrow at 10:00 the host's time: the forms' times are within one day, so a test that moves the start
    # or the end by an hour must not cross midnight whenever it runs.
    start = start or (timezone.now() + timedelta(days=1)).astimezone(host.zone).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    session = SessionFactory(host=host, start_at=start, title=title)
    ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    ParticipantFactory(session=session, name="Sam", email="sam@example.test")
    return session


def _open_menu(page: "Page", session: Session):
    row = page.locator(f"[data-session-id='{session.pk}']")
    # The menu is Bootstrap's: it opens only once the page's scripts have run, which a busy machine can
    # delay past the moment the button becomes clickable.
    page.wait_for_load_state("load")
    row.get_by_role("button", name="Manage").click()
    menu = row.locator(".dropdown-menu")
    expect(menu).to_be_visible()
    # Its items are fetched as it opens.
    expect(menu.locator("[data-action]").first).to_be_visible()
    return menu


def test_the_manage_menu_offers_what_the_session_allows_when_it_is_opened(page, live_server, host):
    session = _session(host, start=timezone.now() - timedelta(minutes=5))
    log_in(page, live_server, host)
    expect(page.locator(f"[data-session-id='{session.pk}']")).to_be_visible()
    # The host connects from another tab after this dashboard was drawn: the menu, opened now, says so.
    Session.objects.filter(pk=session.pk).update(status=Session.Status.LIVE, host_connected_at=timezone.now())

    menu = _open_menu(page, session)
    expect(menu.locator("[data-action='reschedule']")).to_have_class(re.compile(r"\bdisabled\b"))
    expect(menu.locator("[data-action='reschedule']")).to_contain_text("Not while the host is connected")
    expect(menu.get_by_role("link", name="Mark no-show")).to_be_visible()


def test_a_manage_menu_that_cannot_load_says_so_and_leads_to_the_session(page, live_server, host):
    session = _session(host)
    page.route("**/manage-menu/", lambda route: route.fulfill(status=500, body="Server error"))
    log_in(page, live_server, host)
    row = page.locator(f"[data-session-id='{session.pk}']")
    page.wait_for_load_state("load")
    row.get_by_role("button", name="Manage").click()

    failure = row.get_by_role("alert")
    expect(failure).to_contain_text("The actions could not be loaded.")
    failure.get_by_role("link", name="Open the session").click()
    expect(page.locator("#quick-actions").get_by_role("link", name="Reschedule")).to_be_visible()


def test_host_reschedules_with_a_reason_after_seeing_the_slot_is_available(
    page, live_server, host, screenshot
):
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    session = _session(host)
    log_in(page, live_server, host)

    menu = _open_menu(page, session)
    expect(menu.get_by_role("link", name="Cancel")).to_be_visible()
    expect(menu.get_by_role("link", name="Remove")).to_have_count(0)
    screenshot(page, "manage-menu")
    menu.get_by_role("link", name="Reschedule").click()

    expect(page.get_by_role("heading", name="Reschedule session")).to_be_visible()
    expect(page.get_by_label("Notify participants")).to_be_checked()
    new_day = (timezone.now().astimezone(host.zone) + timedelta(days=3)).date()
    page.get_by_label("Date").fill(new_day.isoformat())
    page.get_by_label("Time").fill("14:30")
    availability = page.locator("#availability")
    expect(availability).to_contain_text("Slot available")
    expect(availability).to_contain_text(f"{new_day:%A} {new_day.day} {new_day:%B %Y}, 14:30–15:20")
    page.get_by_label("Reason (optional)").fill("The clinic is closed that day")
    screenshot(page, "reschedule-page")
    page.get_by_role("button", name="Reschedule").click()

    expect(page).to_have_url(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.get_by_role("status")).to_contain_text("is moved to")
    expect(page.locator("#quick-actions")).to_contain_text("Reschedule")
    screenshot(page, "session-detail-quick-actions")
    page.goto(live_server.url + "/")
    row = page.locator(f"[data-session-id='{session.pk}']")
    expect(row).to_contain_text("14:30–15:20")
    expect(page.get_by_text(f"{new_day:%A} {new_day.day} {new_day:%B %Y}")).to_be_visible()

    notices = Notification.objects.filter(session=session, kind=Notification.Kind.RESCHEDULE)
    assert sorted(n.recipient for n in notices) == ["pat@example.test", "sam@example.test"]
    assert {n.context["reason"] for n in notices} == {"The clinic is closed that day"}
    assert script_errors == []


def test_availability_turns_to_host_not_available_over_another_session(page, live_server, host, screenshot):
    session = _session(host)
    other = _session(host, start=session.start_at + timedelta(hours=3), title="Afternoon client")
    log_in(page, live_server, host)
    page.goto(f"{live_server.url}/sessions/{session.pk}/reschedule/")
    local = other.start_at.astimezone(host.zone)
    page.get_by_label("Date").fill(f"{local:%Y-%m-%d}")
    page.get_by_label("Time").fill(f"{local:%H:%M}")

    availability = page.locator("#availability")
    expect(availability).to_contain_text("Host is not available")
    expect(availability).to_contain_text("Overlaps “Afternoon client”")
    screenshot(page, "reschedule-host-unavailable")
    page.get_by_role("button", name="Reschedule").click()
    expect(page.locator(".alert-danger").first).to_contain_text("Overlaps “Afternoon client”")
    # What was typed stays.
    expect(page.get_by_label("Time")).to_have_value(f"{local:%H:%M}")
    assert Session.objects.get(pk=session.pk).start_at == session.start_at


def test_host_cancels_with_a_reason_and_the_session_leaves_the_dashboard(page, live_server, host):
    session = _session(host)
    log_in(page, live_server, host)
    _open_menu(page, session).get_by_role("link", name="Cancel").click()

    expect(page.get_by_role("heading", name="Cancel session")).to_be_visible()
    page.get_by_label("Reason (optional)").fill("I am unwell")
    page.get_by_role("button", name="Cancel session").click()

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("status")).to_contain_text("cancelled")
    expect(page.locator(f"[data-session-id='{session.pk}']")).to_have_count(0)
    session.refresh_from_db()
    assert (session.status, session.cancel_reason) == (Session.Status.CANCELLED, "I am unwell")
    notices = Notification.objects.filter(session=session, kind=Notification.Kind.CANCELLATION)
    assert {n.context["reason"] for n in notices} == {"I am unwell"}


def test_a_session_that_started_ten_minutes_ago_is_removed_without_notice(page, live_server, host):
    session = _session(host, start=timezone.now() - timedelta(minutes=10))
    log_in(page, live_server, host)

    menu = _open_menu(page, session)
    expect(menu.get_by_role("link", name="Cancel")).to_have_count(0)
    menu.get_by_role("link", name="Remove").click()
    expect(page.get_by_text("No notice is sent")).to_be_visible()
    page.get_by_role("button", name="Remove session").click()

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("status")).to_contain_text("No notice was sent")
    expect(page.locator(f"[data-session-id='{session.pk}']")).to_have_count(0)
    assert Session.objects.get(pk=session.pk).status == Session.Status.REMOVED
    assert not Notification.objects.filter(session=session).exists()


def test_schedule_next_is_prefilled_a_week_later_and_keeps_the_participants(page, live_server, host):
    session = _session(host)
    week_later = session.start_at.astimezone(host.zone) + timedelta(days=7)
    log_in(page, live_server, host)
    _open_menu(page, session).get_by_role("link", name="Schedule next").click()

    expect(page.get_by_label("Date")).to_have_value(f"{week_later:%Y-%m-%d}")
    expect(page.get_by_label("Time")).to_have_value(f"{week_later:%H:%M}")
    expect(page.locator("#next-participants")).to_contain_text("Pat")
    page.get_by_role("button", name="Schedule and send invites").click()

    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    created = Session.objects.exclude(pk=session.pk).get()
    assert page.url == f"{live_server.url}/sessions/{created.pk}/"
    expect(page.get_by_role("status")).to_contain_text("Invites are on their way to 2 participants")
    # Same wall-clock time in the host's zone (aware arithmetic in a ZoneInfo zone is wall-clock arithmetic).
    assert created.start_at == week_later
    assert sorted(created.participants.values_list("name", flat=True)) == ["Pat", "Sam"]


def test_scheduler_reassigns_a_session_to_another_host(
    page, live_server, host, other_host, scheduler, screenshot
):
    session = _session(host)
    log_in(page, live_server, scheduler)
    page.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    expect(page.locator("#acting-for-banner")).to_contain_text(host.full_name)

    _open_menu(page, session).get_by_role("link", name="Reassign").click()
    page.get_by_label(other_host.full_name).check()
    screenshot(page, "reassign-page")
    page.get_by_role("button", name="Reassign").click()

    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".alert-success")).to_contain_text(f"is now with {other_host.full_name}")
    expect(page.locator(f"[data-session-id='{session.pk}']")).to_have_count(0)
    assert Session.objects.get(pk=session.pk).host == other_host
    notice = Notification.objects.get(session=session, kind=Notification.Kind.REASSIGNED)
    assert (notice.host, notice.recipient) == (other_host, other_host.email)


def test_host_extends_a_session_and_sees_the_new_end_checked(page, live_server, host, screenshot):
    session = _session(host)
    _session(host, start=session.end_at + timedelta(minutes=30), title="Next client")
    log_in(page, live_server, host)
    _open_menu(page, session).get_by_role("link", name="Change end time").click()

    end = page.locator("#id_end_time")
    end.fill(f"{session.end_at.astimezone(host.zone) + timedelta(minutes=45):%H:%M}")
    expect(page.locator("#availability")).to_contain_text("Overlaps “Next client”")
    new_end = session.end_at.astimezone(host.zone) + timedelta(minutes=20)
    end.fill(f"{new_end:%H:%M}")
    expect(page.locator("#availability")).to_contain_text("Slot available")
    screenshot(page, "change-end-page")
    page.get_by_role("button", name="Save the new end").click()

    expect(page).to_have_url(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.get_by_role("status")).to_contain_text("now ends at")
    session.refresh_from_db()
    assert (session.end_at, session.duration_minutes) == (new_end, 70)
    assert Notification.objects.filter(session=session, kind=Notification.Kind.END_CHANGED).count() == 2
