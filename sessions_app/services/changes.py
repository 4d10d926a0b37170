from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import AuditEvent, User
from accounts.selectors import hosts_of_organization
from billing.services.refunds import payments_refund_for_cancel
from config.errors import PermissionDeniedError, ValidationFailedError
from notifications.models import Notification
from notifications.services import (
    hand_over_after_commit,
    host_notice_create,
    notice_build,
    notices_cancel_pending,
    notices_put,
)
from sessions_app.availability import busy_times
from sessions_app.models import Participant, Room, Session
from sessions_app.services.common import (
    check_bookable,
    check_not_closed,
    check_not_live,
    check_open,
    check_session_start,
    lock_session,
    save_guarded,
)
from sessions_app.services.reminders import reminders_plan

THIS = "this"
FOLLOWING = "following"
# session_reschedule's `room` when the sessions keep the rooms they have.
KEEP_ROOM = object()


def _scope(session: Session, scope: str) -> list[Session]:
    """The session alone, or it and the later open sessions of its series, locked in start order."""
    if scope != FOLLOWING or session.series_id is None:
        return [session]
    return list(
        Session.objects.select_for_update(of=("self",))
        .open()
        .filter(series_id=session.series_id, start_at__gte=session.start_at)
        .select_related("host", "room")
        .order_by("start_at")
    )


def _person_key(participant: Participant) -> tuple[str, str, str]:
    # The same person appears once per occurrence of a series; their contact (or address) ties them together.
    # The channel and address belong to the key: one contact can be two participants of a session (a parent
    # invited by email and by SMS), and each of them must hear about the change where they were invited.
    if participant.contact_id:
        person = f"c{participant.contact_id}"
    else:
        person = "address" if participant.address else f"p{participant.pk}"
    return person, participant.invite_method, participant.address


def _active_participants(sessions: list[Session]) -> list[Participant]:
    """The active participants of these sessions in one query, each with its (already loaded) session."""
    by_pk = {session.pk: session for session in sessions}
    participants = list(
        Participant.objects.active().filter(session__in=sessions).order_by("session__start_at", "id")
    )
    for participant in participants:
        participant.session = by_pk[participant.session_id]
    return participants


def _notify_each_person(*, sessions: list[Session], kind: str, key: str, context: dict) -> list[Notification]:
    """One notice per person and channel for a change that spans several sessions, attached to their first
    one; every participant of a single session is told."""
    firsts: dict[tuple, Participant] = {}
    seen_in_session: dict[tuple, int] = {}
    for participant in _active_participants(sessions):
        person = _person_key(participant)
        # The n-th time a person appears in one session stands for the n-th time in the others, so two
        # participants who share a contact, a channel and an address are still told once each.
        ordinal = seen_in_session.get((participant.session_id, person), 0)
        seen_in_session[(participant.session_id, person)] = ordinal + 1
        firsts.setdefault((person, ordinal), participant)
    if len(sessions) > 1:
        context = {**context, "occurrences": [s.start_at.isoformat() for s in sessions]}
    return notices_put(
        [notice_build(participant=p, kind=kind, key=key, context=context) for p in firsts.values()]
    )


def _shift_wall_clock(moment: datetime, zone, delta: timedelta) -> datetime:
    """Move a start by a wall-clock difference in the host's zone, so a weekly 10:00 stays at the same
    local time on both sides of a daylight-saving change."""
    local = moment.astimezone(zone).replace(tzinfo=None) + delta
    return local.replace(tzinfo=zone).astimezone(moment.tzinfo)


@transaction.atomic
def session_reschedule(
    *,
    actor: User,
    session: Session,
    start_at: datetime,
    reason: str = "",
    notify: bool = True,
    scope: str = THIS,
    room: Room | None | object = KEEP_ROOM,
) -> Session:
    """Move a session (or it and the following ones of its series) to a new start, a new room, or both.

    `room` is the room the moved sessions take (None: no room); left out, each keeps its own. Refused for a
    live session and over an overlap with the host's own session or a taken room; allowed over working
    hours and blocked slots (the page warns). Join links keep working with the new window; calendar files
    keep their UID with a higher SEQUENCE. A change of room alone tells nobody: the participants' notices
    and calendar files do not name the room.
    """
    session = lock_session(actor=actor, session=session)
    check_open(session)
    check_not_live(session, "rescheduled")
    check_session_start(start_at)
    if start_at <= timezone.now():
        raise ValidationFailedError("Choose a new time in the future.", field="start")
    new_room = session.room if room is KEEP_ROOM else room
    room_changes = new_room != session.room
    if (
        room_changes
        and new_room is not None
        and (new_room.organization_id != session.organization_id or not new_room.is_active)
    ):
        raise ValidationFailedError("Choose one of your organisation's rooms.", field="room")
    zone = session.host.zone
    delta = start_at.astimezone(zone).replace(tzinfo=None) - session.start_at.astimezone(zone).replace(
        tzinfo=None
    )
    if delta == timedelta(0) and not room_changes:
        raise ValidationFailedError("That is the time the session already has.", field="start")
    sessions = _scope(session, scope)
    # The series' rows were read afresh: the session moved is the one among them, so what is returned,
    # audited and told carries the new time.
    session = next(occurrence for occurrence in sessions if occurrence.pk == session.pk)
    changes = []
    for occurrence in sessions:
        new_start = _shift_wall_clock(occurrence.start_at, zone, delta)
        changes.append(
            (
                occurrence,
                occurrence.start_at,
                new_start,
                new_start + timedelta(minutes=occurrence.duration_minutes),
            )
        )
    # Every occurrence is checked against the room it will have (the chosen one, or its own when kept).
    rooms = {new_room} if room is not KEEP_ROOM else {o.room for o in sessions}
    span = (changes[0][2], max(c[3] for c in changes))
    busy = {
        each: busy_times(viewer=actor, hosts=[session.host], start_at=span[0], end_at=span[1], room=each)
        for each in rooms
    }
    for occurrence, _old, new_start, new_end in changes:
        check_session_start(new_start)
        target_room = new_room if room is not KEEP_ROOM else occurrence.room
        check_bookable(
            availability=busy[target_room].availability(
                host=session.host, start_at=new_start, end_at=new_end, exclude=[occurrence.pk]
            ),
            zone=actor.time_zone,
        )
    old_room = session.room
    for occurrence, _old, new_start, new_end in changes:
        occurrence.start_at, occurrence.end_at = new_start, new_end
        fields = ["start_at", "end_at"]
        if room is not KEEP_ROOM:
            occurrence.room = new_room
            fields.append("room")
        if delta:
            occurrence.calendar_sequence += 1
            fields.append("calendar_sequence")
        save_guarded(occurrence, fields)
    reminders_plan(sessions=sessions)
    notices = []
    if notify and delta:
        notices = _notify_each_person(
            sessions=sessions,
            kind=Notification.Kind.RESCHEDULE,
            key=f"r{session.calendar_sequence}",
            context={"old_start": changes[0][1].isoformat(), "reason": reason.strip()},
        )
    audit_record(
        actor=actor,
        session=session,
        obj=session,
        action=AuditAction.SESSION_RESCHEDULE,
        old_start=changes[0][1].isoformat(),
        new_start=session.start_at.isoformat(),
        reason=reason.strip(),
        notify=notify,
        sessions=[s.pk for s in sessions],
        **(
            {"old_room": old_room.name if old_room else "", "new_room": new_room.name if new_room else ""}
            if room_changes
            else {}
        ),
    )
    hand_over_after_commit(notices)
    return session


@transaction.atomic
def session_cancel(*, actor: User, session: Session, reason: str = "", scope: str = THIS) -> Session:
    """Cancel a session (or it and the following ones): participants are told, with a calendar CANCEL, and
    the slot frees. Once the start is more than 5 minutes past, a session is removed instead."""
    session = lock_session(actor=actor, session=session)
    # The cancel window closes before the end (5 minutes after the start), so it is the check that counts.
    check_not_closed(session)
    if not session.cancel_offered():
        raise ValidationFailedError(
            "This session started more than 5 minutes ago: remove it instead of cancelling."
        )
    sessions = _scope(session, scope)
    session = next(occurrence for occurrence in sessions if occurrence.pk == session.pk)
    notices = sessions_cancel_locked(sessions=sessions, reason=reason)
    audit_record(
        actor=actor,
        session=session,
        obj=session,
        action=AuditAction.SESSION_CANCEL,
        reason=reason.strip(),
        sessions=[s.pk for s in sessions],
        host_connected=session.host_connected_at is not None,
    )
    hand_over_after_commit(notices)
    return session


def sessions_cancel_locked(
    *, sessions: list[Session], reason: str, by_participant: bool = False
) -> list[Notification]:
    """The writes of a cancel, for sessions the caller has locked and checked: session_cancel for a host,
    participant_cancel_self when a session's only participant cancels (`by_participant`). Payments are
    refunded, pending notices withdrawn, and the cancellation notices returned for the caller to hand over
    after its audit event."""
    moment = timezone.now()
    for occurrence in sessions:
        occurrence.status = Session.Status.CANCELLED
        occurrence.cancel_reason = reason.strip()
        occurrence.cancelled_at = moment
        occurrence.cancelled_by_participant = by_participant
        occurrence.calendar_sequence += 1
        occurrence.save(
            update_fields=[
                "status",
                "cancel_reason",
                "cancelled_at",
                "cancelled_by_participant",
                "calendar_sequence",
                "updated_at",
            ]
        )
    payments_refund_for_cancel(sessions=sessions, cancelled_by_host=not by_participant)
    notices_cancel_pending(sessions=sessions)
    return _notify_each_person(
        sessions=sessions,
        kind=Notification.Kind.CANCELLATION,
        key="cancel",
        context={"reason": reason.strip()},
    )


@transaction.atomic
def session_remove(*, actor: User, session: Session) -> Session:
    """Take a session that started more than 5 minutes ago off the dashboard, without any notice."""
    session = lock_session(actor=actor, session=session)
    check_not_closed(session)
    if session.cancel_offered():
        raise ValidationFailedError(
            "Until 5 minutes after the start, cancel the session instead (participants are told)."
        )
    session.status = Session.Status.REMOVED
    # No notice, but the host's subscribed calendar shows it as cancelled: a change of STATUS (RFC 5545).
    session.calendar_sequence += 1
    session.save(update_fields=["status", "calendar_sequence", "updated_at"])
    notices_cancel_pending(sessions=[session])
    audit_record(actor=actor, session=session, obj=session, action=AuditAction.SESSION_REMOVE)
    return session


@transaction.atomic
def session_change_end(*, actor: User, session: Session, end_at: datetime, notify: bool = True) -> Session:
    """Give a session a new end (extend or shorten it), checked like a reschedule; participants are told."""
    session = lock_session(actor=actor, session=session)
    check_open(session)
    if end_at <= session.start_at:
        raise ValidationFailedError("The end must be after the start.", field="end")
    if end_at <= timezone.now():
        raise ValidationFailedError("The new end has already passed.", field="end")
    minutes = round((end_at - session.start_at).total_seconds() / 60)
    if not 5 <= minutes <= 24 * 60:
        raise ValidationFailedError("A session lasts between 5 minutes and 24 hours.", field="end")
    busy = busy_times(
        viewer=actor, hosts=[session.host], start_at=session.start_at, end_at=end_at, room=session.room
    )
    check_bookable(
        availability=busy.availability(
            host=session.host, start_at=session.start_at, end_at=end_at, exclude=[session.pk]
        ),
        zone=actor.time_zone,
    )
    old_end = session.end_at
    session.end_at, session.duration_minutes = end_at, minutes
    session.calendar_sequence += 1
    save_guarded(session, ["end_at", "duration_minutes", "calendar_sequence"])
    notices = []
    if notify:
        notices = notices_put(
            [
                notice_build(
                    participant=p,
                    kind=Notification.Kind.END_CHANGED,
                    context={"old_end": old_end.isoformat()},
                )
                for p in _active_participants([session])
            ]
        )
    audit_record(
        actor=actor,
        session=session,
        obj=session,
        action=AuditAction.SESSION_CHANGE_END,
        old_end=old_end.isoformat(),
        new_end=end_at.isoformat(),
    )
    hand_over_after_commit(notices)
    return session


@transaction.atomic
def session_mark_no_show(
    *, actor: User, session: Session, participant_ids: list[int] | None = None, whole_session: bool = False
) -> Session:
    """Mark participants (or the whole session) as no-shows, once the session has started. The session stays
    in the history as a no-show, distinct from cancelled."""
    session = lock_session(actor=actor, session=session)
    check_not_closed(session)
    if timezone.now() < session.start_at:
        raise ValidationFailedError("You can mark no-shows once the session has started.")
    participants = session.participants.active()
    if not whole_session:
        if not participant_ids:
            raise ValidationFailedError("Choose who did not come.")
        participants = participants.filter(pk__in=participant_ids)
    marked = list(participants.values_list("pk", flat=True))
    Participant.objects.filter(pk__in=marked).update(no_show=True)
    everyone = not session.participants.active().filter(no_show=False).exists()
    if whole_session or everyone:
        session.no_show = True
        session.save(update_fields=["no_show", "updated_at"])
    audit_record(
        actor=actor,
        session=session,
        obj=session,
        action=AuditAction.SESSION_NO_SHOW,
        participants=marked,
        whole_session=session.no_show,
    )
    return session


@transaction.atomic
def session_reassign(*, actor: User, session: Session, new_host: User) -> Session:
    """Give a session to another host of the organisation; they get an email, participants' links keep
    working. Refused for a live session and when the new host already has a session at that time."""
    session = lock_session(actor=actor, session=session)
    check_open(session)
    check_not_live(session, "reassigned")
    if new_host.pk == session.host_id:
        raise ValidationFailedError("The session is already with this host.", field="host")
    is_colleague = (
        hosts_of_organization(organization_id=session.organization_id).filter(pk=new_host.pk).exists()
    )
    if not is_colleague:
        raise PermissionDeniedError("Sessions can only go to a host of the same organisation.")
    busy = busy_times(
        viewer=actor, hosts=[new_host], start_at=session.start_at, end_at=session.end_at, room=session.room
    )
    check_bookable(
        availability=busy.availability(
            host=new_host, start_at=session.start_at, end_at=session.end_at, exclude=[session.pk]
        ),
        zone=actor.time_zone,
    )
    previous = session.host
    session.host = new_host
    save_guarded(session, ["host"])
    reminders_plan(sessions=[session])
    notice = host_notice_create(
        host=new_host,
        session=session,
        kind=Notification.Kind.REASSIGNED,
        key=f"from{previous.pk}-{timezone.now().timestamp():.0f}",
        context={"previous_host": previous.full_name},
    )
    audit_record(
        acting_for=previous,
        actor=actor,
        session=session,
        obj=session,
        action=AuditAction.SESSION_REASSIGN,
        previous_host=previous.pk,
        new_host=new_host.pk,
    )
    hand_over_after_commit([notice])
    return session


@transaction.atomic
def session_connect(*, actor: User, session: Session) -> Session:
    """The host enters the room: the session becomes live."""
    if session.host_id != actor.pk:
        raise PermissionDeniedError("Only the session's host can connect.")
    session = Session.objects.select_for_update(of=("self",)).select_related("host").get(pk=session.pk)
    moment = timezone.now()
    check_not_closed(session)
    if not session.connect_open(moment):
        raise ValidationFailedError("You can connect from 15 minutes before the start until the end.")
    first = session.host_connected_at is None
    session.status = Session.Status.LIVE
    session.host_connected_at = session.host_connected_at or moment
    session.save(update_fields=["status", "host_connected_at", "updated_at"])
    if first:
        audit_record(actor=actor, session=session, obj=session, action=AuditAction.SESSION_CONNECT)
    return session


@transaction.atomic
def sessions_complete_ended() -> int:
    """Beat's periodic step: sessions still scheduled or live whose end has passed become completed, so the
    status stored agrees with what the pages show (Session.state) and the rooms and hosts they held are
    free in every query. Nobody is behind this change: the audit events name no actor."""
    moment = timezone.now()
    ended = list(
        Session.objects.select_for_update(skip_locked=True)
        .filter(status__in=Session.OPEN_STATUSES, end_at__lte=moment)
        .values_list("pk", "organization_id", "host_id")
    )
    if not ended:
        return 0
    Session.objects.filter(pk__in=[pk for pk, _org, _host in ended]).update(
        status=Session.Status.COMPLETED, updated_at=moment
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization_id=organization_id,
            acting_for_id=host_id,
            action=AuditAction.SESSION_COMPLETE.value,
            object_type=Session._meta.label_lower,
            object_id=str(pk),
            created_at=moment,
        )
        for pk, organization_id, host_id in ended
    )
    return len(ended)
