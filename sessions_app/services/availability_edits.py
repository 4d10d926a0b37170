"""Changes to a host's availability: weekly working hours and one-off blocked slots (DESIGN.md rule 1).

Working hours are wall-clock times in the host's own zone, so they keep meaning the same thing across
daylight-saving changes; blocked slots are instants, stored in UTC like sessions.
"""

from datetime import datetime, time

from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import ValidationFailedError
from sessions_app.models import BlockedSlot, WorkingHours
from sessions_app.services.common import check_acts_for, check_session_start


def _lock_host(host: User) -> None:
    # Two people adding ranges for the same host at once must not both pass the overlap check; locking the
    # host's row serialises them on PostgreSQL (SQLite's single writer already does).
    User.objects.select_for_update().filter(pk=host.pk).first()


def _check_weekday(weekday: int) -> None:
    if weekday not in WorkingHours.Weekday.values:
        raise ValidationFailedError("Choose a day of the week.", field="weekday")


def _check_range(start_time: time, end_time: time) -> None:
    if end_time <= start_time:
        raise ValidationFailedError(
            f"The end ({end_time:%H:%M}) must be after the start ({start_time:%H:%M}).", field="end_time"
        )


@transaction.atomic
def working_hours_add(
    *, actor: User, host: User, weekday: int, start_time: time, end_time: time
) -> WorkingHours:
    """Add one range to a weekday of the host's working hours; it may not overlap the day's other ranges."""
    check_acts_for(actor=actor, host=host)
    _check_weekday(weekday)
    _check_range(start_time, end_time)
    _lock_host(host)
    clash = (
        WorkingHours.objects.filter(
            host=host, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
        )
        .order_by("start_time")
        .first()
    )
    if clash is not None:
        raise ValidationFailedError(
            f"{start_time:%H:%M}–{end_time:%H:%M} overlaps the {clash.get_weekday_display()} hours "
            f"{clash.start_time:%H:%M}–{clash.end_time:%H:%M}.",
            field="start_time",
        )
    hours = WorkingHours.objects.create(host=host, weekday=weekday, start_time=start_time, end_time=end_time)
    audit_record(
        actor=actor,
        acting_for=host,
        organization_id=host.organization.id,
        action=AuditAction.WORKING_HOURS_ADD,
        obj=hours,
        weekday=weekday,
        start_time=f"{start_time:%H:%M}",
        end_time=f"{end_time:%H:%M}",
    )
    return hours


@transaction.atomic
def working_hours_remove(*, actor: User, hours: WorkingHours) -> None:
    host = hours.host
    check_acts_for(actor=actor, host=host)
    # The audit event names the row, so it is written while the row still has its id.
    audit_record(
        actor=actor,
        acting_for=host,
        organization_id=host.organization.id,
        action=AuditAction.WORKING_HOURS_REMOVE,
        obj=hours,
        weekday=hours.weekday,
        start_time=f"{hours.start_time:%H:%M}",
        end_time=f"{hours.end_time:%H:%M}",
    )
    hours.delete()


@transaction.atomic
def blocked_slot_add(
    *, actor: User, host: User, start_at: datetime, end_at: datetime, note: str = ""
) -> BlockedSlot:
    """Block a one-off time for the host. Sessions already booked then stay; new bookings are warned."""
    check_acts_for(actor=actor, host=host)
    if start_at.tzinfo is None or end_at.tzinfo is None:
        raise ValidationFailedError("The blocked time needs a time zone.")
    check_session_start(start_at)
    check_session_start(end_at, field="end")
    if end_at <= start_at:
        raise ValidationFailedError("The end must be after the start.", field="end")
    if end_at <= timezone.now():
        raise ValidationFailedError("That time has already passed.", field="end")
    note = note.strip()
    if len(note) > BlockedSlot._meta.get_field("note").max_length:
        raise ValidationFailedError("Keep the note under 200 characters.", field="note")
    _lock_host(host)
    # Overlapping blocks would say the same thing twice on the calendar (and a double-click would make two).
    if BlockedSlot.objects.filter(host=host, start_at__lt=end_at, end_at__gt=start_at).exists():
        raise ValidationFailedError(
            "This overlaps a time that is already blocked. Delete that block or choose another time.",
            field="start",
        )
    slot = BlockedSlot.objects.create(host=host, start_at=start_at, end_at=end_at, note=note)
    audit_record(
        actor=actor,
        acting_for=host,
        organization_id=host.organization.id,
        action=AuditAction.BLOCKED_SLOT_ADD,
        obj=slot,
        start_at=start_at.isoformat(),
        end_at=end_at.isoformat(),
        note=note,
    )
    return slot


@transaction.atomic
def blocked_slot_remove(*, actor: User, slot: BlockedSlot) -> None:
    host = slot.host
    check_acts_for(actor=actor, host=host)
    audit_record(
        actor=actor,
        acting_for=host,
        organization_id=host.organization.id,
        action=AuditAction.BLOCKED_SLOT_REMOVE,
        obj=slot,
        start_at=slot.start_at.isoformat(),
        end_at=slot.end_at.isoformat(),
        note=slot.note,
    )
    slot.delete()
