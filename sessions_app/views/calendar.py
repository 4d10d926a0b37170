"""Week and month calendars of a host's sessions and blocked times, server-rendered.

Every object comes through the scoped selectors (a 404 outside the actor's scope)."""

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from config.fragments import page_fragment
from sessions_app.models import WorkingHours
from sessions_app.selectors import blocked_slots_of, sessions_between, working_hours_of
from sessions_app.services.common import page_date_window
from sessions_app.templatetags.session_actions import SessionUrls
from sessions_app.timefmt import local_midnight
from sessions_app.views.common import host_required, refuse_method

# The week grid shows at least these hours; it grows to fit sessions and working hours outside them.
WEEK_FIRST_HOUR, WEEK_LAST_HOUR = 7, 20
MINUTES_PER_DAY = 24 * 60
# Each day of the week grid is a column of links to the Schedule form, one per this many minutes.
SLOT_MINUTES = 30


@dataclass
class Placed:
    """Something drawn in one day of the calendar: minutes from that local midnight, and what it is."""

    item: object
    start: int
    end: int
    lane: int = 0
    lanes: int = 1
    style: str = ""
    is_block: bool = False

    @property
    def start_label(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}"

    @property
    def end_label(self) -> str:
        return f"{self.end // 60:02d}:{self.end % 60:02d}"

    @property
    def whole_day(self) -> bool:
        return self.start == 0 and self.end == MINUTES_PER_DAY


@dataclass
class Slot:
    """An empty half hour of the week grid: a link to the Schedule form at that time."""

    label: str
    url: str
    style: str


@dataclass
class CalendarDay:
    day: date
    in_month: bool = True
    is_today: bool = False
    sessions: list[Placed] = field(default_factory=list)
    blocks: list[Placed] = field(default_factory=list)
    working: list[Placed] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    # The Schedule form on this day; None for a day already past.
    schedule_url: str | None = None

    @property
    def entries(self) -> list[Placed]:
        """Sessions and blocked times in the order of the day, for the list the phone shows."""
        return sorted(self.sessions + self.blocks, key=lambda placed: (placed.start, placed.end))


def schedule_url(day: date, minutes: int | None = None, *, form_url: str = "") -> str:
    """The Schedule form at a day (and time) of the calendar, on the viewer's clock as the calendar shows
    it: the form's view turns it into the host's clock, the zone its fields are typed in. A week has a
    couple of hundred of these: the page reverses the form's address once and passes it as form_url."""
    query = {"date": day.isoformat()}
    if minutes is not None:
        query["time"] = f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{form_url or reverse('sessions:schedule')}?{urlencode(query)}"


def _clip(start: datetime, end: datetime, day: date, zone) -> tuple[int, int] | None:
    """The part of [start, end) that falls on `day` in `zone`, as minutes from that day's midnight."""
    day_start, day_end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    if start >= day_end or end <= day_start:
        return None
    local_start = max(start, day_start).astimezone(zone)
    first = local_start.hour * 60 + local_start.minute
    if end >= day_end:
        last = MINUTES_PER_DAY
    else:
        local_end = end.astimezone(zone)
        last = local_end.hour * 60 + local_end.minute
    # On the night the clocks go back, an hour's wall-clock times repeat; keep every item visible.
    return first, max(last, first + 1)


def _assign_lanes(placed: list[Placed]) -> None:
    """Side by side, sessions that overlap share the column's width; the rest take all of it."""
    cluster: list[Placed] = []
    lane_ends: list[int] = []
    cluster_end = -1

    def close():
        for item in cluster:
            item.lanes = len(lane_ends)

    for item in sorted(placed, key=lambda p: (p.start, p.end)):
        if cluster and item.start >= cluster_end:
            close()
            cluster, lane_ends = [], []
        for lane, lane_end in enumerate(lane_ends):
            if lane_end <= item.start:
                item.lane, lane_ends[lane] = lane, item.end
                break
        else:
            item.lane = len(lane_ends)
            lane_ends.append(item.end)
        cluster.append(item)
        cluster_end = max(cluster_end, item.end)
    close()


def _working_intervals(hours: list[WorkingHours], host_zone, first: date, last: date):
    """The host's weekly working hours as instants over [first, last], a day either side so that a zone
    difference between host and viewer cannot cut a range off."""
    day = first - timedelta(days=1)
    while day <= last + timedelta(days=1):
        for range_ in hours:
            if range_.weekday == day.weekday():
                yield (
                    datetime.combine(day, range_.start_time, tzinfo=host_zone).astimezone(UTC),
                    datetime.combine(day, range_.end_time, tzinfo=host_zone).astimezone(UTC),
                )
        day += timedelta(days=1)


def _calendar_days(
    request, host, days: list[date], zone, *, month: int | None = None, with_working_hours: bool = False
) -> list[CalendarDay]:
    start, end = local_midnight(days[0], zone), local_midnight(days[-1] + timedelta(days=1), zone)
    sessions = list(sessions_between(actor=request.user, host=host, start=start, end=end))
    blocks = list(blocked_slots_of(actor=request.user, host=host).filter(start_at__lt=end, end_at__gt=start))
    working = []
    if with_working_hours:
        hours = list(working_hours_of(actor=request.user, host=host))
        working = list(_working_intervals(hours, host.zone, days[0], days[-1]))
    today = timezone.now().astimezone(zone).date()
    form_url = reverse("sessions:schedule")
    # Each session is drawn up to twice (the grid and the phone's list), both linking to its page.
    detail_urls = SessionUrls()
    for session in sessions:
        session.detail_url = detail_urls("detail", session.pk)
        # The reader's wall clock, written up to six times per session by the page.
        session.clock_start = f"{session.start_at.astimezone(zone):%H:%M}"
        session.clock_end = f"{session.end_at.astimezone(zone):%H:%M}"
    result = []
    for day in days:
        cell = CalendarDay(day=day, in_month=month is None or day.month == month, is_today=day == today)
        if day >= today:
            cell.schedule_url = schedule_url(day, form_url=form_url)
        for session in sessions:
            if minutes := _clip(session.start_at, session.end_at, day, zone):
                cell.sessions.append(Placed(session, *minutes))
        for block in blocks:
            if minutes := _clip(block.start_at, block.end_at, day, zone):
                cell.blocks.append(Placed(block, *minutes, is_block=True))
        for start_at, end_at in working:
            if minutes := _clip(start_at, end_at, day, zone):
                cell.working.append(Placed(None, *minutes))
        result.append(cell)
    return result


def _percent(value: float) -> str:
    # Written out here rather than in the template, where localisation could put a comma in a number.
    return f"{value:.4f}%"


def _lay_out_week(days: list[CalendarDay], zone) -> list[int]:
    """Give every item its position in the week grid, and every half hour still to come its link to the
    Schedule form; returns the hours the grid shows."""
    first_hour, last_hour = WEEK_FIRST_HOUR, WEEK_LAST_HOUR
    for cell in days:
        for item in cell.sessions + cell.working:
            first_hour = min(first_hour, item.start // 60)
            last_hour = max(last_hour, -(-item.end // 60))
    low, span = first_hour * 60, (last_hour - first_hour) * 60

    def vertical(item: Placed) -> str:
        start, end = max(item.start, low), min(item.end, low + span)
        return f"top: {_percent((start - low) / span * 100)}; height: {_percent((end - start) / span * 100)}"

    for cell in days:
        _assign_lanes(cell.sessions)
        for item in cell.sessions:
            width = 100 / item.lanes
            item.style = f"{vertical(item)}; left: {_percent(item.lane * width)}; width: {_percent(width)}"
        cell.blocks = [b for b in cell.blocks if b.end > low and b.start < low + span]
        for item in cell.blocks + cell.working:
            item.style = vertical(item)
    now = timezone.now()
    form_url = reverse("sessions:schedule")
    for cell in days:
        taken = cell.sessions + cell.blocks
        for minutes in range(low, low + span, SLOT_MINUTES):
            wall = time(minutes // 60, minutes % 60)
            # Offered only where the half hour is empty and still to come (the form refuses a past time);
            # under a session or a blocked time a link could not be clicked, only reached by keyboard.
            if datetime.combine(cell.day, wall, tzinfo=zone) <= now or any(
                item.start < minutes + SLOT_MINUTES and item.end > minutes for item in taken
            ):
                continue
            cell.slots.append(
                Slot(
                    label=f"Schedule at {cell.day:%a} {cell.day.day} {cell.day:%b} {wall:%H:%M}",
                    url=schedule_url(cell.day, minutes, form_url=form_url),
                    style=vertical(Placed(None, minutes, minutes + SLOT_MINUTES)),
                )
            )
    return list(range(first_hour, last_hour))


def _calendar_url(view: str, day: date | None = None) -> str:
    query = {"view": view}
    if day is not None:
        query["date"] = day.isoformat()
    return f"{reverse('sessions:calendar')}?{urlencode(query)}"


@host_required
def calendar_view(request, host):
    if refused := refuse_method(request, "GET"):
        return refused
    zone = request.user.zone
    today = timezone.now().astimezone(zone).date()
    view = request.GET.get("view") if request.GET.get("view") in ("week", "month") else "week"
    try:
        anchor = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        anchor = today
    first, last = page_date_window()
    if not first <= anchor <= last:
        # A week or month near the ends of the calendar would overflow; the nearest page we keep is shown.
        anchor = min(max(anchor, first), last)
        messages.warning(
            request, f"The calendar shows the years {first.year} to {last.year}; this is the nearest page."
        )
    context = {"host": host, "view": view, "anchor": anchor, "zone_name": request.user.time_zone}
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        week = [monday + timedelta(days=n) for n in range(7)]

        def load() -> dict:
            days = _calendar_days(request, host, week, zone, with_working_hours=True)
            return {
                "days": days,
                "hours": _lay_out_week(days, zone),
                "list_days": days,
                "has_working_hours": any(cell.working for cell in days),
            }

        context |= {
            "first_day": monday,
            "last_day": monday + timedelta(days=6),
            "previous_url": _calendar_url("week", monday - timedelta(days=7)),
            "next_url": _calendar_url("week", monday + timedelta(days=7)),
        }
    else:
        first_of_month = anchor.replace(day=1)
        weeks = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(anchor.year, anchor.month)
        month_days = [d for week in weeks for d in week]

        def load() -> dict:
            days = _calendar_days(request, host, month_days, zone, month=anchor.month)
            return {
                "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
                # The phone's list: the month's own days that have something on them.
                "list_days": [cell for cell in days if cell.in_month and (cell.sessions or cell.blocks)],
            }

        previous_month = (first_of_month - timedelta(days=1)).replace(day=1)
        next_month = (first_of_month + timedelta(days=31)).replace(day=1)
        context |= {
            "first_of_month": first_of_month,
            "previous_url": _calendar_url("month", previous_month),
            "next_url": _calendar_url("month", next_month),
        }
    context |= {
        "today_url": _calendar_url(view),
        "week_url": _calendar_url("week", anchor),
        "month_url": _calendar_url("month", anchor),
        "weekday_names": [(calendar.day_abbr[n], calendar.day_name[n]) for n in range(7)],
        "schedule_url": reverse("sessions:schedule"),
    }
    # Today's mark and the half hours still offered move with the clock: the page fragment's age bounds them.
    context["content"] = page_fragment(
        request,
        name="calendar",
        template="sessions_app/planning/_calendar_content.html",
        load=lambda: context | load(),
        vary=(host.pk,),
    )
    return render(request, "sessions_app/planning/calendar.html", context)
