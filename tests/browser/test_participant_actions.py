"""Participant actions in a real browser: add a participant with the contact autofill (on the Add participant
page and on the Schedule form), edit one, remind one and remove one."""

import re
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from contacts.models import Contact, InviteMethod
from notifications.models import Notification
from sessions_app.join.links import join_url
from sessions_app.models import Session
from tests.browser.support import expect, log_in
from tests.factories import ContactFactory, ParticipantFactory, SessionFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def script_errors(page):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    return errors


@pytest.fixture
def session(host):
    return SessionFactory(host=host, title="Follow-up review")


@pytest.fixture
def pat(session):
    contact = ContactFactory(
        organization=session.organization,
        name="Pat Client",
        email="pat@example.test",
        time_zone="Europe/Paris",
    )
    return ParticipantFactory(
        session=session,
        contact=contact,
        name="Pat Client",
        email="pat@example.test",
        time_zone="Europe/Paris",
    )


def _detail(live_server, session) -> str:
    return live_server.url + reverse("sessions:detail", kwargs={"pk": session.pk})


def _participant_rows(page: "Page"):
    return page.locator(".list-group .list-group-item")


def test_add_participant_with_the_contact_autofill(
    page, live_server, host, session, pat, script_errors, screenshot
):
    patricia = ContactFactory(
        organization=host.organization,
        name="Patricia Lane",
        email="patricia@example.test",
        preferred_method=InviteMethod.EMAIL,
        time_zone="America/New_York",
    )
    ContactFactory(name="Patrick Elsewhere")  # another organisation's contact: never suggested
    log_in(page, live_server, host)
    page.goto(_detail(live_server, session))
    page.get_by_role("link", name="Add participant").click()
    expect(page.get_by_role("heading", name="Add participant")).to_be_visible()
    # The participant's zone starts as the host's.
    expect(page.get_by_label("Time zone")).to_have_value(host.time_zone)
    expect(page.locator("[data-contact-field='phone']")).to_be_hidden()

    page.get_by_label("Name or initials").press_sequentially("Patr")
    suggestions = page.get_by_role("listbox", name="Matching contacts")
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions.get_by_role("option")).to_contain_text("Patricia Lane")
    expect(suggestions.get_by_role("option")).to_contain_text("patricia@example.test")
    screenshot(page, "participant-add-suggestions")
    suggestions.get_by_role("option", name=re.compile("Patricia Lane")).click()

    expect(suggestions).to_be_hidden()
    expect(page.get_by_label("Name or initials")).to_have_value("Patricia Lane")
    expect(page.get_by_label("Session invite and reminders")).to_have_value("email")
    expect(page.get_by_label("Email")).to_have_value("patricia@example.test")
    expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    expect(page.locator("input[name='contact_id']")).to_have_value(str(patricia.pk))
    page.get_by_role("button", name="Add participant").click()

    expect(page).to_have_url(_detail(live_server, session))
    expect(page.get_by_role("status")).to_contain_text("Patricia Lane is added. Their invite is on its way.")
    expect(_participant_rows(page)).to_have_count(2)
    expect(_participant_rows(page).nth(1)).to_contain_text("Patricia Lane")
    expect(_participant_rows(page).nth(1)).to_contain_text("America/New_York")
    added = session.participants.get(name="Patricia Lane")
    assert added.contact == patricia
    assert Notification.objects.filter(participant=added, kind=Notification.Kind.INVITE).count() == 1
    assert Contact.objects.filter(organization=host.organization).count() == 2
    assert script_errors == []


def test_keyboard_picks_a_suggestion_on_an_added_schedule_form_row(
    page, live_server, host, script_errors, screenshot
):
    sam = ContactFactory(
        organization=host.organization,
        name="Sam Text",
        email="",
        phone="+447911123456",
        preferred_method=InviteMethod.SMS,
        time_zone="Asia/Tokyo",
    )
    log_in(page, live_server, host)
    page.get_by_role("link", name="Schedule session", exact=True).click()
    # participants.js brings the autofill script in after the page has loaded.
    # A function, not an expression: the page's Content-Security-Policy refuses the eval an expression needs.
    page.wait_for_function("() => window.contactAutofillReady === true")
    page.get_by_role("button", name="Add another participant").click()
    row = page.locator("#participant-forms .participant-form").nth(1)
    name = row.get_by_label("Name or initials")
    name.press_sequentially("sam")
    expect(row.get_by_role("listbox", name="Matching contacts").get_by_role("option")).to_have_count(1)
    screenshot(page, "schedule-form-suggestions")
    name.press("ArrowDown")
    name.press("Enter")

    expect(name).to_have_value("Sam Text")
    expect(row.get_by_label("Session invite and reminders")).to_have_value("sms")
    expect(row.locator("[data-contact-field='phone']")).to_be_visible()
    expect(row.locator("[data-contact-field='email']")).to_be_hidden()
    expect(row.get_by_label("Mobile number")).to_have_value("+447911123456")
    expect(row.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    expect(row.locator("input[name='participants-1-contact_id']")).to_have_value(str(sam.pk))
    # Typing a different name afterwards unlinks the contact again.
    name.press_sequentially("my")
    expect(row.locator("input[name='participants-1-contact_id']")).to_have_value("")
    # The first row, untouched, still shows its email field; Enter picked and did not submit.
    expect(
        page.locator("#participant-forms .participant-form").nth(0).locator("[data-contact-field='email']")
    ).to_be_visible()
    expect(page).to_have_url(live_server.url + "/sessions/new/")
    assert not Session.objects.exists()
    assert script_errors == []


def test_edit_a_participant_to_sms_updates_the_contact(
    page, live_server, host, session, pat, script_errors, screenshot
):
    log_in(page, live_server, host)
    page.goto(_detail(live_server, session))
    page.get_by_role("link", name="Edit Pat Client").click()

    expect(page.get_by_role("heading", name="Edit Pat Client")).to_be_visible()
    expect(page.get_by_text("The name is changed on the contact page.")).to_be_visible()
    expect(page.get_by_label("Name or initials")).to_have_count(0)
    expect(page.get_by_label("Email")).to_have_value("pat@example.test")
    expect(page.locator("[data-contact-field='phone']")).to_be_hidden()
    page.get_by_label("Session invite and reminders").select_option("sms")
    expect(page.locator("[data-contact-field='phone']")).to_be_visible()
    expect(page.locator("[data-contact-field='email']")).to_be_hidden()
    page.get_by_label("Mobile number").fill("+447911123456")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    screenshot(page, "participant-edit")
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(_detail(live_server, session))
    expect(page.get_by_role("status")).to_contain_text("Pat Client's details are saved.")
    expect(_participant_rows(page).first).to_contain_text("SMS · +447911123456")
    expect(_participant_rows(page).first).to_contain_text("Asia/Tokyo")
    pat.refresh_from_db()
    pat.contact.refresh_from_db()
    assert (pat.invite_method, str(pat.phone), pat.time_zone) == ("sms", "+447911123456", "Asia/Tokyo")
    assert (pat.contact.preferred_method, str(pat.contact.phone), pat.contact.time_zone) == (
        "sms",
        "+447911123456",
        "Asia/Tokyo",
    )
    assert script_errors == []


def test_remind_from_the_dashboard_sends_once_a_minute(page, live_server, host, session, pat, screenshot):
    log_in(page, live_server, host)
    row = page.locator(f"[data-session-id='{session.pk}']")
    expect(row).to_contain_text("Pat Client")
    expect(row.get_by_role("link", name="Edit Pat Client")).to_be_visible()
    expect(row.get_by_role("link", name="Remove Pat Client")).to_be_visible()
    screenshot(page, "participant-actions-dashboard")
    row.get_by_role("button", name="Remind Pat Client").click()

    # Back on the dashboard it was clicked from.
    expect(page.get_by_role("status")).to_contain_text("A reminder is on its way to Pat Client.")
    expect(page).to_have_url(live_server.url + "/")
    assert Notification.objects.filter(participant=pat, kind=Notification.Kind.REMIND).count() == 1

    page.locator(f"[data-session-id='{session.pk}']").get_by_role("button", name="Remind Pat Client").click()
    expect(page.get_by_role("alert")).to_contain_text("Pat Client was reminded less than a minute ago.")
    assert Notification.objects.filter(participant=pat, kind=Notification.Kind.REMIND).count() == 1


def test_remove_a_participant_after_confirming(page, live_server, host, session, pat, screenshot):
    ParticipantFactory(session=session, name="Kim Stays")
    old_link = join_url(pat)
    log_in(page, live_server, host)
    page.goto(_detail(live_server, session))
    screenshot(page, "participant-actions-session")
    page.get_by_role("link", name="Remove Pat Client").click()

    expect(page.get_by_role("heading", name="Remove Pat Client from this session?")).to_be_visible()
    expect(page.get_by_text("Their join link stops working at once.")).to_be_visible()
    screenshot(page, "participant-remove-confirm")
    page.get_by_role("button", name="Remove Pat Client").click()

    expect(page).to_have_url(_detail(live_server, session))
    expect(page.get_by_role("status")).to_contain_text("Pat Client is removed from “Follow-up review”.")
    expect(_participant_rows(page)).to_have_count(1)
    expect(_participant_rows(page).first).to_contain_text("Kim Stays")
    expect(page.get_by_role("link", name="Edit Pat Client")).to_have_count(0)
    pat.refresh_from_db()
    assert pat.removed_at is not None
    assert Notification.objects.filter(participant=pat, kind=Notification.Kind.REMOVED).count() == 1

    response = page.goto(live_server.url + old_link.removeprefix("http://testserver"))
    assert response.status == 404
