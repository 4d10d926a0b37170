"""Is a host (and a room) free at a given time? Read-only; the services decide what may be saved."""

from dataclasses import dataclass, field
from datetime import datetime

from accounts.models import User
from accounts.selectors import hosts_of_organization
from sessions_app.models import BlockedSlot, Room, Session, WorkingHours
from sessions_app.timefmt import format_when

OPEN_STATUSES = (Session.Status.SCHEDULED, Session.Status.LIVE)


@dataclass
class Availability:
    host_overlaps: list[Session] = field(default_factory=list)
    room_overlaps: list[Session] = field(default_factory=list)
    blocks: list[BlockedSlot] = field(default_factory=list)
    outside_working_hours: bool = False

    @property
    def host_available(self) -> bool:
        return not (self.host_overlaps or self.blocks or self.outside_working_hours)

    @property
    def status(self) -> str:
        if self.room_overlaps:
            return "room_unavailable"
        if not self.host_available:
            return "host_unavailable"
        return "available"

    @property
    def label(self) -> str:
        return {
            "available": "Slot available",
            "host_unavailable": "Host is not available",
            "room_unavailable": "Room is not available",
        }[self.status]

    @property
    def may_save(self) -> bool:
        """A host may book over working hours or a block, never over their own session or a taken room."""
        return not self.host_overlaps and not self.room_overlaps

    def reasons(self, zone: str) -> list[str]:
        reasons = [f"Overlaps “{s.title}” ({format_when(s.start_at, zone)})" for s in self.host_overlaps]
        reasons += [
            f"Blocked: {b.note or 'no note'} (until {format_when(b.end_at, zone)})" for b in self.blocks
        ]
        if self.outside_working_hours:
            reasons.append("Outside the host's working hours")
        reasons += [
            f"The room is booked for “{s.title}” ({format_when(s.start_at, zone)})"
            for s in self.room_overlaps
        ]
        return reasons


def _overlapping(sessions, start_at: datetime, end_at: datetime, exclude: list[int]):
    return list(
        sessions.filter(status__in=OPEN_STATUSES, start_at__lt=end_at, end_at__gt=start_at)
        .exclude(pk__in=exclude)
        .order_by("start_at")
    )


def within_working_hours(host: User, start_at: datetime, end_at: datetime, ranges=None) -> bool:
    """True when the whole of [start, end) lies inside one of the host's working-hour ranges of that weekday,
    in the host's zone. A host who has set no working hours is taken to work any time."""
    ranges = list(ranges if ranges is not None else WorkingHours.objects.filter(host=host))
    if not ranges:
        return True
    local_start, local_end = start_at.astimezone(host.zone), end_at.astimezone(host.zone)
    if local_end.date() != local_start.date():
        return False
    return any(
        hours.weekday == local_start.weekday()
        and hours.start_time <= local_start.time()
        and local_end.time() <= hours.end_time
        for hours in ranges
    )


def availability_for(
    *, host: User, start_at: datetime, end_at: datetime, room: Room | None = None, exclude: list[int] = ()
) -> Availability:
    exclude = list(exclude)
    return Availability(
        host_overlaps=_overlapping(Session.objects.filter(host=host), start_at, end_at, exclude),
        room_overlaps=_overlapping(Session.objects.filter(room=room), start_at, end_at, exclude)
        if room
        else [],
        blocks=list(BlockedSlot.objects.filter(host=host, start_at__lt=end_at, end_at__gt=start_at)),
        outside_working_hours=not within_working_hours(host, start_at, end_at),
    )


def colleagues_with_availability(*, session: Session) -> list[tuple[User, Availability]]:
    """The organisation's other hosts, each with their availability at the session's time (for Reassign)."""
    return [
        (
            host,
            availability_for(
                host=host,
                start_at=session.start_at,
                end_at=session.end_at,
                room=session.room,
                exclude=[session.pk],
            ),
        )
        for host in hosts_of_organization(organization_id=session.organization_id).exclude(pk=session.host_id)
    ]
