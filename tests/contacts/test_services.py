"""Contacts are written only by contacts.services, and every write is audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from contacts.models import Contact, InviteMethod
from sessions_app.services import ParticipantDetails, participant_update, session_schedule

pytestmark = pytest.mark.django_db


def _book(host, days: int = 1, **person):
    details = ParticipantDetails(name="Maria Garcia", invite_method=InviteMethod.EMAIL, **person)
    session = session_schedule(
        actor=host,
        host=host,
        title="Consultation",
        start_at=timezone.now() + timedelta(days=days),
        duration_minutes=50,
        participants=[details],
    )
    return session.participants.get()


def test_a_new_person_becomes_a_contact_with_an_audit_event(host):
    participant = _book(host, email="maria@example.test")
    event = AuditEvent.objects.get(action="contact.create")
    assert event.object_id == str(participant.contact_id) and event.actor == host


def test_the_same_email_in_another_case_matches_the_existing_contact(host):
    first = _book(host, email="maria@example.test")
    second = _book(host, days=2, email="MARIA@example.test")
    assert first.contact_id == second.contact_id
    assert Contact.objects.count() == 1


def test_editing_a_participant_updates_their_contact_and_audits_it(host):
    participant = _book(host, email="maria@example.test")
    participant_update(
        actor=host,
        participant=participant,
        invite_method=InviteMethod.SMS,
        email="",
        phone="+447911123456",
        time_zone="Europe/Madrid",
    )
    contact = Contact.objects.get()
    assert contact.preferred_method == InviteMethod.SMS
    assert str(contact.phone) == "+447911123456" and contact.email == "maria@example.test"
    event = AuditEvent.objects.get(action="contact.update")
    assert event.actor == host
    assert event.details["before"]["preferred_method"] == InviteMethod.EMAIL
