"""The Contacts pages in a real browser: a host adds a contact, finds it with the search and corrects it;
imports a CSV file through its preview; downloads the address book and one person's data; deletes one
contact and erases another. Another organisation's contacts never show, and no page raises a script error."""

import csv
import json
import re
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from contacts.models import Contact, InviteMethod
from sessions_app.models import Participant
from tests.browser.support import expect, log_in
from tests.contacts.support import book, held
from tests.factories import ContactFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def script_errors(page):
    """Uncaught exceptions and console errors (a script the Content-Security-Policy refused among them)."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


@pytest.fixture
def elsewhere(db):
    """Another organisation's contact: its name matches the search below, its email a row of the import."""
    return ContactFactory(name="Robin Elsewhere", email="kai@example.test")


def _url(live_server, name: str, *args) -> str:
    return live_server.url + reverse(name, args=args)


def _contact_rows(page: "Page"):
    return page.locator("#contacts-table tbody tr[data-contact-id]")


def test_a_host_adds_a_contact_finds_it_and_corrects_its_details(
    page, live_server, host, elsewhere, script_errors, screenshot
):
    ContactFactory(organization=host.organization, name="Ann Able", email="ann@example.test")
    log_in(page, live_server, host)
    page.get_by_role("link", name="Contacts", exact=True).click()
    page.get_by_role("link", name="New contact").click()
    expect(page.get_by_role("heading", name="New contact")).to_be_visible()
    # A new contact starts in the host's own zone.
    expect(page.get_by_label("Time zone")).to_have_value("Europe/London")

    page.get_by_label("Name or initials").fill("Robin Quill")
    page.get_by_label("Email").fill("robin@quill")
    page.get_by_label("Mobile number").fill("+44 12")
    page.get_by_role("button", name="Add contact").click()

    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.get_by_text("Enter a valid phone number")).to_be_visible()
    expect(page.get_by_label("Name or initials")).to_have_value("Robin Quill")
    expect(page.get_by_label("Email")).to_have_value("robin@quill")
    expect(page.get_by_label("Mobile number")).to_have_value("+44 12")
    screenshot(page, "contact-new-refused")
    assert not Contact.objects.filter(name="Robin Quill").exists()

    # The form passes, the service refuses: invites by email need an address.
    page.get_by_label("Email").fill("")
    page.get_by_label("Mobile number").fill("")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_text("Enter an email address: the invites go by email.")).to_be_visible()
    expect(page.get_by_label("Name or initials")).to_have_value("Robin Quill")
    assert not Contact.objects.filter(name="Robin Quill").exists()

    page.get_by_label("Email").fill("robin@quill.example.test")
    page.get_by_role("button", name="Add contact").click()

    robin = Contact.objects.get(name="Robin Quill")
    expect(page).to_have_url(_url(live_server, "contacts:detail", robin.pk))
    expect(page.get_by_role("status")).to_contain_text("Robin Quill is added to your contacts.")
    details = page.locator("#contact-details")
    expect(details).to_contain_text("robin@quill.example.test")
    expect(details).to_contain_text("Europe/London")
    assert (robin.organization, robin.email, robin.time_zone) == (
        host.organization,
        "robin@quill.example.test",
        "Europe/London",
    )

    page.get_by_role("link", name="Contacts", exact=True).click()
    expect(_contact_rows(page)).to_have_count(2)
    page.get_by_role("searchbox").fill("robin")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"\?q=robin$"))
    expect(_contact_rows(page)).to_have_count(1)
    expect(_contact_rows(page)).to_contain_text("Robin Quill")
    expect(page.get_by_text("Robin Elsewhere")).to_have_count(0)
    page.get_by_role("searchbox").fill("nobody-here")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#contacts-table")).to_contain_text("No contact matches “nobody-here”.")
    expect(_contact_rows(page)).to_have_count(0)
    page.get_by_role("link", name="Clear").click()
    expect(_contact_rows(page)).to_have_count(2)
    page.get_by_role("link", name="Robin Quill").click()

    expect(page.get_by_role("heading", name="Robin Quill")).to_be_visible()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Edit Robin Quill")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("robin@quill.example.test")
    page.get_by_label("Email").fill("robin.q@example.test")
    page.get_by_label("Session invite and reminders").select_option("sms")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_label("Mobile number").fill("+44 7911 12")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_text("Enter a valid phone number")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("robin.q@example.test")
    expect(page.get_by_label("Session invite and reminders")).to_have_value("sms")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    expect(page.get_by_label("Mobile number")).to_have_value("+44 7911 12")
    robin.refresh_from_db()
    assert (robin.email, robin.time_zone, str(robin.phone)) == (
        "robin@quill.example.test",
        "Europe/London",
        "",
    )

    page.get_by_label("Mobile number").fill("+44 7911 123456")
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(_url(live_server, "contacts:detail", robin.pk))
    expect(page.get_by_role("status")).to_contain_text("Robin Quill's details are saved.")
    expect(details).to_contain_text("robin.q@example.test")
    expect(details).to_contain_text("+447911123456")
    expect(details).to_contain_text("SMS")
    expect(details).to_contain_text("Asia/Tokyo")
    screenshot(page, "contact-edited")
    robin.refresh_from_db()
    assert (robin.email, str(robin.phone), robin.preferred_method, robin.time_zone) == (
        "robin.q@example.test",
        "+447911123456",
        InviteMethod.SMS,
        "Asia/Tokyo",
    )
    assert script_errors == []


def test_a_host_imports_a_csv_file_after_checking_its_rows(
    page, live_server, host, elsewhere, tmp_path, script_errors, screenshot
):
    ContactFactory(organization=host.organization, name="Ann Able", email="ann@example.test")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("full name,mail\nInes Import,ines@example.test\n", encoding="utf-8")
    upload = tmp_path / "contacts.csv"
    upload.write_text(
        "name,email,phone,preferred_method,time_zone,note\n"
        "Ines Import,ines@example.test,+44 7911 123456,sms,europe/berlin,Met at the May workshop\n"
        "Ann Again,ANN@example.test,,,,\n"
        "Nell Nomail,not-an-address,,,,\n"
        "Kai Kite,kai@example.test,,,,\n",
        encoding="utf-8",
    )
    log_in(page, live_server, host)
    page.goto(_url(live_server, "contacts:list"))
    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", name="Import contacts from a CSV file")).to_be_visible()

    page.get_by_label("CSV file").set_input_files(wrong)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("The first line must name the columns, each once")).to_be_visible()
    expect(page.locator("#import-rows")).to_have_count(0)

    page.get_by_label("CSV file").set_input_files(upload)
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="Import contacts: check the rows")).to_be_visible()
    expect(page.get_by_text("2 of 4 rows can be imported.")).to_be_visible()
    rows = page.locator("#import-rows tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Ines Import")
    expect(rows.nth(0)).to_contain_text("+447911123456")
    expect(rows.nth(0)).to_contain_text("Europe/Berlin")
    expect(rows.nth(0)).to_contain_text("Will be imported")
    expect(rows.nth(1)).to_contain_text("Skipped: Already a contact.")
    expect(rows.nth(2)).to_contain_text("“not-an-address” is not a valid email address.")
    expect(rows.nth(2)).to_have_class(re.compile(r"\btable-danger\b"))
    expect(rows.nth(3)).to_contain_text("Kai Kite")
    # Another organisation's contact with the same email is no reason to skip the row.
    expect(rows.nth(3)).to_contain_text("Will be imported")
    # No zone in the file: the importer's own.
    expect(rows.nth(3)).to_contain_text("Europe/London")
    screenshot(page, "contacts-import-preview")
    # Nothing is written before the confirmation.
    assert Contact.objects.filter(organization=host.organization).count() == 1

    page.get_by_role("button", name="Import 2 contacts").click()

    expect(page).to_have_url(_url(live_server, "contacts:list"))
    expect(page.get_by_role("status")).to_contain_text("2 contacts imported.")
    expect(_contact_rows(page)).to_have_count(3)
    for name in ("Ann Able", "Ines Import", "Kai Kite"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_text("Nell Nomail")).to_have_count(0)
    imported = {
        contact.name: (
            contact.email,
            str(contact.phone),
            contact.preferred_method,
            contact.time_zone,
            contact.note,
        )
        for contact in Contact.objects.filter(organization=host.organization)
    }
    assert imported == {
        "Ann Able": ("ann@example.test", "", InviteMethod.EMAIL, "Europe/Paris", ""),
        "Ines Import": (
            "ines@example.test",
            "+447911123456",
            InviteMethod.SMS,
            "Europe/Berlin",
            "Met at the May workshop",
        ),
        "Kai Kite": ("kai@example.test", "", InviteMethod.EMAIL, "Europe/London", ""),
    }
    assert AuditEvent.objects.filter(action="contact.import", actor=host).count() == 1
    assert script_errors == []


def test_a_host_downloads_the_address_book_and_one_persons_data(
    page, live_server, host, elsewhere, script_errors
):
    ann = ContactFactory(
        organization=host.organization,
        name="Ann Able",
        email="ann@example.test",
        phone="+447911123456",
        time_zone="America/New_York",
        note="Prefers mornings",
    )
    ContactFactory(organization=host.organization, name="Bo Ek", email="bo@example.test")
    held(host, ann, title="First consultation")
    log_in(page, live_server, host)
    page.goto(_url(live_server, "contacts:list"))
    today = f"{timezone.now().astimezone(host.zone):%Y-%m-%d}"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value

    assert download.suggested_filename == f"contacts-{host.organization.slug}-{today}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as file:
        lines = list(csv.reader(file))
    assert lines == [
        ["name", "email", "phone", "preferred_method", "time_zone", "note"],
        # The number starts with "+": a spreadsheet would run it as a formula without the apostrophe.
        ["Ann Able", "ann@example.test", "'+447911123456", "email", "America/New_York", "Prefers mornings"],
        ["Bo Ek", "bo@example.test", "", "email", "Europe/Paris", ""],
    ]
    assert AuditEvent.objects.filter(action="contact.export", actor=host).count() == 1

    page.get_by_role("link", name="Ann Able").click()
    page.get_by_role("link", name="Export data").click()
    expect(page.get_by_role("heading", name="Export Ann Able's data")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the data").click()
    download = download_info.value

    assert download.suggested_filename == f"contact-{ann.pk}-data-{today}.json"
    data = json.loads(download.path().read_text(encoding="utf-8"))
    assert (data["contact"]["name"], data["contact"]["email"], data["contact"]["note"]) == (
        "Ann Able",
        "ann@example.test",
        "Prefers mornings",
    )
    assert [item["session"] for item in data["participations"]] == ["First consultation"]
    assert [notice["recipient"] for notice in data["notices"]] == ["ann@example.test"]
    assert AuditEvent.objects.filter(action="contact.export_data", actor=host).count() == 1
    # The page stays where it was: the file came as a download, not a page of JSON.
    expect(page.get_by_role("heading", name="Export Ann Able's data")).to_be_visible()
    assert script_errors == []


def test_a_host_deletes_one_contact_and_erases_another_after_confirming(
    page, new_context, live_server, host, elsewhere, script_errors, screenshot
):
    dana = ContactFactory(organization=host.organization, name="Dana Delete", email="dana@example.test")
    erin = ContactFactory(organization=host.organization, name="Erin Erase", email="erin@example.test")
    past = held(host, erin, title="Last year's review")
    upcoming = book(host, ContactFactory(organization=host.organization, name="Uma Upcoming"))
    log_in(page, live_server, host)
    page.goto(_url(live_server, "contacts:list"))
    expect(_contact_rows(page)).to_have_count(3)
    expect(page.get_by_text("Robin Elsewhere")).to_have_count(0)

    page.get_by_role("link", name="Dana Delete").click()
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="Delete Dana Delete from your contacts?")).to_be_visible()
    # The confirmation page writes nothing; only its button does.
    assert Contact.objects.filter(pk=dana.pk).exists()
    page.get_by_role("button", name="Delete Dana Delete").click()

    expect(page).to_have_url(_url(live_server, "contacts:list"))
    expect(page.get_by_role("status")).to_contain_text("Dana Delete is deleted from your contacts.")
    expect(_contact_rows(page)).to_have_count(2)
    expect(page.get_by_role("link", name="Dana Delete")).to_have_count(0)
    assert not Contact.objects.filter(pk=dana.pk).exists()

    # Someone on a session still to come cannot be erased yet: the page says why and offers no button.
    page.goto(_url(live_server, "contacts:erase", upcoming.contact_id))
    expect(page.get_by_role("alert")).to_contain_text("Uma Upcoming is on 1 session that has not ended yet.")
    expect(page.get_by_role("button", name=re.compile("^Erase"))).to_have_count(0)

    page.goto(_url(live_server, "contacts:list"))
    page.get_by_role("link", name="Erin Erase").click()
    page.get_by_role("link", name="Erase", exact=True).click()
    expect(page.get_by_role("heading", name="Erase Erin Erase's personal data?")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("This cannot be undone.")
    screenshot(page, "contact-erase-confirm")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(_url(live_server, "contacts:detail", erin.pk))
    assert Contact.objects.filter(pk=erin.pk).exists()

    page.get_by_role("link", name="Erase", exact=True).click()
    page.get_by_role("button", name="Erase Erin Erase's data").click()

    expect(page).to_have_url(_url(live_server, "contacts:list"))
    expect(page.get_by_role("status")).to_contain_text("The contact's personal data is erased.")
    expect(_contact_rows(page)).to_have_count(1)
    expect(_contact_rows(page)).to_contain_text("Uma Upcoming")
    assert not Contact.objects.filter(pk=erin.pk).exists()
    past = Participant.objects.get(pk=past.pk)
    assert (past.name, past.email) == ("Erased contact", "")
    assert script_errors == []

    # Another organisation's contact is not there, even by its address. In a page of its own: Chromium logs
    # the 404 answer as a console error, which the page above must not have.
    visitor = new_context().new_page()
    log_in(visitor, live_server, host)
    response = visitor.goto(_url(live_server, "contacts:detail", elsewhere.pk))
    assert response.status == 404
    expect(visitor.get_by_role("heading", name="Robin Elsewhere")).to_have_count(0)
