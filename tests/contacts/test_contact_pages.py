"""The Contacts page: the list with its search and pages, a contact's own page, adding, editing and deleting,
and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from contacts.models import Contact
from notifications.models import Notification
from notifications.rendering import render_notice
from sessions_app.join.links import join_token
from tests.contacts.support import book, held, submitted
from tests.factories import ContactFactory, member

pytestmark = pytest.mark.django_db

LIST = reverse("contacts:list")


def _names(response) -> list[str]:
    content = response.content.decode()
    return [contact.name for contact in Contact.objects.order_by("name") if f">{contact.name}</a>" in content]


def test_the_navigation_offers_contacts_to_hosts_and_schedulers(client, host, scheduler):
    for user, page in ((host, reverse("sessions:dashboard")), (scheduler, reverse("accounts:scheduling"))):
        client.force_login(user)
        assert f'href="{LIST}"' in client.get(page).content.decode()


def test_the_list_shows_the_organisations_contacts_only(client, host, organization):
    ContactFactory(organization=organization, name="Ann Able")
    ContactFactory(name="Someone Elsewhere")
    client.force_login(host)

    response = client.get(LIST)

    assert response.status_code == 200
    assert _names(response) == ["Ann Able"]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("able", ["Ann Able"]),
        ("BO@EXAMPLE", ["Bo Ek"]),
        ("7911 123", ["Cy Dee"]),
        ("+44 7911 123456", ["Cy Dee"]),
    ],
)
def test_search_matches_name_email_or_phone(client, host, organization, query, found):
    ContactFactory(organization=organization, name="Ann Able", email="ann@example.test")
    ContactFactory(organization=organization, name="Bo Ek", email="bo@example.test")
    ContactFactory(
        organization=organization, name="Cy Dee", email="", phone="+447911123456", preferred_method="sms"
    )
    client.force_login(host)

    assert _names(client.get(LIST, {"q": query})) == found


@pytest.mark.parametrize("query", ["Pa\x00t", "x" * 100_000])
def test_a_search_no_contact_could_match_is_answered_without_results(client, host, organization, query):
    ContactFactory(organization=organization, name="Pat Client")
    client.force_login(host)

    response = client.get(LIST, {"q": query})

    assert response.status_code == 200 and _names(response) == []


def test_the_list_is_paginated_by_25_and_its_queries_do_not_grow_with_contacts(client, host, organization):
    client.force_login(host)

    def list_queries(page: int = 1) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST, {"page": page})
        assert response.status_code == 200
        return len(queries), response.content.decode()

    ContactFactory.create_batch(3, organization=organization)
    few, _ = list_queries()
    ContactFactory.create_batch(57, organization=organization)
    many, content = list_queries()
    assert many == few
    assert content.count("data-contact-id=") == 25 and "Page 1 of 3" in content
    assert list_queries(page=3)[1].count("data-contact-id=") == 10


def test_a_contact_is_added_with_a_private_note(client, host, organization):
    client.force_login(host)

    response = client.post(
        reverse("contacts:create"),
        {
            "name": "Dee New",
            "email": "dee@example.test",
            "phone": "",
            "preferred_method": "email",
            "time_zone": "Europe/Berlin",
            "note": "Referred by Dr Who",
        },
    )

    contact = Contact.objects.get(name="Dee New")
    assert response.status_code == 302 and response["Location"] == reverse(
        "contacts:detail", kwargs={"pk": contact.pk}
    )
    assert (contact.organization, contact.note, contact.time_zone) == (
        organization,
        "Referred by Dr Who",
        "Europe/Berlin",
    )


def test_an_invalid_contact_is_a_form_error_and_writes_nothing(client, host):
    client.force_login(host)

    response = client.post(
        reverse("contacts:create"),
        {"name": "Dee New", "email": "", "preferred_method": "email", "time_zone": "UTC"},
    )

    assert response.status_code == 200
    assert "Enter an email address" in response.content.decode()
    assert not Contact.objects.exists()


def test_editing_a_contact_updates_their_session_to_come(client, scheduler, host, organization):
    contact = ContactFactory(organization=organization, name="Ann Able", email="ann@example.test")
    participant = book(host, contact)
    client.force_login(scheduler)

    response = client.post(
        reverse("contacts:edit", kwargs={"pk": contact.pk}),
        {
            "name": "Ann B. Able",
            "email": "ann@example.test",
            "preferred_method": "email",
            "time_zone": "Europe/Paris",
        },
        follow=True,
    )

    assert "Their sessions still to come use them too." in response.content.decode()
    participant.refresh_from_db()
    assert participant.name == "Ann B. Able"


def test_the_contact_page_shows_their_sessions_in_the_viewers_zone_and_their_documents(
    client, host, organization
):
    contact = ContactFactory(organization=organization, name="Ann Able", note="Needs captions")
    past = held(host, contact, title="Intake session")
    submitted(past, title="Consent form")
    host.time_zone = "Asia/Tokyo"
    host.save(update_fields=["time_zone"])
    client.force_login(host)

    content = client.get(reverse("contacts:detail", kwargs={"pk": contact.pk})).content.decode()

    assert "Intake session" in content and "Completed" in content
    assert f"{past.session.start_at.astimezone(host.zone):%H:%M}" in content and "(Asia/Tokyo)" in content
    assert "Consent form" in content and "Needs captions" in content
    assert reverse("documents:submission_detail", kwargs={"pk": past.submissions.get().pk}) in content


def test_a_host_sees_only_their_own_sessions_with_the_contact(
    client, host, other_host, scheduler, organization
):
    contact = ContactFactory(organization=organization, name="Ann Able")
    held(host, contact, title="With me")
    held(other_host, contact, title="With a colleague", days_ago=9)
    url = reverse("contacts:detail", kwargs={"pk": contact.pk})

    client.force_login(host)
    content = client.get(url).content.decode()
    assert "With me" in content and "With a colleague" not in content

    client.force_login(scheduler)
    content = client.get(url).content.decode()
    assert "With me" in content and "With a colleague" in content


def test_deleting_is_confirmed_first_and_keeps_past_participations(client, host, organization):
    contact = ContactFactory(organization=organization, name="Ann Able")
    past = held(host, contact)
    client.force_login(host)
    url = reverse("contacts:delete", kwargs={"pk": contact.pk})

    assert client.get(url).status_code == 200 and Contact.objects.filter(pk=contact.pk).exists()
    assert client.post(url)["Location"] == LIST

    assert not Contact.objects.filter(pk=contact.pk).exists()
    past.refresh_from_db()
    assert past.name == "Ann Able" and past.contact_id is None


def test_the_edit_participant_page_links_to_the_contact_page(client, host, organization):
    contact = ContactFactory(organization=organization, name="Ann Able")
    participant = book(host, contact)
    client.force_login(host)

    content = client.get(
        reverse(
            "sessions:participant_edit",
            kwargs={"pk": participant.session_id, "participant_pk": participant.pk},
        )
    ).content.decode()

    assert (
        f'<a href="{reverse("contacts:detail", kwargs={"pk": contact.pk})}">the contact page</a>' in content
    )


def test_the_csv_export_lists_the_organisations_contacts_with_formulas_made_text(client, host, organization):
    ContactFactory(
        organization=organization, name='=HYPERLINK("http://evil.example")', email="a@example.test"
    )
    ContactFactory(organization=organization, name="Bo Ek", email="bo@example.test", note="@SUM(1+1)")
    ContactFactory(name="Someone Elsewhere")
    client.force_login(host)

    response = client.get(reverse("contacts:export_csv"))

    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "email", "phone", "preferred_method", "time_zone", "note"]
    assert [row[0] for row in rows[1:]] == ['\'=HYPERLINK("http://evil.example")', "Bo Ek"]
    assert rows[2][5] == "'@SUM(1+1)"


def test_an_account_without_a_role_has_no_contacts_page(client, organization):
    stranger = member(role=Membership.Role.HOST, organization=organization)
    Membership.objects.filter(user=stranger).delete()
    client.force_login(stranger)
    assert client.get(LIST).status_code == 404


def test_the_record_note_never_reaches_what_participants_see(client, host, organization):
    contact = ContactFactory(organization=organization, name="Ann Able", note="SECRET-RECORD-NOTE")
    participant = book(host, contact)
    participant.session.start_at = timezone.now() + timedelta(minutes=2)
    participant.session.end_at = participant.session.start_at + timedelta(minutes=50)
    participant.session.save(update_fields=["start_at", "end_at"])

    notices = list(Notification.objects.filter(participant=participant))
    assert notices
    for notice in notices:
        rendered = render_notice(notice)
        assert "SECRET-RECORD-NOTE" not in rendered.text + rendered.html + rendered.subject
        assert not any(b"SECRET-RECORD-NOTE" in a.content for a in rendered.attachments or [])

    visitor = client.__class__()
    page = visitor.get(reverse("join:enter", kwargs={"token": join_token(participant)}), follow=True)
    assert page.status_code == 200
    assert "SECRET-RECORD-NOTE" not in page.content.decode()
