"""Busy times from a host's own calendar (issue 13): the host pastes its secret iCal address, a worker reads
it every REFRESH_EVERY (sessions_app.tasks), and the times its events take count as "Host is not available"
in every availability answer, without their titles (sessions_app.availability).

A calendar that cannot be read keeps the busy times of its last good reading for KEEP_STALE_FOR, so a short
outage at Google does not make the host look free; after that they are cleared, because times that old may
well have moved. The error is on the profile page from the first failure.

The worker's writes are not audited (nobody acted); setting and removing the address are."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import ValidationFailedError
from sessions_app.calendar_import import (
    CalendarFetchError,
    ImportedCalendar,
    busy_from_calendar,
    fetch_calendar,
    host_label,
    normalized_url,
)
from sessions_app.models import CalendarSource, ExternalBusyTime
from sessions_app.services.calendar_feeds import check_host_self

logger = logging.getLogger("sessions_app.calendar_import")

REFRESH_EVERY = timedelta(minutes=15)
# A worker holds a source this long while it reads it; one that dies leaves it to the next sweep after.
CLAIM_LEASE = timedelta(minutes=5)
KEEP_STALE_FOR = timedelta(hours=24)
SWEEP_BATCH = 500


def _queue_refresh(source_id: int) -> None:
    from sessions_app.tasks import refresh_calendar_source

    def hand_over() -> None:
        try:
            refresh_calendar_source.delay(source_id)
        except Exception:  # noqa: BLE001 - any broker error: the sweep reads the calendar a little later
            logger.warning(
                "Could not hand calendar source %s to the broker; the sweep will read it", source_id
            )

    transaction.on_commit(hand_over)


@transaction.atomic
def calendar_source_set(*, actor: User, url: str) -> CalendarSource:
    """Read busy times from this address from now on, replacing any address the host had (and its busy
    times: they came from another calendar). The address is checked for its form here; whether it can be
    reached, and where it points, is the worker's check, every time it reads it."""
    check_host_self(actor)
    try:
        url = normalized_url(url)
    except CalendarFetchError as error:
        raise ValidationFailedError(str(error), field="url") from error
    source = CalendarSource.objects.select_for_update().filter(host=actor).first()
    replaced = source is not None
    if source is None:
        source = CalendarSource(host=actor)
    source.url = url
    source.created_at = source.next_fetch_at = timezone.now()
    source.last_fetched_at = source.last_attempt_at = source.failing_since = None
    source.last_error = ""
    source.event_count = 0
    # A worker still reading the previous address no longer holds the row: what it read is dropped.
    source.fetch_attempt += 1
    source.save()
    source.busy_times.all().delete()
    audit_record(
        actor=actor,
        action=AuditAction.CALENDAR_SOURCE_SET,
        obj=source,
        acting_for=actor,
        organization_id=actor.membership.organization_id,
        # Where it points, never the address itself: it is a secret of the host's.
        host=host_label(url),
        replaced=replaced,
    )
    _queue_refresh(source.pk)
    return source


@transaction.atomic
def calendar_source_remove(*, actor: User) -> None:
    """Stop reading the host's calendar; its busy times go with it."""
    check_host_self(actor)
    source = CalendarSource.objects.select_for_update().filter(host=actor).first()
    if source is None:
        return
    audit_record(
        actor=actor,
        action=AuditAction.CALENDAR_SOURCE_REMOVE,
        obj=source,
        acting_for=actor,
        organization_id=actor.membership.organization_id,
        host=host_label(source.url),
    )
    source.delete()


def calendar_sources_due_ids() -> list[int]:
    return list(
        CalendarSource.objects.filter(next_fetch_at__lte=timezone.now(), host__is_active=True)
        .order_by("next_fetch_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def _claim(source_id: int) -> CalendarSource | None:
    """Take a due source for one reading. The conditional update is the lock: of two workers, the second
    finds it no longer due (PostgreSQL re-reads the row after the first one's commit)."""
    now = timezone.now()
    taken = CalendarSource.objects.filter(pk=source_id, next_fetch_at__lte=now, host__is_active=True).update(
        next_fetch_at=now + CLAIM_LEASE, fetch_attempt=F("fetch_attempt") + 1, last_attempt_at=now
    )
    if not taken:
        return None
    return CalendarSource.objects.select_related("host").get(pk=source_id)


def _write(source: CalendarSource, **fields) -> bool:
    """Record the reading, only while this claim holds the source (a newer address or claim wins)."""
    return bool(
        CalendarSource.objects.filter(pk=source.pk, fetch_attempt=source.fetch_attempt).update(**fields)
    )


@transaction.atomic
def _record_busy(source: CalendarSource, imported: ImportedCalendar) -> None:
    now = timezone.now()
    written = _write(
        source,
        last_fetched_at=now,
        last_error="",
        failing_since=None,
        event_count=imported.event_count,
        next_fetch_at=now + REFRESH_EVERY,
    )
    if not written:
        return
    ExternalBusyTime.objects.filter(source=source).delete()
    ExternalBusyTime.objects.bulk_create(
        [
            ExternalBusyTime(source=source, host_id=source.host_id, start_at=start_at, end_at=end_at)
            for start_at, end_at in imported.busy
        ],
        batch_size=500,
    )


@transaction.atomic
def _record_failure(source: CalendarSource, message: str) -> None:
    now = timezone.now()
    failing_since = source.failing_since or now
    stale = failing_since <= now - KEEP_STALE_FOR
    fields = {
        "last_error": message[:300],
        "failing_since": failing_since,
        "next_fetch_at": now + REFRESH_EVERY,
    }
    if stale:
        fields["event_count"] = 0
    if _write(source, **fields) and stale:
        ExternalBusyTime.objects.filter(source=source).delete()


def calendar_source_refresh(*, source_id: int) -> bool:
    """Read a due source and replace its busy times; on failure record why. True when it was read. The
    network call is made outside any transaction: the row is only claimed while it runs."""
    source = _claim(source_id)
    if source is None:
        return False
    try:
        imported = busy_from_calendar(fetch_calendar(source.url), zone=source.host.zone, now=timezone.now())
    except CalendarFetchError as error:
        _record_failure(source, str(error))
        return False
    except Exception as error:  # noqa: BLE001 - a parser's surprise must not leave the host without a word
        # Only the kind of error: the address (a secret) may be in its text.
        logger.warning("Calendar source %s could not be read: %s", source_id, type(error).__name__)
        _record_failure(source, "The calendar could not be read.")
        return False
    _record_busy(source, imported)
    return True
