"""History in a real browser: sessions called off for a time still ahead sit in their own list above the past
sessions, and the outcome filter narrows both."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import Session
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser


def test_a_host_finds_future_cancellations_apart_from_the_past_sessions(page, live_server, host, screenshot):
    now = timezone.now()
    for days, title, extra in [
        (-9, "Intake", {}),
        (-2, "Check-in", {"status": Session.Status.CANCELLED, "cancel_reason": "Client travelling"}),
        (5, "Review", {"status": Session.Status.CANCELLED, "cancel_reason": "Host on leave"}),
        (12, "Family session", {"status": Session.Status.REMOVED}),
        (3, "Next visit", {}),
    ]:
        session = SessionFactory(host=host, start_at=now + timedelta(days=days), title=title, **extra)
        ParticipantFactory(session=session, name=f"{title} client")
    log_in(page, live_server, host)

    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("link", name="History", exact=True)).to_have_attribute("aria-current", "page")
    ahead = page.get_by_role("region", name="Cancelled or removed, still ahead")
    expect(ahead.get_by_role("listitem")).to_have_count(2)
    expect(ahead.get_by_role("listitem").nth(0)).to_contain_text("Review")
    expect(ahead.get_by_role("listitem").nth(0)).to_contain_text("Host on leave")
    expect(ahead.get_by_role("listitem").nth(1)).to_contain_text("Family session")
    expect(ahead.get_by_role("listitem").nth(1)).to_contain_text("Removed")
    rows = page.locator("#history-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Check-in")
    expect(rows.nth(1)).to_contain_text("Intake")
    expect(page.locator("#history-table")).not_to_contain_text("Review")
    expect(page.get_by_text("Next visit")).to_have_count(0)
    screenshot(page, "history-with-cancellations-ahead")

    page.locator("#history-filters").get_by_label("Outcome").select_option(label="Cancelled")
    page.get_by_role("button", name="Filter").click()
    expect(ahead.get_by_role("listitem")).to_have_count(1)
    expect(ahead).to_contain_text("Review")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Check-in")

    page.locator("#history-filters").get_by_label("Outcome").select_option(label="Completed")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Intake")
    expect(ahead).to_have_count(0)

    page.get_by_role("link", name="Clear").click()
    ahead.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="History", exact=True)).not_to_have_attribute("aria-current", "page")
