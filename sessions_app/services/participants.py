from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import ValidationFailedError
from contacts.models import InviteMethod
from contacts.services import contact_follow_participant
from notifications.models import Notification
from notifications.services import (
    hand_over_after_commit,
    notice_create,
    notices_cancel_pending,
    notices_readdress,
)
from sessions_app.models import Participant, Session, new_video_room_name
from sessions_app.services.common import check_not_closed, check_open, lock_session
from sessions_app.services.reminders import reminders_plan
from sessions_app.services.scheduling import ParticipantDetails, participants_create, validate_participant

REMIND_INTERVAL = timedelta(minutes=1)


def _lock_participant(*, actor: User, participant: Participant) -> tuple[Session, Participant]:
    session = lock_session(actor=actor, session=participant.session)
    participant = Participant.objects.select_for_update().get(pk=participant.pk, session=session)
    if participant.removed_at is not None:
        raise ValidationFailedError(f"{participant.name} was removed from this session.")
    participant.session = session
    return session, participant


@transaction.atomic
def participant_add(*, actor: User, session: Session, details: ParticipantDetails) -> Participant:
    """Add someone to a session; a new person becomes a contact. Their invite and reminders go out."""
    session = lock_session(actor=actor, session=session)
    check_open(session)
    [[participant]] = participants_create(actor=actor, sessions=[session], people=[details])
    notice = notice_create(participant=participant, kind=Notification.Kind.INVITE)
    reminders_plan(sessions=[session], participants=[participant], replan=False)
    audit_record(
        actor=actor,
        session=session,
        action=AuditAction.PARTICIPANT_ADD,
        obj=participant,
        name=participant.name,
    )
    hand_over_after_commit([notice])
    return participant


@transaction.atomic
def participant_update(
    *, actor: User, participant: Participant, invite_method: str, email: str, phone: str, time_zone: str
) -> Participant:
    """Change how and where a participant hears from us, and their zone; their contact follows. The name is
    changed on the contact page. Planned reminders are re-planned for the new method; a new address revokes
    the old join link and takes the notices not yet sent."""
    session, participant = _lock_participant(actor=actor, participant=participant)
    check_not_closed(session)
    details = ParticipantDetails(
        name=participant.name, invite_method=invite_method, email=email, phone=phone, time_zone=time_zone
    )
    validate_participant(details)
    before = {
        "invite_method": participant.invite_method,
        "email": participant.email,
        "phone": str(participant.phone or ""),
        "time_zone": participant.time_zone,
    }
    old_address = (participant.invite_method, participant.address)
    participant.invite_method, participant.email = invite_method, email
    participant.phone, participant.time_zone = phone or "", time_zone
    readdressed = (participant.invite_method, participant.address) != old_address
    if readdressed:
        # A corrected address means the old one may belong to someone else, who may already hold the link:
        # the link changes, and what has not been sent yet goes to the new address. What was sent is not
        # sent again unless the host presses Remind.
        participant.link_version += 1
    participant.save(update_fields=["invite_method", "email", "phone", "time_zone", "link_version"])
    if readdressed:
        notices_readdress(participant=participant)
    if participant.contact_id:
        contact_follow_participant(
            actor=actor,
            contact=participant.contact,
            preferred_method=invite_method,
            email=email,
            phone=phone,
            time_zone=time_zone,
        )
    reminders_plan(sessions=[session], participants=[participant])
    audit_record(
        actor=actor,
        session=session,
        action=AuditAction.PARTICIPANT_UPDATE,
        obj=participant,
        before=before,
        link_revoked=readdressed,
    )
    return participant


@transaction.atomic
def participant_remind(*, actor: User, participant: Participant) -> Notification:
    """Send the invite again now, on the participant's current method (after a changed contact detail).
    At most once a minute per participant."""
    session, participant = _lock_participant(actor=actor, participant=participant)
    check_open(session)
    if participant.invite_method == InviteMethod.NONE:
        raise ValidationFailedError(
            f"{participant.name} is set to receive no messages. Edit their method first."
        )
    moment = timezone.now()
    # A conditional update is the throttle, so two clicks racing each other still send one reminder.
    claimed = Participant.objects.filter(
        Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=moment - REMIND_INTERVAL),
        pk=participant.pk,
    ).update(last_reminded_at=moment)
    if not claimed:
        raise ValidationFailedError(
            f"{participant.name} was reminded less than a minute ago. Please wait a moment."
        )
    notice = notice_create(
        participant=participant, kind=Notification.Kind.REMIND, key=f"{moment.timestamp():.0f}"
    )
    audit_record(actor=actor, session=session, action=AuditAction.PARTICIPANT_REMIND, obj=participant)
    hand_over_after_commit([notice])
    return notice


@transaction.atomic
def participant_remove(*, actor: User, participant: Participant) -> Participant:
    """Take someone off a session: their link stops working at once, pending notices are withdrawn, and they
    are told the invitation was withdrawn (unless they receive no messages)."""
    session, participant = _lock_participant(actor=actor, participant=participant)
    check_not_closed(session)
    participant.removed_at = timezone.now()
    participant.link_version += 1
    participant.save(update_fields=["removed_at", "link_version"])
    # Without room tokens the room's name is its only key, and the removed person may have kept the room's
    # URL: a new name shuts them out, and everyone still on the session reaches it through their own link,
    # whose page reads the current name.
    session.video_room_name = new_video_room_name()
    session.save(update_fields=["video_room_name", "updated_at"])
    notices_cancel_pending(sessions=[session], participants=[participant])
    notice = None
    if session.is_open:
        notice = notice_create(participant=participant, kind=Notification.Kind.REMOVED)
    audit_record(
        actor=actor,
        session=session,
        action=AuditAction.PARTICIPANT_REMOVE,
        obj=participant,
        name=participant.name,
    )
    hand_over_after_commit([notice])
    return participant


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
                actor=None, session=participant.session, action=AuditAction.PARTICIPANT_JOIN, obj=participant
            )
    return participant
