"""Importing contacts from a CSV file: every row checked and shown before anything is written, then all the
valid rows in one transaction, or none."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from contacts.imports import MAX_IMPORT_BYTES, import_rows_read
from contacts.models import Contact, InviteMethod
from contacts.services import ContactDetails, contacts_import
from contacts.views import IMPORT_SESSION_KEY
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

HEADER = "name,email,phone,preferred_method,time_zone,note\n"


def _upload(text: str, *, bom: bool = False, name: str = "contacts.csv") -> SimpleUploadedFile:
    data = ("\ufeff" if bom else "").encode() + text.encode()
    return SimpleUploadedFile(name, data, content_type="text/csv")


def _read(organization, text: str, **options):
    return import_rows_read(
        upload=_upload(text, **options), organization=organization, default_zone="Europe/Paris"
    )


def test_each_row_gets_its_own_errors_and_existing_contacts_are_skipped(organization):
    ContactFactory(organization=organization, name="Old Friend", email="old@example.test")
    rows = _read(
        organization,
        HEADER
        + "Ann Able,ann@example.test,,email,Europe/London,Likes tea\n"
        + "Bad Email,not-an-email,,,,\n"
        + "Bad Phone,,12345,sms,,\n"
        + "Odd Method,odd@example.test,,pigeon,,\n"
        + "Odd Zone,zone@example.test,,,Mars/Olympus,\n"
        + ",noname@example.test,,,,\n"
        + "Old Again,OLD@example.test,,,,\n"
        + "Ann Twice,ann@example.test,,,,\n",
    )

    by_name = {row.line: row for row in rows}
    assert [row.line for row in rows] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert by_name[2].importable and by_name[2].details.note == "Likes tea"
    assert "not a valid email" in by_name[3].errors[0]
    assert "not a valid phone number" in by_name[4].errors[0]
    assert "Unknown invite method" in by_name[5].errors[0]
    assert "Unknown time zone" in by_name[6].errors[0]
    assert "name needs at least 2" in by_name[7].errors[0]
    assert by_name[8].skipped == "Already a contact."
    assert by_name[9].skipped == "Same email as line 2."
    assert [row.line for row in rows if row.importable] == [2]


def test_a_byte_order_mark_and_a_header_in_another_order_are_read(organization):
    rows = _read(organization, "Email,Name\nbo@example.test,Bo Ek\n", bom=True)
    [row] = rows
    assert row.importable
    assert (row.details.name, row.details.email) == ("Bo Ek", "bo@example.test")
    # A missing zone is the importer's, a missing method email when there is an address.
    assert (row.details.time_zone, row.details.preferred_method) == ("Europe/Paris", InviteMethod.EMAIL)


def test_phones_are_read_in_international_form_and_labels_as_methods(organization, settings):
    [row] = _read(organization, HEADER + "Cy Dee,,+44 7911 123456,SMS,europe/london,\n")
    assert row.importable, row.errors
    assert (row.details.phone, row.details.preferred_method, row.details.time_zone) == (
        "+447911123456",
        InviteMethod.SMS,
        "Europe/London",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Ann Able,ann@example.test\n", "first line must name the columns"),
        ("name,email,age\nAnn,ann@example.test,40\n", "first line must name the columns"),
        ("", "first line must name the columns"),
        ("name\nAnn\x00\n", "NUL"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(organization, text, message):
    with pytest.raises(ValidationFailedError) as refused:
        _read(organization, text)
    assert message in refused.value.message


def test_a_file_not_in_utf8_is_refused(organization):
    upload = SimpleUploadedFile("contacts.csv", "name\nJosé\n".encode("latin-1"))
    with pytest.raises(ValidationFailedError, match="not UTF-8"):
        import_rows_read(upload=upload, organization=organization, default_zone="UTC")


def test_more_than_two_megabytes_or_five_thousand_rows_is_refused(organization):
    with pytest.raises(ValidationFailedError, match="larger than 2 MB"):
        _read(organization, HEADER + "x" * MAX_IMPORT_BYTES)
    rows = "".join(f"Person {n},p{n}@example.test,,,,\n" for n in range(5001))
    with pytest.raises(ValidationFailedError, match="more than 5,000"):
        _read(organization, "name,email,phone,preferred_method,time_zone,note\n" + rows)


def test_the_import_takes_the_same_queries_for_three_or_sixty_rows_and_one_audit_event(host, organization):
    def import_queries(first: int, count: int) -> int:
        people = [
            ContactDetails(name=f"Person {n}", email=f"p{n}@example.test", preferred_method="email")
            for n in range(first, first + count)
        ]
        with CaptureQueriesContext(connection) as queries:
            contacts_import(actor=host, organization=organization, people=people)
        return len(queries)

    # The first import of the run also fills Django's per-process caches (content types): not measured.
    import_queries(5000, 1)
    # Sixty rows fit one INSERT on SQLite too (999 parameters); beyond that Django splits the statement.
    assert import_queries(0, 3) == import_queries(1000, 60)
    assert Contact.objects.filter(organization=organization).count() == 64
    events = AuditEvent.objects.filter(action="contact.import").order_by("id")
    assert [event.details for event in events] == [{"count": 1}, {"count": 3}, {"count": 60}]
    assert {event.actor for event in events} == {host}


def test_one_row_that_no_longer_passes_imports_nothing(host, organization):
    people = [
        ContactDetails(name="Ann Able", email="ann@example.test", preferred_method="email"),
        ContactDetails(name="Bo Ek", email="bo@example.test", preferred_method="email"),
    ]
    # Added by someone else between the preview and the confirmation.
    ContactFactory(organization=organization, name="Bo", email="BO@example.test")

    with pytest.raises(ValidationFailedError, match="Nothing was imported"):
        contacts_import(actor=host, organization=organization, people=people)

    assert not Contact.objects.filter(email="ann@example.test").exists()
    assert not AuditEvent.objects.filter(action="contact.import").exists()


def test_an_invalid_row_sent_to_the_service_imports_nothing(host, organization):
    people = [
        ContactDetails(name="Ann Able", email="ann@example.test", preferred_method="email"),
        ContactDetails(name="X", email="bad", preferred_method="email"),
    ]
    with pytest.raises(ValidationFailedError):
        contacts_import(actor=host, organization=organization, people=people)
    assert not Contact.objects.exists()


def test_someone_of_another_organisation_cannot_import_into_it(organization, outsider_scheduler):
    with pytest.raises(PermissionDeniedError):
        contacts_import(
            actor=outsider_scheduler,
            organization=organization,
            people=[ContactDetails(name="Ann Able", email="ann@example.test", preferred_method="email")],
        )


# Through the pages -----------------------------------------------------------------------------------------


def test_upload_shows_every_row_then_imports_the_valid_ones_on_confirmation(client, host, organization):
    client.force_login(host)
    text = HEADER + "Ann Able,ann@example.test,,,,\nBad Email,nope,,,,\nCy Dee,cy@example.test,,,,Private\n"

    preview = client.post(reverse("contacts:import"), {"file": _upload(text)})

    assert preview.status_code == 200
    content = preview.content.decode()
    assert content.count("data-line=") == 3
    assert "not a valid email" in content and "Import 2 contacts" in content
    assert not Contact.objects.exists()
    stored = client.session[IMPORT_SESSION_KEY]
    assert [person["name"] for person in stored["people"]] == ["Ann Able", "Cy Dee"]

    response = client.post(reverse("contacts:import_confirm", kwargs={"key": stored["key"]}))

    assert response.status_code == 302 and response["Location"] == reverse("contacts:list")
    assert sorted(Contact.objects.values_list("name", "note")) == [("Ann Able", ""), ("Cy Dee", "Private")]
    assert IMPORT_SESSION_KEY not in client.session


def test_the_confirmation_imports_only_what_this_session_previewed(client, host, scheduler, organization):
    client.force_login(host)
    client.post(reverse("contacts:import"), {"file": _upload(HEADER + "Ann Able,ann@example.test,,,,\n")})
    key = client.session[IMPORT_SESSION_KEY]["key"]

    other = client.__class__()
    other.force_login(scheduler)
    assert other.post(reverse("contacts:import_confirm", kwargs={"key": key})).status_code == 302
    assert client.post(reverse("contacts:import_confirm", kwargs={"key": "guessed"})).status_code == 302
    assert not Contact.objects.exists()

    client.post(reverse("contacts:import_confirm", kwargs={"key": key}))
    # Confirming twice (a double click) imports once.
    client.post(reverse("contacts:import_confirm", kwargs={"key": key}))
    assert Contact.objects.count() == 1


def test_an_unreadable_file_is_a_form_error(client, host):
    client.force_login(host)
    response = client.post(reverse("contacts:import"), {"file": _upload("no header here\n")})
    assert response.status_code == 200
    assert "first line must name the columns" in response.content.decode()
    assert IMPORT_SESSION_KEY not in client.session
