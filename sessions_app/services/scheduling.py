import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction

from accounts.errors import ValidationFailedError
from accounts.models import User
from contacts.models import Contact, InviteMethod
from contacts.services import contact_match_or_create
from notifications.models import Notification
from notifications.services import hand_over_after_commit, notice_create, reminders_schedule
from sessions_app.availability import availability_for
from sessions_app.models import Participant, Room, Series, Session
from sessions_app.services.common import (
    audit,
    check_acts_for,
    check_bookable,
    lock_session,
    now,
    save_guarded,
)

MAX_OCCURRENCES = 52


@dataclass
class ParticipantDetails:
    name: str
    invite_method: str
    email: str = ""
    phone: str = ""
    time_zone: str = "UTC"
    contact_id: int | None = None


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
    if details.invite_method in (InviteMethod.SMS, InviteMethod.WHATSAPP) and not details.phone:
        raise ValidationFailedError(f"Enter a mobile number for {details.name}.", field="phone")


def participant_create(*, session: Session, details: ParticipantDetails) -> Participant:
    """A participant row and its contact (matched, or created for a new person), inside the caller's
    transaction and audit."""
    validate_participant(details)
    contact = None
    if details.contact_id:
        contact = Contact.objects.filter(organization=session.organization, pk=details.contact_id).first()
    if contact is None:
        contact = contact_match_or_create(
            organization=session.organization,
            name=details.name.strip(),
            email=details.email,
            phone=details.phone,
            preferred_method=details.invite_method,
            time_zone=details.time_zone,
        )
    return Participant.objects.create(
        session=session,
        contact=contact,
        name=details.name.strip(),
        invite_method=details.invite_method,
        email=details.email,
        phone=details.phone or "",
        time_zone=details.time_zone,
    )


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


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
    local = first.astimezone(zone).replace(tzinfo=None)
    starts = []
    index = 0
    while not rule.count or len(starts) < rule.count:
        if rule.frequency == Series.Frequency.MONTHLY:
            wall = _add_months(local, index)
        else:
            weeks = 2 if rule.frequency == Series.Frequency.BIWEEKLY else 1
            wall = local + timedelta(weeks=weeks * index)
        if rule.until and wall.date() > rule.until:
            break
        if len(starts) == MAX_OCCURRENCES:
            raise ValidationFailedError(
                f"That would make more than {MAX_OCCURRENCES} sessions. Choose an earlier last date.",
                field="repeat_until",
            )
        starts.append(wall.replace(tzinfo=zone).astimezone(first.tzinfo))
        index += 1
    return starts


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
    occurrence still has its own participants, join links and reminders.
    """
    check_acts_for(actor=actor, host=host)
    if start_at.tzinfo is None:
        raise ValidationFailedError("The start time needs a time zone.")
    if start_at + timedelta(minutes=duration_minutes) <= now():
        raise ValidationFailedError(
            "That time has already passed. Choose a time in the future.", field="start"
        )
    if not participants:
        raise ValidationFailedError("Add at least one participant.")
    if room is not None and room.organization_id != host.organization.id:
        raise ValidationFailedError("That room belongs to another organisation.", field="room")
    starts = occurrence_starts(first=start_at, zone=host.zone, rule=repeat)
    series = None
    if len(starts) > 1:
        series = Series.objects.create(organization=host.organization, host=host, frequency=repeat.frequency)
    sessions = []
    for start in starts:
        end = start + timedelta(minutes=duration_minutes)
        check_bookable(
            availability=availability_for(host=host, start_at=start, end_at=end, room=room),
            zone=actor.time_zone,
        )
        session = Session(
            organization=host.organization,
            host=host,
            title=title.strip(),
            start_at=start,
            end_at=end,
            duration_minutes=duration_minutes,
            room=room,
            series=series,
            created_by=actor,
        )
        save_guarded(session)
        sessions.append(session)
    first = sessions[0]
    notices = []
    occurrences = [s.start_at.isoformat() for s in sessions] if series else []
    for details in participants:
        rows = [participant_create(session=s, details=details) for s in sessions]
        notices.append(
            notice_create(
                participant=rows[0], kind=Notification.Kind.INVITE, context={"occurrences": occurrences}
            )
        )
    for session in sessions:
        reminders_schedule(session=session)
    audit(
        actor=actor,
        session=first,
        action="session.schedule",
        title=first.title,
        start_at=first.start_at.isoformat(),
        duration_minutes=duration_minutes,
        participants=list(first.participants.values_list("pk", flat=True)),
        series=series.pk if series else None,
        occurrences=len(sessions),
    )
    hand_over_after_commit(notices)
    return first


@transaction.atomic
def session_schedule_next(
    *, actor: User, session: Session, start_at: datetime, title: str | None = None
) -> Session:
    """A new session with the same host, participants, length and room; their invites go out."""
    previous = lock_session(actor=actor, session=session)
    participants = [
        ParticipantDetails(
            name=p.name,
            invite_method=p.invite_method,
            email=p.email,
            phone=str(p.phone) if p.phone else "",
            time_zone=p.time_zone,
            contact_id=p.contact_id,
        )
        for p in previous.participants.filter(removed_at__isnull=True).order_by("id")
    ]
    created = session_schedule(
        actor=actor,
        host=previous.host,
        title=title or previous.title,
        start_at=start_at,
        duration_minutes=previous.duration_minutes,
        participants=participants,
        room=previous.room,
    )
    audit(actor=actor, session=previous, action="session.schedule_next", next_session=created.pk)
    return created
