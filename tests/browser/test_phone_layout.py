"""The host's pages on a 390 x 844 phone: nothing scrolls sideways, what matters is on the screen, and the
participant actions (Edit, Remind, Remove) are targets a thumb can hit (44 x 44 px at least).

Set BROWSER_SCREENSHOT_DIR to keep a picture of each page (phone-dashboard, phone-session, ...)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Session
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG_TITLE = "Initial assessment and treatment planning for the whole Lopez-Fernandez family"


def _on_the_phone(page, live_server, user) -> None:
    # Logged in on a wide window (log_in waits for the "Log out" button, which a phone keeps in the menu),
    # then the window becomes a phone's.
    log_in(page, live_server, user)
    page.set_viewport_size(PHONE)


def assert_no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]} px wide in a {widths[1]} px window"


def assert_on_screen(locator) -> None:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{locator} is off-screen: {box}"


def assert_thumb_sized(page) -> int:
    """Every Edit / Remind / Remove is at least 44 x 44 px; returns how many there are."""
    targets = page.locator(".participant-actions a, .participant-actions button")
    for index in range(targets.count()):
        target = targets.nth(index)
        box = target.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, f"{target.inner_text()!r} is {box}"
        assert_on_screen(target)
    return targets.count()


@pytest.fixture
def family_session(host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1), title=LONG_TITLE)
    for name in ("Maria Lopez-Fernandez", "Jon Lopez-Fernandez", "Ana Lopez-Fernandez"):
        ParticipantFactory(session=session, name=name)
    return session


def test_the_dashboard_fits_a_phone(page, live_server, host, family_session, screenshot):
    _on_the_phone(page, live_server, host)
    page.goto(live_server.url + reverse("sessions:dashboard"))
    row = page.locator(f"[data-session-id='{family_session.pk}']")
    expect(row.get_by_role("link", name=LONG_TITLE, exact=True)).to_be_visible()
    screenshot(page, "phone-dashboard")
    assert_no_sideways_scroll(page)
    assert_on_screen(row.get_by_role("link", name=LONG_TITLE, exact=True))
    # The Manage button names its session for a screen reader.
    assert_on_screen(row.get_by_role("button", name=f"Manage {LONG_TITLE}, "))
    assert assert_thumb_sized(page) == 9


def test_the_session_page_fits_a_phone(page, live_server, host, family_session, screenshot):
    _on_the_phone(page, live_server, host)
    page.goto(live_server.url + reverse("sessions:detail", args=[family_session.pk]))
    expect(page.get_by_role("heading", name=LONG_TITLE)).to_be_visible()
    screenshot(page, "phone-session")
    assert_no_sideways_scroll(page)
    assert_on_screen(page.get_by_role("heading", name=LONG_TITLE))
    assert_on_screen(page.get_by_role("button", name="Copy join link").first)
    assert assert_thumb_sized(page) == 9


def test_the_history_shows_each_outcome_on_a_phone(page, live_server, host, screenshot):
    now = timezone.now()
    kinds = [
        {},
        {"no_show": True},
        {"status": Session.Status.CANCELLED, "cancel_reason": "Client travelling for work, back next month"},
        {"status": Session.Status.REMOVED},
    ]
    for index in range(30):
        title = LONG_TITLE if index % 5 == 0 else f"Follow-up {index}"
        session = SessionFactory(
            host=host, start_at=now - timedelta(days=index + 1), title=title, **kinds[index % 4]
        )
        ParticipantFactory(session=session, name=f"Client {index} Lopez-Fernandez")
    _on_the_phone(page, live_server, host)
    page.goto(live_server.url + reverse("sessions:history"))
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(25)
    screenshot(page, "phone-history")
    assert_no_sideways_scroll(page)
    badges = page.locator("#history-table .outcome")
    assert sorted(set(badges.all_inner_texts())) == ["Cancelled", "Completed", "No-show", "Removed"]
    for index in range(badges.count()):
        assert_on_screen(badges.nth(index))
    # The participants, whose column a phone has no room for, are under the title instead.
    expect(rows.nth(0)).to_contain_text("Client 0 Lopez-Fernandez")


@pytest.mark.parametrize("view", ["week", "month"])
def test_the_calendar_does_not_scroll_sideways_on_a_phone(page, live_server, host, view, screenshot):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1), title=LONG_TITLE)
    ParticipantFactory(session=session)
    _on_the_phone(page, live_server, host)
    page.goto(f"{live_server.url}{reverse('sessions:calendar')}?view={view}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, f"phone-calendar-{view}")
    assert_no_sideways_scroll(page)


def test_the_participant_actions_are_at_least_24_px_on_a_wide_screen(page, live_server, host, family_session):
    log_in(page, live_server, host)
    page.goto(live_server.url + reverse("sessions:dashboard"))
    targets = page.locator(".participant-actions a, .participant-actions button")
    expect(targets).to_have_count(9)
    for index in range(targets.count()):
        box = targets.nth(index).bounding_box()
        assert box["height"] >= 24 and box["width"] >= 24, box
