"""A participant's pages in a real browser: the join link shown on the session page leads to the port the
site runs on; a link that no longer works says so in words for the participant; and a room whose video
engine cannot be reached says what happened and what to do, for the participant and for the host."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from config.settings.base import local_site_url
from sessions_app.join.links import join_url
from sessions_app.models import Participant
from sessions_app.services import participant_admit, participant_remove, session_connect
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser

VIDEO_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(settings.JITSI_BASE_URL))


def _live(url: str, live_server) -> str:
    """A link built with the test SITE_URL (http://testserver), pointed at the live server instead."""
    assert url.startswith("http://testserver/"), url
    return live_server.url + url[len("http://testserver") :]


def _soon(host, title="First visit"):
    """A session whose join window is open (it opens 5 minutes before the start)."""
    return SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=3), title=title)


def _video_engine_unreachable(context) -> None:
    # The frame and any request to the engine's origin fail, as when it is blocked or the network is down.
    context.route(lambda url: url.startswith(VIDEO_ORIGIN + "/"), lambda route: route.abort())


def _assert_video_unavailable_message(page) -> None:
    notice = page.get_by_role("alert").filter(has_text="The video could not be loaded")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Check that you are connected to the internet")
    expect(notice).to_contain_text("camera and microphone")
    expect(notice).to_contain_text("Try another browser")
    expect(notice.get_by_role("button", name="Reload the page")).to_be_visible()


def test_the_join_link_on_the_session_page_leads_to_the_port_in_use(
    page, new_context, live_server, host, settings, screenshot
):
    # As scripts/run.sh does: the site's address follows the port the server runs on.
    settings.SITE_URL = local_site_url(urlsplit(live_server.url).port)
    session = _soon(host)
    ParticipantFactory(session=session, name="Pat Client")
    log_in(page, live_server, host)

    page.goto(live_server.url + reverse("sessions:detail", kwargs={"pk": session.pk}))
    link = page.get_by_label("Join link for Pat Client").input_value()
    expect(page.get_by_role("button", name="Copy join link")).to_be_visible()
    assert link.startswith(settings.SITE_URL + "/join/"), link

    guest = new_context().new_page()
    guest.goto(link)
    expect(guest).to_have_url(settings.SITE_URL + reverse("join:lobby"))
    expect(guest.get_by_role("heading", name="The host will let you in")).to_be_visible()
    screenshot(guest, "join-link-from-session-page")


def test_a_revoked_link_tells_the_participant_to_ask_for_a_new_one(page, live_server, host, screenshot):
    participant = ParticipantFactory(session=_soon(host), name="Pat Client")
    link = _live(join_url(participant), live_server)
    participant_remove(actor=host, participant=participant)

    response = page.goto(link)

    assert response.status == 404
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(page.get_by_text("ask the person who invited you for a new link")).to_be_visible()
    expect(page.locator("a[href^='/login'], a[href='/']")).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot(page, "join-link-revoked")


def test_a_participant_whose_video_cannot_load_is_told_what_to_do(
    page, new_context, live_server, host, screenshot
):
    session = _soon(host)
    participant = ParticipantFactory(session=session, name="Pat Client")
    context = new_context()
    _video_engine_unreachable(context)
    guest = context.new_page()

    guest.goto(_live(join_url(participant), live_server))
    expect(guest.get_by_role("heading", name="The host will let you in")).to_be_visible()
    session_connect(actor=host, session=session)
    participant_admit(actor=host, participant=Participant.objects.get(pk=participant.pk))
    # The waiting room's poll moves the page into the room once they are let in.
    expect(guest).to_have_url(live_server.url + reverse("join:room"))

    _assert_video_unavailable_message(guest)
    expect(guest.get_by_role("alert")).to_contain_text(f"{host.full_name} can see that you have arrived")
    expect(guest.locator("a[href^='/login'], a[href='/']")).to_have_count(0)
    screenshot(guest, "participant-video-unavailable")


def test_a_host_whose_video_cannot_load_is_told_what_to_do(page, live_server, host, screenshot):
    session = _soon(host)
    _video_engine_unreachable(page.context)
    log_in(page, live_server, host)

    page.locator(f"[data-session-id='{session.pk}']").get_by_role("button", name="Connect").click()

    expect(page).to_have_url(live_server.url + reverse("sessions:video_room", kwargs={"pk": session.pk}))
    _assert_video_unavailable_message(page)
    screenshot(page, "host-video-unavailable")


def _open_room_with_a_short_load_timeout(page, live_server, host, session) -> None:
    """The host's room page, served with a short wait for the video frame (data-load-timeout-ms), so the test
    does not wait the 15 seconds a person gets."""
    session_connect(actor=host, session=session)
    room = reverse("sessions:video_room", kwargs={"pk": session.pk})

    def shorten(route):
        response = route.fetch()
        body = response.text().replace('data-load-timeout-ms="15000"', 'data-load-timeout-ms="300"')
        route.fulfill(response=response, body=body)

    page.route(lambda url: urlsplit(url).path == room, shorten)
    # Not until "load": a frame that never answers holds the page's load event back.
    page.goto(live_server.url + room, wait_until="domcontentloaded")
    expect(page.locator("#video-room")).to_have_attribute("data-load-timeout-ms", "300")


def test_a_video_engine_that_never_answers_is_reported_after_the_wait(page, live_server, host):
    session = _soon(host)
    # Neither the frame nor the probe gets an answer: a provider that hangs.
    page.context.route(lambda url: url.startswith(VIDEO_ORIGIN + "/"), lambda route: None)
    log_in(page, live_server, host)

    _open_room_with_a_short_load_timeout(page, live_server, host, session)

    _assert_video_unavailable_message(page)


def test_a_video_engine_that_answers_shows_no_message(page, live_server, host):
    session = _soon(host)
    page.context.route(
        lambda url: url.startswith(VIDEO_ORIGIN + "/"),
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>The video engine</p>"),
    )
    log_in(page, live_server, host)

    _open_room_with_a_short_load_timeout(page, live_server, host, session)

    expect(page.frame_locator("#video-room").get_by_text("The video engine")).to_be_visible()
    # Well past the wait for the frame: the message never shows.
    page.wait_for_timeout(1000)
    expect(page.locator("#video-unavailable")).to_be_hidden()


def test_the_not_open_page_opens_the_waiting_room_by_itself(page, live_server, host):
    # The join window opens two seconds from now.
    start = timezone.now() + settings.JOIN_OPENS_BEFORE + timedelta(seconds=2)
    participant = ParticipantFactory(session=SessionFactory(host=host, start_at=start), name="Pat Client")

    page.goto(_live(join_url(participant), live_server))
    expect(page.get_by_text("The room opens at")).to_be_visible()
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)

    # No goto or reload by the test: the page reloads itself once the window is open.
    expect(page.get_by_role("heading", name="The host will let you in")).to_be_visible()
