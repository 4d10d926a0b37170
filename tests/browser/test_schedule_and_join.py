"""The main flows in a real browser: a host or a scheduler schedules a session through the form (with its
participants script), invites go out, and a participant opens their personal join link."""

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent
from billing.models import Payment
from notifications.services import notices_deliver_due
from sessions_app.join.links import join_url
from sessions_app.models import Participant, Session
from tests.billing.pages import connect, service_of
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

JOIN_LINK = re.compile(r"http://testserver(/join/[A-Za-z0-9_-]+/)")


def _live(url: str, live_server) -> str:
    """A link built with the test SITE_URL (http://testserver), pointed at the live server instead."""
    assert url.startswith("http://testserver/"), url
    return live_server.url + url[len("http://testserver") :]


def _start_in_zone(zone, minutes: int = 3):
    """A start a few minutes ahead, in the host's zone. The form takes whole minutes, so the start it saves
    is up to a minute earlier: 3 minutes ahead is still in the future, and inside the join window."""
    return (timezone.now() + timedelta(minutes=minutes)).astimezone(zone)


def _fill_session(page: "Page", *, title: str, start) -> None:
    page.locator("#id_title").fill(title)
    page.locator("#id_date").fill(f"{start:%Y-%m-%d}")
    page.locator("#id_time").fill(f"{start:%H:%M}")


def _participant(page: "Page", index: int):
    return page.locator("#participant-forms .participant-form").nth(index)


def _fill_participant(
    fieldset, *, name: str, method: str, time_zone: str, email: str = "", phone: str = ""
) -> None:
    fieldset.get_by_label("Name or initials").fill(name)
    fieldset.get_by_label("Session invite and reminders").select_option(method)
    if email:
        fieldset.get_by_label("Email").fill(email)
    if phone:
        fieldset.get_by_label("Mobile number").fill(phone)
    fieldset.get_by_label("Time zone").select_option(time_zone)


def test_host_schedules_two_participants_and_a_participant_joins_from_the_email(
    page, new_context, live_server, host, settings, tmp_path, screenshot
):
    settings.SMS_FILE_PATH = tmp_path / "sms"
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    log_in(page, live_server, host)
    expect(page).to_have_url(live_server.url + "/")

    page.get_by_role("link", name="Schedule session", exact=True).click()
    expect(page).to_have_url(live_server.url + "/sessions/new/")
    _fill_session(page, title="Follow-up review", start=_start_in_zone(host.zone))

    first = _participant(page, 0)
    expect(first.locator("[data-contact-field='email']")).to_be_visible()
    expect(first.locator("[data-contact-field='phone']")).to_be_hidden()
    # With a single participant there is nothing to remove.
    expect(first.get_by_role("button", name="Remove this participant")).to_be_hidden()
    _fill_participant(
        first, name="Pat Email", method="email", email="pat@example.test", time_zone="Europe/Paris"
    )

    page.get_by_role("button", name="Add another participant").click()
    expect(page.locator("#participant-forms .participant-form")).to_have_count(2)
    expect(page.locator("#id_participants-TOTAL_FORMS")).to_have_value("2")
    second = _participant(page, 1)
    expect(second.get_by_label("Name or initials")).to_be_focused()
    expect(second.get_by_role("button", name="Remove this participant")).to_be_visible()
    expect(second.locator("[data-contact-field='email']")).to_be_visible()
    expect(second.locator("[data-contact-field='phone']")).to_be_hidden()
    # The phone field follows the invite method, both ways.
    second.get_by_label("Session invite and reminders").select_option("sms")
    expect(second.locator("[data-contact-field='phone']")).to_be_visible()
    expect(second.locator("[data-contact-field='email']")).to_be_hidden()
    second.get_by_label("Session invite and reminders").select_option("email")
    expect(second.locator("[data-contact-field='phone']")).to_be_hidden()
    second.get_by_label("Session invite and reminders").select_option("whatsapp")
    expect(second.locator("[data-contact-field='phone']")).to_be_visible()
    _fill_participant(
        second, name="Sam Text", method="sms", phone="+447911123456", time_zone="America/New_York"
    )
    expect(first.locator("[data-contact-field='phone']")).to_be_hidden()
    screenshot(page, "schedule-form")

    page.get_by_role("button", name="Schedule and send invites").click()

    # Wait for the redirect before reading the database: the click returns once the POST has started.
    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    session = Session.objects.get(title="Follow-up review")
    assert page.url == f"{live_server.url}/sessions/{session.pk}/"
    expect(page.get_by_role("status")).to_contain_text("Invites are on their way to 2 participants")
    rows = page.locator(".list-group-item")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Pat Email")
    expect(rows.nth(0)).to_contain_text("pat@example.test")
    expect(rows.nth(0)).to_contain_text("Europe/Paris")
    expect(rows.nth(1)).to_contain_text("Sam Text")
    expect(rows.nth(1)).to_contain_text("SMS · +447911123456")
    expect(rows.nth(1)).to_contain_text("America/New_York")
    expect(page.get_by_role("button", name="Connect")).to_be_visible()

    page.goto(live_server.url + "/")
    listed = page.locator(f"[data-session-id='{session.pk}']")
    expect(listed).to_contain_text("Follow-up review")
    expect(listed).to_contain_text("Pat Email")
    expect(listed).to_contain_text("Sam Text")

    pat = session.participants.get(name="Pat Email")
    sam = session.participants.get(name="Sam Text")
    assert (pat.email, pat.time_zone) == ("pat@example.test", "Europe/Paris")
    assert (sam.invite_method, str(sam.phone), sam.time_zone) == ("sms", "+447911123456", "America/New_York")

    assert notices_deliver_due() == 2
    emails = [m for m in mail.outbox if m.to == ["pat@example.test"]]
    assert len(emails) == 1, [m.to for m in mail.outbox]
    link = JOIN_LINK.search(emails[0].body)
    assert link, emails[0].body
    texts = [json.loads(p.read_text()) for p in (tmp_path / "sms").glob("*.json")]
    assert [(t["channel"], t["to"]) for t in texts] == [("sms", "+447911123456")]
    assert JOIN_LINK.search(texts[0]["body"])

    guest = new_context().new_page()
    guest.goto(live_server.url + link.group(1))
    # The token was traded for a cookie and left the address bar; Pat waits until the host lets them in
    # (tests/browser/test_waiting_room.py follows that step closely).
    expect(guest).to_have_url(live_server.url + "/join/")
    expect(guest.get_by_role("heading", name="The host will let you in")).to_be_visible()
    listed.get_by_role("button", name="Connect").click()
    page.get_by_role("button", name="Admit Pat Email").click()
    expect(guest).to_have_url(live_server.url + "/join/room/")
    expect(guest.locator("#room-title")).to_have_text("Follow-up review")
    expect(guest.locator("iframe#video-room")).to_be_attached()
    expect(guest.get_by_text("Joined as Pat Email")).to_be_visible()
    expect(guest.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot(guest, "room")

    pat.refresh_from_db()
    sam.refresh_from_db()
    assert pat.joined_at is not None
    assert sam.joined_at is None
    assert script_errors == []


def test_scheduler_schedules_for_a_host_from_the_scheduling_tab(page, live_server, host, scheduler):
    log_in(page, live_server, scheduler)
    # A scheduler who has not chosen a host lands on the Scheduling tab.
    expect(page).to_have_url(live_server.url + "/scheduling/")
    expect(page.locator("#acting-for-banner")).to_have_count(0)

    page.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    expect(page).to_have_url(live_server.url + "/")
    banner = page.locator("#acting-for-banner")
    expect(banner).to_contain_text("Acting for")
    expect(banner).to_contain_text(host.full_name)

    page.get_by_role("link", name="Schedule session", exact=True).click()
    expect(page.get_by_role("heading", name=f"Schedule session for {host.full_name}")).to_be_visible()
    expect(page.locator("#acting-for-banner")).to_contain_text(host.full_name)
    # Times are typed in the host's zone.
    expect(page.get_by_text(f"In {host.time_zone.replace('_', ' ')}, the host's time zone.")).to_be_visible()
    _fill_session(page, title="Intake call", start=_start_in_zone(host.zone, minutes=60))
    _fill_participant(
        _participant(page, 0),
        name="Kim Client",
        method="email",
        email="kim@example.test",
        time_zone="Europe/Berlin",
    )
    page.get_by_role("button", name="Schedule and send invites").click()

    expect(page).to_have_url(re.compile(r"/sessions/\d+/$"))
    session = Session.objects.get(title="Intake call")
    assert page.url == f"{live_server.url}/sessions/{session.pk}/"
    expect(page.get_by_text(f"Host: {host.full_name}")).to_be_visible()
    expect(page.locator(".list-group-item")).to_contain_text("Kim Client")
    # Only the host connects; the scheduler never sees the button.
    expect(page.get_by_role("button", name="Connect")).to_have_count(0)
    page.goto(live_server.url + "/")
    expect(page.locator(f"[data-session-id='{session.pk}']")).to_contain_text("Kim Client")
    expect(page.get_by_role("button", name="Connect")).to_have_count(0)

    assert session.host == host
    assert session.created_by == scheduler
    event = AuditEvent.objects.get(action="session.schedule")
    assert (event.actor, event.acting_for) == (scheduler, host)
    assert event.object_id == str(session.pk)


def test_bad_participant_input_keeps_what_was_typed(page, live_server, host):
    log_in(page, live_server, host)
    page.goto(live_server.url + "/sessions/new/")
    _fill_session(page, title="Second opinion", start=_start_in_zone(host.zone, minutes=60))
    fieldset = _participant(page, 0)
    _fill_participant(fieldset, name="No Address", method="email", time_zone="Asia/Tokyo")
    page.get_by_role("button", name="Schedule and send invites").click()

    fieldset = _participant(page, 0)
    expect(fieldset.get_by_text("Enter an email address to send the invite to.")).to_be_visible()
    expect(page).to_have_url(live_server.url + "/sessions/new/")
    expect(page.locator("#id_title")).to_have_value("Second opinion")
    expect(fieldset.get_by_label("Name or initials")).to_have_value("No Address")
    expect(fieldset.get_by_label("Session invite and reminders")).to_have_value("email")
    expect(fieldset.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    expect(fieldset.get_by_label("Email")).to_be_visible()
    assert not Session.objects.exists()


def test_join_link_before_the_window_says_when_it_opens(page, live_server, host):
    start = timezone.now() + timedelta(hours=2)
    session = SessionFactory(host=host, start_at=start, title="Evening check-in")
    participant = ParticipantFactory(session=session, name="Ravi", time_zone="Asia/Kolkata")
    opens = (start - timedelta(minutes=5)).astimezone(participant.zone)

    page.goto(_live(join_url(participant), live_server))

    expect(page).to_have_url(live_server.url + "/join/")
    card = page.locator(".join-card")
    expect(card).to_contain_text("Evening check-in")
    expect(card).to_contain_text("The room opens at")
    expect(card.locator("strong").nth(1)).to_have_text(
        f"{opens:%A} {opens.day} {opens:%B %Y, %H:%M} IST (Asia/Kolkata)"
    )
    expect(page.locator("#video-room")).to_have_count(0)
    assert Participant.objects.get(pk=participant.pk).joined_at is None


def test_a_removed_participant_stays_removed_when_the_form_comes_back_with_errors(page, live_server, host):
    log_in(page, live_server, host)
    page.goto(live_server.url + "/sessions/new/")
    _fill_session(page, title="Family meeting", start=_start_in_zone(host.zone, minutes=60))
    _fill_participant(_participant(page, 0), name="No Address", method="email", time_zone="Europe/London")
    page.get_by_role("button", name="Add another participant").click()
    removed = _participant(page, 1)
    _fill_participant(removed, name="Changed Mind", method="email", email="cm@example.test", time_zone="UTC")
    removed.get_by_role("button", name="Remove this participant").click()
    expect(removed).to_be_hidden()
    page.get_by_role("button", name="Schedule and send invites").click()

    expect(page.get_by_text("Enter an email address to send the invite to.")).to_be_visible()
    expect(page.locator("#id_participants-1-DELETE")).to_be_checked()
    # The form must not show a participant who will not be scheduled.
    expect(page.locator("#participant-forms .participant-form").nth(1)).to_be_hidden(timeout=2_000)


def test_picking_a_service_in_an_added_participant_row_fills_in_that_rows_payment(
    page, live_server, host, settings
):
    settings.STRIPE_SECRET_KEY = "sk_test_schedule"
    connect(host.organization)
    service = service_of(host.organization, name="Consultation", price=8000, currency="gbp")
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    log_in(page, live_server, host)
    page.goto(live_server.url + "/sessions/new/")
    _fill_session(page, title="Assessment", start=_start_in_zone(host.zone, minutes=60))
    first = _participant(page, 0)
    _fill_participant(first, name="Free Visit", method="email", email="free@example.test", time_zone="UTC")
    page.get_by_role("button", name="Add another participant").click()
    second = _participant(page, 1)
    _fill_participant(second, name="Pat Payer", method="email", email="pat@example.test", time_zone="UTC")

    # The row added by the button is served like the first: its own amount and currency, not the first row's.
    second.get_by_label("Service").select_option(label="Consultation · 80.00 GBP")
    expect(second.get_by_label("Payment required")).to_have_value("80.00")
    expect(second.get_by_label("Currency")).to_have_value("gbp")
    expect(first.get_by_label("Payment required")).to_have_value("")
    page.get_by_role("button", name="Schedule and send invites").click()

    expect(page.get_by_text("Pat Payer is asked to pay 80.00 GBP before they can join.")).to_be_visible()
    payment = Payment.objects.get()
    assert (payment.participant.name, payment.amount, payment.currency, payment.service) == (
        "Pat Payer",
        8000,
        "gbp",
        service,
    )
    assert script_errors == []
