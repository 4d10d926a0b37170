from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import ValidationFailedError
from contacts.models import Contact, InviteMethod
from contacts.selectors import contact_participations_open
from contacts.services import check_manages_contacts, contact_follow_participant
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
from sessions_app.services.scheduling import (
    ParticipantDetails,
    packet_id,
    participants_create,
    validate_documents_shown,
    validate_participant,
)

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
    *,
    actor: User,
    participant: Participant,
    invite_method: str,
    email: str,
    phone: str,
    time_zone: str,
    documents_shown: str | None = None,
    documents_packet_id: int | None = None,
) -> Participant:
    """Change how and where a participant hears from us, and their zone; their contact follows. The name is
    changed on the contact page. Planned reminders are re-planned for the new method; a new address revokes
    the old join link and takes the notices not yet sent. The documents they are shown change only when
    `documents_shown` is given."""
    session, participant = _lock_participant(actor=actor, participant=participant)
    check_not_closed(session)
    details = ParticipantDetails(
        name=participant.name, invite_method=invite_method, email=email, phone=phone, time_zone=time_zone
    )
    validate_participant(details)
    if documents_shown is None:
        details.documents_shown = participant.documents_shown
        details.documents_packet_id = participant.documents_packet_id
    else:
        details.documents_shown, details.documents_packet_id = documents_shown, documents_packet_id
        validate_documents_shown([details], organization_id=session.organization_id)
    before = {
        "invite_method": participant.invite_method,
        "email": participant.email,
        "phone": str(participant.phone or ""),
        "time_zone": participant.time_zone,
        "documents_shown": participant.documents_shown,
        "documents_packet": participant.documents_packet_id,
    }
    old_address = (participant.invite_method, participant.address)
    participant.invite_method, participant.email = invite_method, email
    participant.phone, participant.time_zone = phone or "", time_zone
    participant.documents_shown, participant.documents_packet_id = details.documents_shown, packet_id(details)
    readdressed = (participant.invite_method, participant.address) != old_address
    if readdressed:
        # A corrected address means the old one may belong to someone else, who may already hold the link:
        # the link changes, and what has not been sent yet goes to the new address. What was sent is not
        # sent again unless the host presses Remind.
        participant.link_version += 1
    participant.save(
        update_fields=[
            "invite_method",
            "email",
            "phone",
            "time_zone",
            "link_version",
            "documents_shown",
            "documents_packet",
        ]
    )
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
    participant_take_off_locked(session=session, participant=participant)
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


def participant_take_off_locked(*, session: Session, participant: Participant) -> None:
    """The writes of taking someone off a session the caller has locked: participant_remove for a host,
    participant_cancel_self for a participant who cancelled their place. Their link stops working and their
    pending notices are withdrawn; whether they are told is the caller's choice."""
    participant.removed_at = timezone.now()
    participant.link_version += 1
    participant.save(update_fields=["removed_at", "link_version"])
    # Without room tokens the room's name is its only key, and the removed person may have kept the room's
    # URL: a new name shuts them out, and everyone still on the session reaches it through their own link,
    # whose page reads the current name.
    session.video_room_name = new_video_room_name()
    session.save(update_fields=["video_room_name", "updated_at"])
    notices_cancel_pending(sessions=[session], participants=[participant])


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


# What a participation of an erased person is called from then on, on the host's pages and in the history.
ERASED_PARTICIPANT_NAME = "Erased contact"


@transaction.atomic
def participants_follow_contact(*, actor: User, contact: Contact) -> list[Participant]:
    """A contact's name or details changed (contacts.services.contact_update): their participants on
    sessions not yet ended take them, whichever host those sessions are with, since the contact is the
    organisation's. Like participant_update, a new method or address revokes the old join link and takes
    the notices not yet sent, and the reminders are planned again for the new method; a new name or zone
    alone changes no link. Past participations keep what they were sent under.

    A fixed number of queries for the rows; the readdressed participants' notices and the hosts' reminder
    plans and audit events add one step each. Returns the participants that changed."""
    check_manages_contacts(actor=actor, organization_id=contact.organization_id)
    wanted = {
        "name": contact.name,
        "invite_method": contact.preferred_method,
        "email": contact.email,
        "phone": str(contact.phone or ""),
        "time_zone": contact.time_zone,
    }
    participants = list(
        contact_participations_open(contact=contact)
        .select_for_update(of=("self",))
        .select_related("session", "session__host")
        .order_by("id")
    )
    changed, readdressed = [], []
    for participant in participants:
        if all(str(getattr(participant, field) or "") == value for field, value in wanted.items()):
            continue
        old_address = (participant.invite_method, participant.address)
        for field, value in wanted.items():
            setattr(participant, field, value)
        changed.append(participant)
        if (participant.invite_method, participant.address) != old_address:
            # As in participant_update: the old address may be someone else's, who may hold the link.
            participant.link_version += 1
            readdressed.append(participant)
    if not changed:
        return []
    Participant.objects.filter(pk__in=[p.pk for p in changed]).update(**wanted)
    Participant.objects.filter(pk__in=[p.pk for p in readdressed]).update(link_version=F("link_version") + 1)
    by_host = defaultdict(list)
    for participant in changed:
        by_host[participant.session.host].append(participant)
    for participant in readdressed:
        notices_readdress(participant=participant)
    for host, people in by_host.items():
        moved = [p for p in people if p in readdressed]
        if moved:
            reminders_plan(
                sessions=list({p.session_id: p.session for p in moved}.values()), participants=moved
            )
        audit_record(
            actor=actor,
            acting_for=host,
            organization_id=contact.organization_id,
            action=AuditAction.PARTICIPANTS_FOLLOW_CONTACT,
            obj=contact,
            participants=[p.pk for p in people],
            link_revoked=[p.pk for p in moved],
        )
    return changed


@transaction.atomic
def participants_erase(*, actor: User, contact: Contact) -> list[Participant]:
    """Blank a person's details on every participation of theirs (contacts.services.contact_erase): the
    sessions keep a participant called "Erased contact" with no address, and their links stop working.
    Refused while they are on a session not yet ended: the host removes them from it first. Returns the
    participations as they were before, so the caller can erase the same details elsewhere."""
    check_manages_contacts(actor=actor, organization_id=contact.organization_id)
    if contact_participations_open(contact=contact).exists():
        raise ValidationFailedError(
            f"{contact.name} is on a session that has not ended yet. Remove them from it first, then erase "
            "their data."
        )
    participants = list(Participant.objects.select_for_update().filter(contact=contact).order_by("id"))
    Participant.objects.filter(pk__in=[p.pk for p in participants]).update(
        name=ERASED_PARTICIPANT_NAME,
        email="",
        phone="",
        answer_message="",
        link_version=F("link_version") + 1,
    )
    audit_record(
        actor=actor,
        acting_for=None,
        organization_id=contact.organization_id,
        action=AuditAction.PARTICIPANTS_ERASE,
        obj=contact,
        participants=[p.pk for p in participants],
    )
    return participants
