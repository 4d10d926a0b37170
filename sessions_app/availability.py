"""Is a host (and a room) free at a given time? Read-only; the services decide what may be saved.

The busy times of every host and room concerned are read once for the whole span asked about (a few range
queries), and each proposed time is then checked in memory, so a series of 52 sessions or a list of 30
colleagues costs the same handful of queries as one time for one host.

The answer is read by someone (the viewer): a session or blocked time outside the viewer's scope (a room
booked by another host, a colleague's diary on Reassign) is told as busy with its time, never its title or
note. Whether an item is in scope is asked of the same selectors the pages use, inside the same queries.
The busy times read from a host's own calendar (sessions_app.services.calendar_sources) never had a title
here: they are "Busy (your calendar)" to the host and "Busy (the host's calendar)" to anyone else.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef

from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for, hosts_of_organization
from sessions_app.models import BlockedSlot, ExternalBusyTime, Room, Session, WorkingHours
from sessions_app.selectors import sessions_visible_to
from sessions_app.timefmt import format_when


@dataclass
class Availability:
    host_overlaps: list[Session] = field(default_factory=list)
    room_overlaps: list[Session] = field(default_factory=list)
    blocks: list[BlockedSlot] = field(default_factory=list)
    outside_working_hours: bool = False
    # When the host's own calendar is busy: like blocks, unavailable but may be booked over.
    calendar_busy: list[ExternalBusyTime] = field(default_factory=list)

    @property
    def host_available(self) -> bool:
        return not (self.host_overlaps or self.blocks or self.outside_working_hours or self.calendar_busy)

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
        """A host may book over working hours, a block or their calendar's busy time, never over their own
        session or a taken room."""
        return not self.host_overlaps and not self.room_overlaps

    def reasons(self, zone: str) -> list[str]:
        """Why the time is not free, for the viewer busy_times was read for: what lies outside their scope
        (`in_viewer_scope`, set by busy_times) is only busy, with its time."""
        reasons = [
            f"Overlaps “{s.title}” ({format_when(s.start_at, zone)})"
            if s.in_viewer_scope
            else f"Busy with another session ({format_when(s.start_at, zone)})"
            for s in self.host_overlaps
        ]
        reasons += [
            f"Blocked: {b.note or 'no note'} (until {format_when(b.end_at, zone)})"
            if b.in_viewer_scope
            else f"Blocked (until {format_when(b.end_at, zone)})"
            for b in self.blocks
        ]
        reasons += [
            f"{'Busy (your calendar)' if busy.seen_by_host else 'Busy (the host’s calendar)'} "
            f"(until {format_when(busy.end_at, zone)})"
            for busy in self.calendar_busy
        ]
        if self.outside_working_hours:
            reasons.append("Outside the host's working hours")
        reasons += [
            f"The room is booked for “{s.title}” ({format_when(s.start_at, zone)})"
            if s.in_viewer_scope
            else f"The room is busy with another session ({format_when(s.start_at, zone)})"
            for s in self.room_overlaps
        ]
        return reasons


def within_working_hours(host: User, start_at: datetime, end_at: datetime, ranges) -> bool:
    """True when the whole of [start, end) lies inside one of the host's working-hour ranges of that weekday,
    in the host's zone. A host who has set no working hours is taken to work any time."""
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


def _overlapping(items, start_at: datetime, end_at: datetime, exclude: Iterable[int] = ()) -> list:
    return [i for i in items if i.start_at < end_at and i.end_at > start_at and i.pk not in exclude]


@dataclass
class BusyTimes:
    """Everything that can make hosts or a room unavailable within a span, read once."""

    sessions: dict[int, list[Session]]
    room_sessions: list[Session]
    blocks: dict[int, list[BlockedSlot]]
    hours: dict[int, list[WorkingHours]]
    calendar_busy: dict[int, list[ExternalBusyTime]]

    def availability(
        self, *, host: User, start_at: datetime, end_at: datetime, exclude: Iterable[int] = ()
    ) -> Availability:
        exclude = set(exclude)
        return Availability(
            host_overlaps=_overlapping(self.sessions[host.pk], start_at, end_at, exclude),
            room_overlaps=_overlapping(self.room_sessions, start_at, end_at, exclude),
            blocks=_overlapping(self.blocks[host.pk], start_at, end_at),
            outside_working_hours=not within_working_hours(host, start_at, end_at, self.hours[host.pk]),
            calendar_busy=_overlapping(self.calendar_busy[host.pk], start_at, end_at),
        )


def busy_times(
    *, viewer: User, hosts: list[User], start_at: datetime, end_at: datetime, room: Room | None = None
) -> BusyTimes:
    """The open sessions, blocked slots and busy times from their own calendars of these hosts, the open
    sessions of the room, and the hosts' working hours, over [start_at, end_at): five queries whatever the
    span and the number of hosts. Each session and blocked slot says whether it is `in_viewer_scope`, the
    scope of the pages the viewer may open (sessions_visible_to, and the hosts whose Working hours they
    manage); each calendar busy time whether the viewer is its host (`seen_by_host`)."""
    host_ids = [host.pk for host in hosts]
    sessions, blocks, hours, calendar_busy = (defaultdict(list) for _ in range(4))
    in_span = {"start_at__lt": end_at, "end_at__gt": start_at}
    open_sessions = Session.objects.open().annotate(
        in_viewer_scope=Exists(sessions_visible_to(viewer).filter(pk=OuterRef("pk")))
    )
    for session in open_sessions.filter(host_id__in=host_ids, **in_span).order_by("start_at"):
        sessions[session.host_id].append(session)
    viewer_blocks = BlockedSlot.objects.annotate(
        in_viewer_scope=Exists(hosts_actor_may_act_for(actor=viewer).filter(pk=OuterRef("host_id")))
    )
    for block in viewer_blocks.filter(host_id__in=host_ids, **in_span):
        blocks[block.host_id].append(block)
    for range_ in WorkingHours.objects.filter(host_id__in=host_ids):
        hours[range_.host_id].append(range_)
    for busy in ExternalBusyTime.objects.filter(host_id__in=host_ids, **in_span).only(
        "host_id", "start_at", "end_at"
    ):
        busy.seen_by_host = busy.host_id == viewer.pk
        calendar_busy[busy.host_id].append(busy)
    room_sessions = list(open_sessions.filter(room=room, **in_span).order_by("start_at")) if room else []
    return BusyTimes(
        sessions=sessions,
        room_sessions=room_sessions,
        blocks=blocks,
        hours=hours,
        calendar_busy=calendar_busy,
    )


def availability_for(
    *,
    viewer: User,
    host: User,
    start_at: datetime,
    end_at: datetime,
    room: Room | None = None,
    exclude: Iterable[int] = (),
) -> Availability:
    return busy_times(viewer=viewer, hosts=[host], start_at=start_at, end_at=end_at, room=room).availability(
        host=host, start_at=start_at, end_at=end_at, exclude=exclude
    )


def colleagues_with_availability(*, viewer: User, session: Session) -> list[tuple[User, Availability]]:
    """The organisation's other hosts, each with their availability at the session's time (for Reassign)."""
    colleagues = list(
        hosts_of_organization(organization_id=session.organization_id).exclude(pk=session.host_id)
    )
    busy = busy_times(
        viewer=viewer, hosts=colleagues, start_at=session.start_at, end_at=session.end_at, room=session.room
    )
    return [
        (
            host,
            busy.availability(
                host=host, start_at=session.start_at, end_at=session.end_at, exclude=[session.pk]
            ),
        )
        for host in colleagues
    ]
