import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from billing.services.payments import PaymentAsk, PaymentAskRefused, payments_asked_again, payments_require
from config.errors import ValidationFailedError
from contacts.models import InviteMethod
from contacts.services import ContactDetails, contacts_match_or_create
from documents.models import Packet
from notifications.channels import text_channels_available
from notifications.models import Notification
from notifications.services import hand_over_after_commit, notice_build, notices_put
from sessions_app.availability import busy_times
from sessions_app.models import DocumentsShown, Participant, Room, Series, Session
from sessions_app.recurrence import MAX_OCCURRENCES, occurrence_walls
from sessions_app.services.common import (
    check_acts_for,
    check_bookable,
    check_session_start,
    lock_session,
    sessions_insert_guarded,
)
from sessions_app.services.reminders import reminders_plan


@dataclass
class ParticipantDetails:
    name: str
    invite_method: str
    email: str = ""
    phone: str = ""
    time_zone: str = "UTC"
    contact_id: int | None = None
    # Which of the organisation's documents they are asked to fill (DocumentsShown), and the packet's id
    # when that is a packet.
    documents_shown: str = DocumentsShown.ALL
    documents_packet_id: int | None = None
    # What they are asked to pay before they join (every occurrence of a series asks it), if anything.
    payment: PaymentAsk | None = None

    @classmethod
    def of(cls, participant: Participant) -> "ParticipantDetails":
        return cls(
            name=participant.name,
            invite_method=participant.invite_method,
            email=participant.email,
            phone=str(participant.phone) if participant.phone else "",
            time_zone=participant.time_zone,
            contact_id=participant.contact_id,
            documents_shown=participant.documents_shown,
            documents_packet_id=participant.documents_packet_id,
        )


@dataclass
class RepeatRule:
    frequency: str
    count: int | None = None
    until: date | None = None


def validate_participant(details: ParticipantDetails) -> None:
    if len(details.name.strip()) < 2:
        raise ValidationFailedError("A participant's name needs at least 2 characters.", field="name")
    if details.invite_method == InviteMethod.EMAIL and not details.email:
        raise ValidationFailedError(f"Enter an email address for {details.name}.", field="email")
    if details.invite_method in (InviteMethod.SMS, InviteMethod.WHATSAPP):
        if details.invite_method not in text_channels_available():
            method = InviteMethod(details.invite_method).label
            raise ValidationFailedError(
                f"{method} messages cannot be sent from this site. Choose email for {details.name}, "
                "or no messages.",
                field="invite_method",
            )
        if not details.phone:
            raise ValidationFailedError(f"Enter a mobile number for {details.name}.", field="phone")


def validate_documents_shown(people: list[ParticipantDetails], *, organization_id: int) -> None:
    """Each person's documents choice is all, none, or a packet of the session's organisation (checked for
    everyone in one query)."""
    for details in people:
        if details.documents_shown not in DocumentsShown.values:
            raise ValidationFailedError(
                f"Choose which documents {details.name} is shown.", field="documents_shown"
            )
    wanted = {d.documents_packet_id for d in people if d.documents_shown == DocumentsShown.PACKET}
    known = set(
        Packet.objects.filter(organization_id=organization_id, pk__in=wanted - {None}).values_list(
            "pk", flat=True
        )
    )
    for details in people:
        if details.documents_shown == DocumentsShown.PACKET and details.documents_packet_id not in known:
            raise ValidationFailedError(
                f"Choose one of your organisation's packets for {details.name}.", field="documents_shown"
            )


def packet_id(details: ParticipantDetails) -> int | None:
    """The packet's id is kept only with the packet choice."""
    return details.documents_packet_id if details.documents_shown == DocumentsShown.PACKET else None


def participants_create(
    *, actor: User, sessions: list[Session], people: list[ParticipantDetails]
) -> list[list[Participant]]:
    """Each person on each session, with their contact (matched once per person, or created for a new
    person), inside the caller's transaction and audit: one row list per person, in session order."""
    for details in people:
        validate_participant(details)
    validate_documents_shown(people, organization_id=sessions[0].organization_id)
    contacts = contacts_match_or_create(
        actor=actor,
        organization=sessions[0].organization,
        people=[
            ContactDetails(
                name=d.name.strip(),
                email=d.email,
                phone=d.phone,
                preferred_method=d.invite_method,
                time_zone=d.time_zone,
                contact_id=d.contact_id,
            )
            for d in people
        ],
    )
    rows = [
        [
            Participant(
                session=session,
                contact=contact,
                name=details.name.strip(),
                invite_method=details.invite_method,
                email=details.email,
                phone=details.phone or "",
                time_zone=details.time_zone,
                documents_shown=details.documents_shown,
                documents_packet_id=packet_id(details),
            )
            for session in sessions
        ]
        for details, contact in zip(people, contacts, strict=True)
    ]
    Participant.objects.bulk_create([row for person in rows for row in person])
    return rows


def occurrence_starts(*, first: datetime, zone, rule: RepeatRule | None) -> list[datetime]:
    """The starts of a series, keeping the host's wall-clock time across daylight-saving changes."""
    if rule is None:
        return [first]
    if not rule.count and not rule.until:
        raise ValidationFailedError(
            "Say how many times the session repeats, or until when.", field="repeat_count"
        )
    if rule.count and rule.count > MAX_OCCURRENCES:
        raise ValidationFailedError(
            f"A series can have at most {MAX_OCCURRENCES} sessions.", field="repeat_count"
        )
    walls = occurrence_walls(
        first=first.astimezone(zone).replace(tzinfo=None),
        frequency=rule.frequency,
        count=rule.count,
        until=rule.until,
    )
    if len(walls) > MAX_OCCURRENCES:
        raise ValidationFailedError(
            f"That would make more than {MAX_OCCURRENCES} sessions. Choose an earlier last date.",
            field="repeat_until",
        )
    return [wall.replace(tzinfo=zone).astimezone(first.tzinfo) for wall in walls]


@transaction.atomic
def session_schedule(
    *,
    actor: User,
    host: User,
    title: str,
    start_at: datetime,
    duration_minutes: int,
    participants: list[ParticipantDetails],
    room: Room | None = None,
    repeat: RepeatRule | None = None,
) -> Session:
    """Schedule a session (or a series of them) for a host, with participants, invites and reminders.

    A series sends each participant one invite that lists every date, not one per occurrence; each
    occurrence still has its own participants, join links and reminders. The whole booking is a fixed
    number of queries however many occurrences and participants it has: the availability of the whole
    series is read at once, and sessions, participants and notices are each written in one statement.
    """
    check_acts_for(actor=actor, host=host)
    if start_at.tzinfo is None:
        raise ValidationFailedError("The start time needs a time zone.")
    check_session_start(start_at)
    if start_at + timedelta(minutes=duration_minutes) <= timezone.now():
        raise ValidationFailedError(
            "That time has already passed. Choose a time in the future.", field="start"
        )
    if not participants:
        raise ValidationFailedError("Add at least one participant.")
    organization = host.organization
    if room is not None and room.organization_id != organization.id:
        raise ValidationFailedError("That room belongs to another organisation.", field="room")
    length = timedelta(minutes=duration_minutes)
    starts = occurrence_starts(first=start_at, zone=host.zone, rule=repeat)
    if repeat is not None:
        check_session_start(starts[-1], field="repeat_until" if repeat.until else "repeat_count")
    busy = busy_times(viewer=actor, hosts=[host], start_at=starts[0], end_at=starts[-1] + length, room=room)
    for start in starts:
        check_bookable(
            availability=busy.availability(host=host, start_at=start, end_at=start + length),
            zone=actor.time_zone,
        )
    series = None
    if len(starts) > 1:
        series = Series.objects.create(organization=organization, host=host, frequency=repeat.frequency)
    sessions = [
        Session(
            organization=organization,
            host=host,
            title=title.strip(),
            start_at=start,
            end_at=start + length,
            duration_minutes=duration_minutes,
            room=room,
            series=series,
            created_by=actor,
        )
        for start in starts
    ]
    sessions_insert_guarded(sessions)
    people = participants_create(actor=actor, sessions=sessions, people=participants)
    occurrences = [s.start_at.isoformat() for s in sessions] if series else []
    invites = notices_put(
        [
            notice_build(
                participant=rows[0], kind=Notification.Kind.INVITE, context={"occurrences": occurrences}
            )
            for rows in people
        ],
        new=True,
    )
    reminders_plan(sessions=sessions, participants=[row for rows in people for row in rows], replan=False)
    _payments_ask(actor=actor, people=participants, rows=people)
    first = sessions[0]
    audit_record(
        actor=actor,
        session=first,
        action=AuditAction.SESSION_SCHEDULE,
        obj=first,
        title=first.title,
        start_at=first.start_at.isoformat(),
        duration_minutes=duration_minutes,
        participants=[rows[0].pk for rows in people],
        series=series.pk if series else None,
        occurrences=len(sessions),
    )
    hand_over_after_commit(invites)
    return first


def _payments_ask(*, actor: User, people: list[ParticipantDetails], rows: list[list[Participant]]) -> None:
    """Each person's payment asked on every occurrence, all at once; a refusal names the person (their
    index in `people`) as PaymentAskRefused.index, for the form to show it on their row."""
    owners, asks = [], []
    for index, (details, participants) in enumerate(zip(people, rows, strict=True)):
        if details.payment is not None:
            owners.extend(index for _participant in participants)
            asks.extend((participant, details.payment) for participant in participants)
    try:
        payments_require(actor=actor, asks=asks)
    except PaymentAskRefused as error:
        raise PaymentAskRefused(error, index=owners[error.index]) from error


@transaction.atomic
def session_schedule_next(
    *,
    actor: User,
    session: Session,
    start_at: datetime,
    title: str | None = None,
    same_payments: bool = False,
) -> Session:
    """A new session with the same host, participants, length and room; their invites go out. With
    `same_payments`, each participant is asked again what they were asked for this one (payments_asked_again),
    in the same transaction."""
    previous = lock_session(actor=actor, session=session)
    people = list(previous.participants.active().order_by("id"))
    asks = payments_asked_again(people) if same_payments else {}
    created = session_schedule(
        actor=actor,
        host=previous.host,
        title=title or previous.title,
        start_at=start_at,
        duration_minutes=previous.duration_minutes,
        participants=[dataclasses.replace(ParticipantDetails.of(p), payment=asks.get(p.pk)) for p in people],
        room=previous.room,
    )
    audit_record(
        actor=actor,
        session=previous,
        action=AuditAction.SESSION_SCHEDULE_NEXT,
        obj=previous,
        next_session=created.pk,
    )
    return created
