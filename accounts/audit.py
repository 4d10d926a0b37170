"""The audit log's one writer. Every service records its change here with an AuditAction, never a free
string, so the log can be read (and filtered) by a fixed vocabulary."""

from django.db import models

from accounts.models import AuditEvent, User


class AuditAction(models.TextChoices):
    SESSION_SCHEDULE = "session.schedule", "Session scheduled"
    SESSION_SCHEDULE_NEXT = "session.schedule_next", "Next session scheduled"
    SESSION_RESCHEDULE = "session.reschedule", "Session rescheduled"
    SESSION_CANCEL = "session.cancel", "Session cancelled"
    SESSION_REMOVE = "session.remove", "Session removed"
    SESSION_CHANGE_END = "session.change_end", "Session end time changed"
    SESSION_NO_SHOW = "session.no_show", "No-show recorded"
    SESSION_REASSIGN = "session.reassign", "Session reassigned"
    SESSION_CONNECT = "session.connect", "Host connected"
    SESSION_COMPLETE = "session.complete", "Session completed"
    PARTICIPANT_ADD = "participant.add", "Participant added"
    PARTICIPANT_UPDATE = "participant.update", "Participant changed"
    PARTICIPANT_REMIND = "participant.remind", "Participant reminded"
    PARTICIPANT_REMOVE = "participant.remove", "Participant removed"
    PARTICIPANT_JOIN = "participant.join", "Participant joined"
    CONTACT_CREATE = "contact.create", "Contact created"
    CONTACT_UPDATE = "contact.update", "Contact changed"
    CONTACT_SMS_OPT_OUT = "contact.sms_opt_out", "SMS opt-out changed"
    ROOM_ADD = "room.add", "Room added"
    ROOM_UPDATE = "room.update", "Room changed"
    WORKING_HOURS_ADD = "working_hours.add", "Working hours added"
    WORKING_HOURS_REMOVE = "working_hours.remove", "Working hours removed"
    BLOCKED_SLOT_ADD = "blocked_slot.add", "Time blocked"
    BLOCKED_SLOT_REMOVE = "blocked_slot.remove", "Blocked time removed"
    REMINDERS_UPDATE = "reminders.update", "Reminder times changed"
    NOTICE_PROVIDER_STATUS = "notice.provider_status", "Provider reported on a notice"


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    obj: models.Model,
    session=None,
    acting_for: User | None = None,
    organization_id: int | None = None,
    **details,
) -> AuditEvent:
    """Record one change. About a session (or something on it), pass `session`: the event then names the
    session's organisation and, unless told otherwise, its host as the one acted for (DESIGN.md rule 4)."""
    if session is not None:
        acting_for = acting_for or session.host
        organization_id = session.organization_id
    return AuditEvent.objects.create(
        organization_id=organization_id,
        actor=actor,
        acting_for=acting_for,
        action=AuditAction(action).value,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        details=details,
    )
