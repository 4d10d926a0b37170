"""A participant answers from their own link in a real browser (issue 13): cancels with a reason and the
host's dashboard shows it; confirms and downloads the session for their calendar. The browser sends the
Origin header the CSRF check reads, which Django's test client does not."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import InviteMethod
from notifications.models import Notification
from sessions_app.join.links import join_url
from sessions_app.models import Answer, Session
from sessions_app.services import ParticipantDetails, session_schedule
from tests.browser.support import axe_violations, describe_violations, expect, log_in

pytestmark = pytest.mark.browser


def _live(url: str, live_server) -> str:
    """A link built with the test SITE_URL (http://testserver), pointed at the live server instead."""
    assert url.startswith("http://testserver/"), url
    return live_server.url + url[len("http://testserver") :]


def _booked(host, *, title="Therapy") -> Session:
    # Three days ahead: well before the organisation's 24-hour cancellation window.
    return session_schedule(
        actor=host,
        host=host,
        title=title,
        start_at=(timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0),
        duration_minutes=50,
        participants=[
            ParticipantDetails(
                name="Pat Client",
                invite_method=InviteMethod.EMAIL,
                email="pat@example.test",
                time_zone="Europe/Madrid",
            )
        ],
    )


def test_a_participant_cancels_with_a_reason_and_the_host_dashboard_shows_it(
    page, new_context, live_server, host, screenshot
):
    session = _booked(host)
    participant = session.participants.get()

    page.goto(_live(join_url(participant), live_server))
    expect(page.get_by_role("heading", name="Therapy")).to_be_visible()
    expect(page.get_by_text(f"your session with {host.full_name} is on")).to_contain_text("(Europe/Madrid)")
    page.get_by_text("Cancel", exact=True).click()
    expect(page.get_by_text("You can cancel here until")).to_be_visible()
    page.get_by_label("Reason (optional)").fill("I have the flu")
    page.get_by_role("button", name="Cancel my place").click()

    expect(page.get_by_role("status")).to_contain_text("is cancelled. " + f"{host.full_name} has been told.")
    expect(page.get_by_role("heading", name="This session was cancelled")).to_be_visible()
    screenshot(page, "participant-cancelled")
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED and session.cancelled_by_participant
    assert not Notification.objects.filter(
        participant=participant, kind=Notification.Kind.REMINDER, status=Notification.Status.PENDING
    ).exists()

    host_page = new_context().new_page()
    log_in(host_page, live_server, host)
    host_page.goto(live_server.url + reverse("sessions:dashboard"))
    row = host_page.locator(f'[data-session-id="{session.pk}"]')
    expect(row.get_by_text("Cancelled by participant").first).to_be_visible()
    expect(row).to_contain_text("“I have the flu”")
    screenshot(host_page, "host-dashboard-participant-cancelled")


def test_a_participant_confirms_and_downloads_the_session_for_their_calendar(page, live_server, host):
    session = _booked(host, title="Check-in")
    participant = session.participants.get()

    page.goto(_live(join_url(participant), live_server))
    # The answers' folded forms open, so the check sees every field of the page.
    for summary in page.locator("summary").all():
        summary.click()
    violations = axe_violations(page)
    assert not violations, describe_violations(violations)
    page.get_by_role("button", name="Confirm: I will be there").click()

    expect(page.get_by_role("status")).to_contain_text("Confirmed — see you on")
    expect(page.get_by_role("button", name="Confirm: I will be there")).to_have_count(0)
    participant.refresh_from_db()
    assert participant.answer == Answer.CONFIRMED

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    ics = download_info.value.path().read_text()
    assert f"UID:{session.uid}@consultations" in ics
    assert f"SEQUENCE:{session.calendar_sequence}" in ics
