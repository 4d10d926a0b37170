"""A host makes their calendar subscription address on the profile and the address shown serves their
sessions as a calendar (issue 13, item 4), clicked through in Chromium."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from icalendar import Calendar

from config.settings.base import local_site_url
from tests.browser.support import axe_violations, describe_violations, expect, log_in
from tests.factories import SessionFactory

pytestmark = pytest.mark.browser


def test_a_host_makes_a_subscription_address_and_it_serves_their_sessions(
    page, live_server, host, settings, screenshot
):
    settings.SITE_URL = local_site_url(urlsplit(live_server.url).port)
    session = SessionFactory(host=host, title="Weekly review", start_at=timezone.now() + timedelta(days=2))
    log_in(page, live_server, host)
    page.goto(live_server.url + "/profile/")

    page.get_by_role("button", name="Make a subscription address").click()

    address = page.get_by_label("Subscription address")
    expect(page.get_by_text("shown only this once")).to_be_visible()
    screenshot(page, "calendar-subscription-made")
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)
    url = address.input_value()
    assert url.startswith(settings.SITE_URL + "/calendar/feed/") and url.endswith(".ics")

    response = page.request.get(url)

    assert response.status == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    [event] = Calendar.from_ical(response.body()).walk("VEVENT")
    assert str(event["UID"]) == f"{session.uid}@consultations"
    assert str(event["SUMMARY"]) == "Weekly review (0 participants)"

    page.goto(live_server.url + "/profile/")
    expect(page.get_by_text("Subscription address made on")).to_be_visible()
    expect(page.get_by_label("Subscription address")).to_have_count(0)
