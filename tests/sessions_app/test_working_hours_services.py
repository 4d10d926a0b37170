"""The working hours and blocked slot services: validation, overlaps, permissions and audit."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from sessions_app.models import BlockedSlot, WorkingHours
from sessions_app.services import (
    blocked_slot_add,
    blocked_slot_remove,
    working_hours_add,
    working_hours_remove,
)

pytestmark = pytest.mark.django_db

MONDAY, TUESDAY = WorkingHours.Weekday.MONDAY, WorkingHours.Weekday.TUESDAY


# Working hours: services -----------------------------------------------------------------------------------


def test_working_hours_add_records_audit_with_actor_and_host(scheduler, host):
    hours = working_hours_add(
        actor=scheduler, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12)
    )
    assert (hours.host, hours.weekday, hours.start_time, hours.end_time) == (host, 0, time(9), time(12))
    event = AuditEvent.objects.get(action="working_hours.add")
    assert (event.actor, event.acting_for, event.object_id) == (scheduler, host, str(hours.pk))
    assert event.organization == host.organization
    assert event.details == {"weekday": 0, "start_time": "09:00", "end_time": "12:00"}


def test_working_hours_end_must_be_after_start(host):
    with pytest.raises(ValidationFailedError, match="must be after the start"):
        working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(12), end_time=time(12))
    assert not WorkingHours.objects.exists()
    assert not AuditEvent.objects.exists()


def test_overlapping_working_hours_on_a_weekday_are_refused_but_touching_and_other_days_are_not(host):
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    with pytest.raises(ValidationFailedError, match="overlaps the Monday hours 09:00–12:00"):
        working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(11), end_time=time(14))
    with pytest.raises(ValidationFailedError, match="overlaps"):
        working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(8), end_time=time(17))
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(12), end_time=time(17))
    working_hours_add(actor=host, host=host, weekday=TUESDAY, start_time=time(10), end_time=time(11))
    ranges = WorkingHours.objects.filter(host=host).values_list("weekday", "start_time", "end_time")
    assert list(ranges) == [(0, time(9), time(12)), (0, time(12), time(17)), (1, time(10), time(11))]


def test_working_hours_of_one_host_do_not_clash_with_a_colleagues(host, other_host):
    working_hours_add(
        actor=other_host, host=other_host, weekday=MONDAY, start_time=time(9), end_time=time(17)
    )
    working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(17))
    assert WorkingHours.objects.count() == 2


def test_working_hours_remove_is_audited(scheduler, host):
    hours = working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    pk = hours.pk
    working_hours_remove(actor=scheduler, hours=hours)
    assert not WorkingHours.objects.exists()
    event = AuditEvent.objects.get(action="working_hours.remove")
    assert (event.actor, event.acting_for, event.object_id) == (scheduler, host, str(pk))


def test_scheduler_of_another_organisation_cannot_change_a_hosts_availability(outsider_scheduler, host):
    with pytest.raises(PermissionDeniedError):
        working_hours_add(
            actor=outsider_scheduler, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12)
        )
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(PermissionDeniedError):
        blocked_slot_add(
            actor=outsider_scheduler, host=host, start_at=start, end_at=start + timedelta(hours=1)
        )
    hours = working_hours_add(actor=host, host=host, weekday=MONDAY, start_time=time(9), end_time=time(12))
    slot = blocked_slot_add(actor=host, host=host, start_at=start, end_at=start + timedelta(hours=1))
    with pytest.raises(PermissionDeniedError):
        working_hours_remove(actor=outsider_scheduler, hours=hours)
    with pytest.raises(PermissionDeniedError):
        blocked_slot_remove(actor=outsider_scheduler, slot=slot)
    assert WorkingHours.objects.count() == 1 and BlockedSlot.objects.count() == 1


def test_a_host_cannot_change_a_colleagues_availability(host, other_host):
    with pytest.raises(PermissionDeniedError):
        working_hours_add(actor=host, host=other_host, weekday=MONDAY, start_time=time(9), end_time=time(12))


# Blocked slots: services -----------------------------------------------------------------------------------


def test_blocked_slot_add_and_remove_are_audited_with_actor_and_host(scheduler, host):
    start = timezone.now() + timedelta(days=2)
    slot = blocked_slot_add(
        actor=scheduler, host=host, start_at=start, end_at=start + timedelta(hours=3), note="  Conference "
    )
    assert (slot.host, slot.note) == (host, "Conference")
    added = AuditEvent.objects.get(action="blocked_slot.add")
    assert (added.actor, added.acting_for, added.object_id) == (scheduler, host, str(slot.pk))
    assert added.details["note"] == "Conference"

    pk = slot.pk
    blocked_slot_remove(actor=host, slot=slot)
    assert not BlockedSlot.objects.exists()
    removed = AuditEvent.objects.get(action="blocked_slot.remove")
    assert (removed.actor, removed.acting_for, removed.object_id) == (host, host, str(pk))


def test_blocked_slot_must_end_after_it_starts_and_not_be_over(host):
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationFailedError, match="end must be after the start"):
        blocked_slot_add(actor=host, host=host, start_at=start, end_at=start)
    with pytest.raises(ValidationFailedError, match="already passed"):
        blocked_slot_add(
            actor=host, host=host, start_at=start - timedelta(days=3), end_at=start - timedelta(days=2)
        )
    assert not BlockedSlot.objects.exists()


def test_overlapping_blocked_slot_is_refused(host):
    start = timezone.now() + timedelta(days=1)
    blocked_slot_add(actor=host, host=host, start_at=start, end_at=start + timedelta(hours=2))
    with pytest.raises(ValidationFailedError, match="already blocked"):
        blocked_slot_add(
            actor=host, host=host, start_at=start + timedelta(hours=1), end_at=start + timedelta(hours=3)
        )
    blocked_slot_add(
        actor=host, host=host, start_at=start + timedelta(hours=2), end_at=start + timedelta(hours=3)
    )
    assert BlockedSlot.objects.count() == 2
