"""Building what the contact tests act on: a contact with sessions to come and sessions held, the notices
sent about them, and the documents they submitted."""

from datetime import timedelta

from django.utils import timezone

from contacts.models import Contact, InviteMethod
from documents.models import Document, Submission
from notifications.models import Notification
from sessions_app.models import Participant, Session
from sessions_app.services import ParticipantDetails, session_schedule
from tests.factories import ParticipantFactory, SessionFactory


def book(host, contact: Contact, *, days: int = 2, title: str = "Consultation") -> Participant:
    """The contact on a new session of the host's, booked like the Schedule page does (invite and reminders
    planned)."""
    session = session_schedule(
        actor=host,
        host=host,
        title=title,
        start_at=timezone.now() + timedelta(days=days),
        duration_minutes=50,
        participants=[
            ParticipantDetails(
                name=contact.name,
                invite_method=contact.preferred_method,
                email=contact.email,
                phone=str(contact.phone or ""),
                time_zone=contact.time_zone,
                contact_id=contact.pk,
            )
        ],
    )
    return session.participants.get()


def held(host, contact: Contact, *, days_ago: int = 7, title: str = "Held session") -> Participant:
    """The contact on a session of the host's that has ended, with the invite that was sent for it."""
    start = timezone.now() - timedelta(days=days_ago)
    session = SessionFactory(host=host, start_at=start, title=title, status=Session.Status.COMPLETED)
    participant = ParticipantFactory(
        session=session,
        contact=contact,
        name=contact.name,
        email=contact.email,
        invite_method=InviteMethod.EMAIL,
    )
    Notification.objects.create(
        organization=session.organization,
        session=session,
        participant=participant,
        kind=Notification.Kind.INVITE,
        channel=Notification.Channel.EMAIL,
        recipient=contact.email,
        dedupe_key=f"test-invite:{participant.pk}",
        status=Notification.Status.SENT,
        sent_at=start - timedelta(days=1),
        subject=f"Invitation: {title}",
        body=f"Hello {contact.name}, your session is booked.",
    )
    return participant


def submitted(participant: Participant, *, title: str = "Intake form") -> Submission:
    document = Document.objects.create(organization=participant.session.organization, title=title)
    return Submission.objects.create(
        organization=participant.session.organization,
        participant=participant,
        contact=participant.contact,
        document=document,
        status=Submission.Status.SUBMITTED,
        answers={"1": "Allergic to penicillin"},
        snapshot=[{"id": 1, "label": "Allergies", "kind": "long_text"}],
        submitted_at=timezone.now() - timedelta(days=1),
        signed_name=participant.name,
        signed_at=timezone.now() - timedelta(days=1),
        signed_from="203.0.113.7",
    )
