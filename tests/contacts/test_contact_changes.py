"""Changing and deleting a contact (contact_update, contact_delete): their sessions still to come follow,
the join link changes only with the address, and every change is audited without personal data."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from contacts.models import Contact, InviteMethod
from contacts.services import ContactDetails, contact_create, contact_delete, contact_update
from notifications.models import Notification
from sessions_app.models import Participant
from tests.contacts.support import book, held, submitted
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def _details(contact: Contact, **changes) -> ContactDetails:
    values = {
        "name": contact.name,
        "email": contact.email,
        "phone": str(contact.phone or ""),
        "preferred_method": contact.preferred_method,
        "time_zone": contact.time_zone,
        "note": contact.note,
    }
    return ContactDetails(**{**values, **changes})


@pytest.fixture
def contact(organization):
    return ContactFactory(organization=organization, name="Maria Garcia", email="maria@example.test")


def test_a_new_email_reaches_upcoming_participants_and_revokes_their_link_but_not_past_ones(host, contact):
    upcoming = book(host, contact)
    past = held(host, contact)

    contact_update(actor=host, contact=contact, details=_details(contact, email="maria.new@example.test"))

    upcoming.refresh_from_db()
    past.refresh_from_db()
    assert upcoming.email == "maria.new@example.test" and upcoming.link_version == 2
    assert past.email == "maria@example.test" and past.link_version == 1
    pending = Notification.objects.filter(participant=upcoming, status=Notification.Status.PENDING)
    assert pending.exists()
    assert set(pending.values_list("recipient", flat=True)) == {"maria.new@example.test"}


def test_a_new_name_or_zone_alone_changes_upcoming_participants_without_revoking_their_link(host, contact):
    upcoming = book(host, contact)

    contact_update(
        actor=host, contact=contact, details=_details(contact, name="Maria G. Lopez", time_zone="Asia/Tokyo")
    )

    upcoming.refresh_from_db()
    assert upcoming.name == "Maria G. Lopez" and upcoming.time_zone == "Asia/Tokyo"
    assert upcoming.link_version == 1
    event = AuditEvent.objects.get(action="participant.follow_contact")
    assert event.details == {"participants": [upcoming.pk], "link_revoked": []}
    assert event.acting_for == host


def test_switching_to_no_messages_withdraws_the_pending_notices_and_revokes_the_link(host, contact):
    upcoming = book(host, contact)

    contact_update(actor=host, contact=contact, details=_details(contact, preferred_method=InviteMethod.NONE))

    upcoming.refresh_from_db()
    assert upcoming.invite_method == InviteMethod.NONE and upcoming.link_version == 2
    assert not Notification.objects.filter(participant=upcoming, status=Notification.Status.PENDING).exists()


def test_a_removed_participant_does_not_follow_the_contact(host, contact):
    from sessions_app.services import participant_remove

    removed = participant_remove(actor=host, participant=book(host, contact))

    contact_update(actor=host, contact=contact, details=_details(contact, email="maria.new@example.test"))

    removed.refresh_from_db()
    assert removed.email == "maria@example.test"


def test_sessions_of_another_host_of_the_organisation_follow_too(host, other_host, contact):
    mine, theirs = book(host, contact), book(other_host, contact, days=3)

    contact_update(actor=host, contact=contact, details=_details(contact, email="maria.new@example.test"))

    assert {p.email for p in Participant.objects.filter(pk__in=[mine.pk, theirs.pk])} == {
        "maria.new@example.test"
    }
    events = AuditEvent.objects.filter(action="participant.follow_contact")
    assert {event.acting_for for event in events} == {host, other_host}


def test_following_takes_the_same_queries_for_one_or_many_upcoming_sessions(host, organization):
    def update_queries(contact: Contact, first_day: int, sessions: int) -> int:
        for day in range(first_day, first_day + sessions):
            book(host, contact, days=day)
        with CaptureQueriesContext(connection) as queries:
            contact_update(
                actor=host, contact=contact, details=_details(contact, name=f"{contact.name} Renamed")
            )
        return len(queries)

    one = update_queries(ContactFactory(organization=organization, name="One Session"), 1, 1)
    many = update_queries(ContactFactory(organization=organization, name="Many Sessions"), 10, 6)
    assert many == one


def test_a_note_alone_is_saved_and_audited_by_field_name_only(host, contact):
    upcoming = book(host, contact)

    contact_update(actor=host, contact=contact, details=_details(contact, note="Prefers mornings"))

    contact.refresh_from_db()
    assert contact.note == "Prefers mornings"
    event = AuditEvent.objects.get(action="contact.update")
    assert event.details == {"changed": ["note"]}
    assert not AuditEvent.objects.filter(action="participant.follow_contact").exists()
    upcoming.refresh_from_db()
    assert upcoming.link_version == 1


def test_an_update_that_changes_nothing_writes_nothing(host, contact):
    contact_update(actor=host, contact=contact, details=_details(contact))
    assert not AuditEvent.objects.filter(action="contact.update").exists()


def test_a_phone_is_stored_in_international_form(host, contact):
    contact_update(
        actor=host,
        contact=contact,
        details=_details(contact, phone="+44 7911 123456", preferred_method=InviteMethod.SMS),
    )
    contact.refresh_from_db()
    assert str(contact.phone) == "+447911123456"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"preferred_method": InviteMethod.SMS}, "phone"),
        ({"preferred_method": "pigeon"}, "preferred_method"),
        ({"time_zone": "Europe/Nowhere"}, "time_zone"),
        ({"note": "x" * 2001}, "note"),
        ({"name": "Ma\x00ria"}, "name"),
    ],
)
def test_invalid_details_are_refused_on_their_field_and_nothing_changes(host, contact, changes, field):
    with pytest.raises(ValidationFailedError) as refused:
        contact_update(actor=host, contact=contact, details=_details(contact, **changes))
    assert refused.value.field == field
    assert Contact.objects.get(pk=contact.pk).email == "maria@example.test"


def test_someone_of_another_organisation_cannot_change_or_delete_a_contact(contact, outsider_scheduler):
    with pytest.raises(PermissionDeniedError):
        contact_update(actor=outsider_scheduler, contact=contact, details=_details(contact, name="Taken"))
    with pytest.raises(PermissionDeniedError):
        contact_delete(actor=outsider_scheduler, contact=contact)
    assert Contact.objects.get(pk=contact.pk).name == "Maria Garcia"


def test_a_scheduler_of_the_organisation_manages_its_contacts(scheduler, organization):
    contact = contact_create(
        actor=scheduler,
        organization=organization,
        details=ContactDetails(
            name="New Person", email="new@example.test", preferred_method="email", note="VIP"
        ),
    )
    assert contact.note == "VIP" and contact.time_zone == "UTC"
    assert AuditEvent.objects.get(action="contact.create").actor == scheduler


def test_deleting_keeps_past_participations_and_submissions_without_the_link(host, contact):
    past = held(host, contact)
    submission = submitted(past)

    contact_delete(actor=host, contact=contact)

    assert not Contact.objects.filter(pk=contact.pk).exists()
    past.refresh_from_db()
    submission.refresh_from_db()
    assert past.contact_id is None and past.name == "Maria Garcia"
    assert submission.contact_id is None and submission.answers
    event = AuditEvent.objects.get(action="contact.delete")
    assert event.object_id == str(contact.pk) and event.details == {}
