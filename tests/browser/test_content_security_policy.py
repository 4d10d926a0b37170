"""The Content-Security-Policy in a real browser: the pages' scripts (Bootstrap, htmx, our own files) all
run, and Chromium reports no refused script, style or frame on the way through."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser


def test_a_host_walks_through_the_pages_without_a_policy_violation(page, live_server, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1), title="Weekly review")
    participant = ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    refused = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )

    log_in(page, live_server, host)
    # Bootstrap's dropdown.
    page.wait_for_load_state("load")
    row = page.locator(f"[data-session-id='{session.pk}']")
    row.get_by_role("button", name="Manage").click()
    expect(row.locator(".dropdown-menu")).to_be_visible()

    # copy_link.js, once an inline script.
    page.goto(live_server.url + reverse("sessions:detail", kwargs={"pk": session.pk}))
    copy = page.locator(f".copy-link[data-target='link-{participant.pk}']")
    copy.click()
    expect(copy).to_have_text("Copied")

    # htmx asks for the availability as the page loads.
    page.goto(live_server.url + reverse("sessions:reschedule", kwargs={"pk": session.pk}))
    expect(page.locator("#availability")).to_contain_text("available")

    # participants.js and the contact autofill.
    page.goto(live_server.url + reverse("sessions:schedule"))
    page.wait_for_function("() => window.contactAutofillReady === true")
    page.get_by_role("button", name="Add another participant").click()
    expect(page.locator("#participant-forms .participant-form")).to_have_count(2)

    assert refused == []
