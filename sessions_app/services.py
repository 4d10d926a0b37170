from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.errors import PermissionDeniedError, ValidationFailedError
from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for
from contacts.models import InviteMethod
from contacts.services import contact_match_or_create
from notifications.models import Notification
from notifications.services import hand_over_after_commit, notice_create
from sessions_app.models import Participant, Session


@dataclass
class ParticipantDetails:
    name: str
    invite_method: str
    email: str = ""
    phone: str = ""
    time_zone: str = "UTC"


def _check_acts_for(*, actor: User, host: User) -> None:
    if not hosts_actor_may_act_for(actor=actor).filter(pk=host.pk).exists():
        raise PermissionDeniedError("You cannot schedule sessions for this host.")


def _validate_participant(details: ParticipantDetails) -> None:
    if len(details.name.strip()) < 2:
        raise ValidationFailedError("A participant's name needs at least 2 characters.", field="name")
    if details.invite_method == InviteMethod.EMAIL and not details.email:
        raise ValidationFailedError(f"Enter an email address for {details.name}.", field="email")
    if details.invite_method in (InviteMethod.SMS, InviteMethod.WHATSAPP) and not details.phone:
        raise ValidationFailedError(f"Enter a mobile number for {details.name}.", field="phone")


def _participant_create(*, session: Session, details: ParticipantDetails) -> Participant:
    _validate_participant(details)
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


@transaction.atomic
def session_schedule(
    *,
    actor: User,
    host: User,
    title: str,
    start_at: datetime,
    duration_minutes: int,
    participants: list[ParticipantDetails],
) -> Session:
    """Schedule a session for a host with its participants and queue each participant's invite."""
    _check_acts_for(actor=actor, host=host)
    if start_at.tzinfo is None:
        raise ValidationFailedError("The start time needs a time zone.")
    if start_at + timedelta(minutes=duration_minutes) <= timezone.now():
        raise ValidationFailedError(
            "That time has already passed. Choose a time in the future.", field="start"
        )
    if not participants:
        raise ValidationFailedError("Add at least one participant.")
    session = Session.objects.create(
        organization=host.organization,
        host=host,
        title=title.strip(),
        start_at=start_at,
        end_at=start_at + timedelta(minutes=duration_minutes),
        duration_minutes=duration_minutes,
        created_by=actor,
    )
    created = [_participant_create(session=session, details=details) for details in participants]
    notices = [notice_create(participant=p, kind=Notification.Kind.INVITE) for p in created]
    audit_record(
        actor=actor,
        acting_for=host,
        action="session.schedule",
        obj=session,
        organization_id=session.organization_id,
        details={
            "title": session.title,
            "start_at": session.start_at.isoformat(),
            "duration_minutes": duration_minutes,
            "participants": [p.pk for p in created],
        },
    )
    hand_over_after_commit(notices)
    return session


@transaction.atomic
def session_connect(*, actor: User, session: Session) -> Session:
    """The host enters the room: the session becomes live."""
    if session.host_id != actor.pk:
        raise PermissionDeniedError("Only the session's host can connect.")
    if not session.is_open:
        raise ValidationFailedError("This session was cancelled or removed.")
    now = timezone.now()
    if now < session.start_at - timedelta(minutes=15) or now > session.end_at:
        raise ValidationFailedError("You can connect from 15 minutes before the start until the end.")
    first = session.host_connected_at is None
    session.status = Session.Status.LIVE
    session.host_connected_at = session.host_connected_at or now
    session.save(update_fields=["status", "host_connected_at", "updated_at"])
    if first:
        audit_record(
            actor=actor,
            acting_for=actor,
            action="session.connect",
            obj=session,
            organization_id=session.organization_id,
        )
    return session


def participant_record_join(*, participant: Participant) -> Participant:
    """A participant opened the room through their link. Only the first visit is recorded and audited."""
    if participant.joined_at is not None:
        return participant
    with transaction.atomic():
        updated = Participant.objects.filter(pk=participant.pk, joined_at__isnull=True).update(
            joined_at=timezone.now()
        )
        if updated:
            participant.refresh_from_db(fields=["joined_at"])
            audit_record(
                actor=None,
                acting_for=participant.session.host,
                action="participant.join",
                obj=participant,
                organization_id=participant.session.organization_id,
            )
    return participant
