"""The way in, in two real browsers: a participant fills the required consent from their link and waits;
the host connects and lets them in; the participant's page moves into the room by itself."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from documents.models import DocumentField, Submission
from documents.services import document_create, document_field_add
from sessions_app.join.links import join_url
from sessions_app.models import Participant
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser


def _live(url: str, live_server) -> str:
    """A link built with the test SITE_URL (http://testserver), pointed at the live server instead."""
    assert url.startswith("http://testserver/"), url
    return live_server.url + url[len("http://testserver") :]


def _watch(page, problems: list) -> None:
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
    )


def test_a_participant_fills_the_consent_waits_and_is_let_in_by_the_host(
    page, new_context, live_server, host, screenshot
):
    consent = document_create(actor=host, title="Consent to treatment", is_required=True)
    document_field_add(
        actor=host, document=consent, kind=DocumentField.Kind.CONSENT, label="I agree", required=True
    )
    # Inside the join window (it opens 5 minutes before the start).
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=3), title="First visit")
    pat = ParticipantFactory(session=session, name="Pat Client", time_zone="Europe/Paris")
    problems: list[str] = []

    guest = new_context().new_page()
    _watch(guest, problems)
    guest.goto(_live(join_url(pat), live_server))
    # The required document comes first.
    expect(guest).to_have_url(live_server.url + "/join/documents/")
    guest.get_by_role("link", name="Fill in Consent to treatment").click()
    guest.get_by_label("I agree").check()
    guest.get_by_role("button", name="Submit").click()
    expect(guest).to_have_url(live_server.url + "/join/documents/")
    expect(guest.get_by_text("Submitted", exact=True)).to_be_visible()
    guest.get_by_role("link", name="Continue").click()

    expect(guest).to_have_url(live_server.url + "/join/")
    expect(guest.get_by_role("heading", name="The host will let you in")).to_be_visible()
    expect(guest.locator(".join-card")).to_contain_text("First visit")
    expect(guest.locator(".join-card")).to_contain_text(host.full_name)
    expect(guest.locator("#waiting-status")).to_contain_text("has not joined yet")
    expect(guest.locator("#video-room")).to_have_count(0)
    screenshot(guest, "waiting-room")

    _watch(page, problems)
    log_in(page, live_server, host)
    card = page.locator(f"[data-session-id='{session.pk}']")
    expect(card.locator(f"#waiting-room-{session.pk}")).to_contain_text("Pat Client")
    expect(card.locator(f"#waiting-room-{session.pk}")).to_contain_text("Connect first")
    card.get_by_role("button", name="Connect").click()

    # In the room the host sees who waits; the participant hears that the host is in without reloading.
    waiting = page.locator(f"#waiting-room-{session.pk}")
    expect(waiting).to_contain_text("Pat Client")
    expect(guest.locator("#waiting-status")).to_contain_text("is in the session")
    page.get_by_role("button", name="Admit Pat Client").click()
    expect(waiting).not_to_contain_text("Pat Client")

    # No goto or reload on the participant's page: the polled status sends it to the room.
    expect(guest).to_have_url(live_server.url + "/join/room/")
    frame = guest.locator("iframe#video-room")
    expect(frame).to_be_attached()
    src = frame.get_attribute("src")
    assert urlsplit(src).netloc == urlsplit(settings.JITSI_BASE_URL).netloc
    assert session.video_room_name in src
    expect(guest.get_by_text("Joined as Pat Client")).to_be_visible()
    screenshot(guest, "room-after-admission")

    pat = Participant.objects.get(pk=pat.pk)
    assert pat.waiting_since is not None and pat.admitted_at is not None and pat.joined_at is not None
    assert Submission.objects.get(participant=pat, document=consent).status == Submission.Status.SUBMITTED
    assert problems == []
