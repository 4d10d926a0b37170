"""The planning pages of the host a page works for (`request.host`): availability, calendar and history;
and the organisation's rooms.

Every view loads its objects through the scoped selectors first (a 404 outside the actor's scope), then
checks the role and the HTTP method, then calls one service.
"""

import calendar
import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import slugify

from accounts.errors import ApplicationError
from sessions_app.forms.planning import BlockedSlotForm, HistoryFilterForm, RoomForm, WorkingHoursForm
from sessions_app.models import Session, WorkingHours
from sessions_app.selectors_planning import (
    Outcome,
    blocked_slots_of,
    rooms_of_organization,
    sessions_between,
    sessions_history_for,
    working_hours_of,
)
from sessions_app.services import (
    blocked_slot_add,
    blocked_slot_remove,
    room_add,
    room_update,
    working_hours_add,
    working_hours_remove,
)
from sessions_app.timefmt import in_zone
from sessions_app.views.dashboard import _host_or_redirect

HISTORY_PAGE_SIZE = 25


def _form_error(form, error: ApplicationError, aliases: dict[str, str] | None = None) -> None:
    """A service's refusal, shown on the field it names when the form has one, else above the form."""
    name = (aliases or {}).get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)


def _require_get(request):
    return None if request.method == "GET" else HttpResponseNotAllowed(["GET"])


def _require_post(request):
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


# Availability ---------------------------------------------------------------------------------------------


def _render_availability(request, host, *, hours_form=None, block_form=None):
    hours = list(working_hours_of(actor=request.user, host=host).order_by("weekday", "start_time"))
    weekdays = [
        (label, [h for h in hours if h.weekday == value]) for value, label in WorkingHours.Weekday.choices
    ]
    blocks = list(blocked_slots_of(actor=request.user, host=host).filter(end_at__gt=timezone.now()))
    for block in blocks:
        block.local_start = in_zone(block.start_at, host.time_zone)
        block.local_end = in_zone(block.end_at, host.time_zone)
    return render(
        request,
        "sessions_app/planning/availability.html",
        {
            "host": host,
            "weekdays": weekdays,
            "has_hours": bool(hours),
            "blocks": blocks,
            "hours_form": hours_form or WorkingHoursForm(host=host),
            "block_form": block_form or BlockedSlotForm(host=host),
        },
    )


@login_required
def availability_page(request):
    host, response = _host_or_redirect(request)
    if response:
        return response
    if refused := _require_get(request):
        return refused
    return _render_availability(request, host)


@login_required
def working_hours_add_view(request):
    host, response = _host_or_redirect(request)
    if response:
        return response
    if refused := _require_post(request):
        return refused
    form = WorkingHoursForm(request.POST, host=host)
    if form.is_valid():
        try:
            hours = working_hours_add(
                actor=request.user,
                host=host,
                weekday=form.cleaned_data["weekday"],
                start_time=form.cleaned_data["start_time"],
                end_time=form.cleaned_data["end_time"],
            )
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Working hours added: {hours}.")
            return redirect("sessions:availability_page")
    return _render_availability(request, host, hours_form=form)


@login_required
def working_hours_remove_view(request, pk: int):
    host, response = _host_or_redirect(request)
    if response:
        return response
    hours = get_object_or_404(working_hours_of(actor=request.user, host=host).select_related("host"), pk=pk)
    if refused := _require_post(request):
        return refused
    try:
        working_hours_remove(actor=request.user, hours=hours)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Working hours removed: {hours}.")
    return redirect("sessions:availability_page")


@login_required
def blocked_slot_add_view(request):
    host, response = _host_or_redirect(request)
    if response:
        return response
    if refused := _require_post(request):
        return refused
    form = BlockedSlotForm(request.POST, host=host)
    if form.is_valid():
        try:
            blocked_slot_add(
                actor=request.user,
                host=host,
                start_at=form.cleaned_data["start_at"],
                end_at=form.cleaned_data["end_at"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            _form_error(form, error, aliases={"start": "start_time", "end": "end_time"})
        else:
            messages.success(request, "The time is blocked.")
            return redirect("sessions:availability_page")
    return _render_availability(request, host, block_form=form)


@login_required
def blocked_slot_delete_view(request, pk: int):
    host, response = _host_or_redirect(request)
    if response:
        return response
    slot = get_object_or_404(blocked_slots_of(actor=request.user, host=host).select_related("host"), pk=pk)
    if refused := _require_post(request):
        return refused
    try:
        blocked_slot_remove(actor=request.user, slot=slot)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The blocked time is deleted.")
    return redirect("sessions:availability_page")


# Rooms ----------------------------------------------------------------------------------------------------


def _require_organization(request) -> None:
    if request.user.organization is None:
        raise Http404("This account belongs to no organisation.")


def _render_rooms(request, *, add_form=None, bound_room_form=None):
    rooms = list(rooms_of_organization(actor=request.user))
    for room in rooms:
        if bound_room_form is not None and bound_room_form.prefix == f"room-{room.pk}":
            room.form = bound_room_form
        else:
            room.form = RoomForm(prefix=f"room-{room.pk}", initial={"name": room.name})
    return render(
        request,
        "sessions_app/planning/rooms.html",
        {
            "active_rooms": [r for r in rooms if r.is_active],
            "inactive_rooms": [r for r in rooms if not r.is_active],
            "can_manage": request.user.is_scheduler,
            "add_form": add_form or RoomForm(prefix="new-room"),
        },
    )


def _require_room_manager(request) -> None:
    if not request.user.is_scheduler:
        raise PermissionDenied("Only schedulers and admins manage rooms.")


@login_required
def rooms(request):
    _require_organization(request)
    if refused := _require_get(request):
        return refused
    return _render_rooms(request)


@login_required
def room_add_view(request):
    _require_organization(request)
    _require_room_manager(request)
    if refused := _require_post(request):
        return refused
    form = RoomForm(request.POST, prefix="new-room")
    if form.is_valid():
        try:
            room = room_add(actor=request.user, name=form.cleaned_data["name"])
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Room “{room.name}” added.")
            return redirect("sessions:rooms")
    return _render_rooms(request, add_form=form)


@login_required
def room_rename_view(request, pk: int):
    room = get_object_or_404(rooms_of_organization(actor=request.user), pk=pk)
    _require_room_manager(request)
    if refused := _require_post(request):
        return refused
    form = RoomForm(request.POST, prefix=f"room-{room.pk}")
    if form.is_valid():
        old_name = room.name
        try:
            room = room_update(actor=request.user, room=room, name=form.cleaned_data["name"])
        except ApplicationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Room “{old_name}” is now “{room.name}”.")
            return redirect("sessions:rooms")
    return _render_rooms(request, bound_room_form=form)


def _room_set_active(request, pk: int, *, is_active: bool):
    room = get_object_or_404(rooms_of_organization(actor=request.user), pk=pk)
    _require_room_manager(request)
    if refused := _require_post(request):
        return refused
    try:
        room = room_update(actor=request.user, room=room, is_active=is_active)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if is_active:
            messages.success(request, f"Room “{room.name}” can be booked again.")
        else:
            messages.success(
                request,
                f"Room “{room.name}” is deactivated: it is no longer offered when scheduling. "
                "Sessions already booked in it keep it.",
            )
    return redirect("sessions:rooms")


@login_required
def room_deactivate_view(request, pk: int):
    return _room_set_active(request, pk, is_active=False)


@login_required
def room_activate_view(request, pk: int):
    return _room_set_active(request, pk, is_active=True)


# Calendar -------------------------------------------------------------------------------------------------

# The week grid shows at least these hours; it grows to fit sessions and working hours outside them.
WEEK_FIRST_HOUR, WEEK_LAST_HOUR = 7, 20
MINUTES_PER_DAY = 24 * 60


@dataclass
class Placed:
    """Something drawn in one day of the calendar: minutes from that local midnight, and what it is."""

    item: object
    start: int
    end: int
    lane: int = 0
    lanes: int = 1
    style: str = ""

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
class CalendarDay:
    day: date
    in_month: bool = True
    is_today: bool = False
    sessions: list[Placed] = field(default_factory=list)
    blocks: list[Placed] = field(default_factory=list)
    working: list[Placed] = field(default_factory=list)


def _midnight(day: date, zone) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _clip(start: datetime, end: datetime, day: date, zone) -> tuple[int, int] | None:
    """The part of [start, end) that falls on `day` in `zone`, as minutes from that day's midnight."""
    day_start, day_end = _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
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
    start, end = _midnight(days[0], zone), _midnight(days[-1] + timedelta(days=1), zone)
    sessions = list(sessions_between(actor=request.user, host=host, start=start, end=end))
    blocks = list(blocked_slots_of(actor=request.user, host=host).filter(start_at__lt=end, end_at__gt=start))
    working = []
    if with_working_hours:
        hours = list(working_hours_of(actor=request.user, host=host))
        working = list(_working_intervals(hours, host.zone, days[0], days[-1]))
    today = timezone.now().astimezone(zone).date()
    result = []
    for day in days:
        cell = CalendarDay(day=day, in_month=month is None or day.month == month, is_today=day == today)
        for session in sessions:
            if minutes := _clip(session.start_at, session.end_at, day, zone):
                session.local_start = session.start_at.astimezone(zone)
                session.local_end = session.end_at.astimezone(zone)
                cell.sessions.append(Placed(session, *minutes))
        for block in blocks:
            if minutes := _clip(block.start_at, block.end_at, day, zone):
                cell.blocks.append(Placed(block, *minutes))
        for start_at, end_at in working:
            if minutes := _clip(start_at, end_at, day, zone):
                cell.working.append(Placed(None, *minutes))
        result.append(cell)
    return result


def _percent(value: float) -> str:
    # Written out here rather than in the template, where localisation could put a comma in a number.
    return f"{value:.4f}%"


def _lay_out_week(days: list[CalendarDay]) -> list[int]:
    """Give every item its position in the week grid; returns the hours the grid shows."""
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
    return list(range(first_hour, last_hour))


def _calendar_url(view: str, day: date | None = None) -> str:
    query = {"view": view}
    if day is not None:
        query["date"] = day.isoformat()
    return f"{reverse('sessions:calendar')}?{urlencode(query)}"


@login_required
def calendar_view(request):
    host, response = _host_or_redirect(request)
    if response:
        return response
    if refused := _require_get(request):
        return refused
    zone = request.user.zone
    today = timezone.now().astimezone(zone).date()
    view = request.GET.get("view") if request.GET.get("view") in ("week", "month") else "week"
    try:
        anchor = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        anchor = today
    context = {"host": host, "view": view, "anchor": anchor, "zone_name": request.user.time_zone}
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        week = [monday + timedelta(days=n) for n in range(7)]
        days = _calendar_days(request, host, week, zone, with_working_hours=True)
        context |= {
            "days": days,
            "hours": _lay_out_week(days),
            "has_working_hours": any(cell.working for cell in days),
            "first_day": monday,
            "last_day": monday + timedelta(days=6),
            "previous_url": _calendar_url("week", monday - timedelta(days=7)),
            "next_url": _calendar_url("week", monday + timedelta(days=7)),
        }
    else:
        first_of_month = anchor.replace(day=1)
        weeks = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(anchor.year, anchor.month)
        days = _calendar_days(request, host, [d for week in weeks for d in week], zone, month=anchor.month)
        previous_month = (first_of_month - timedelta(days=1)).replace(day=1)
        next_month = (first_of_month + timedelta(days=31)).replace(day=1)
        context |= {
            "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
            "first_of_month": first_of_month,
            "previous_url": _calendar_url("month", previous_month),
            "next_url": _calendar_url("month", next_month),
        }
    context |= {
        "today_url": _calendar_url(view),
        "week_url": _calendar_url("week", anchor),
        "month_url": _calendar_url("month", anchor),
        "weekday_names": [calendar.day_abbr[n] for n in range(7)],
    }
    return render(request, "sessions_app/planning/calendar.html", context)


# History --------------------------------------------------------------------------------------------------


def _history_sessions(request, host, form: HistoryFilterForm):
    """The history filtered by the form; the dates are the viewer's local days, both ends included."""
    zone = request.user.zone
    start = form.cleaned_data.get("start")
    end = form.cleaned_data.get("end")
    return sessions_history_for(
        actor=request.user,
        host=host,
        start=_midnight(start, zone) if start else None,
        end=_midnight(end + timedelta(days=1), zone) if end else None,
        outcome=form.cleaned_data.get("outcome") or "",
    )


@login_required
def history(request):
    host, response = _host_or_redirect(request)
    if response:
        return response
    if refused := _require_get(request):
        return refused
    form = HistoryFilterForm(request.GET)
    sessions = _history_sessions(request, host, form) if form.is_valid() else Session.objects.none()
    page = Paginator(sessions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    for session in page:
        session.local_start = in_zone(session.start_at, request.user.time_zone)
        session.local_end = in_zone(session.end_at, request.user.time_zone)
        session.outcome_label = Outcome(session.history_outcome).label
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "sessions_app/planning/history.html",
        {
            "host": host,
            "form": form,
            "page": page,
            "csv_url": f"{reverse('sessions:history_csv')}?{filters.urlencode()}",
            "zone_name": request.user.time_zone,
        },
    )


# Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection"); a leading
# apostrophe makes them show it as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = [
    "Date",
    "Start",
    "End",
    "Time zone",
    "Title",
    "Host",
    "Participants",
    "Outcome",
    "Cancel reason",
]


def csv_safe(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


class _Echo:
    """A file-like object whose write hands the line back, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_row(session: Session, zone_name: str) -> list[str]:
    start, end = in_zone(session.start_at, zone_name), in_zone(session.end_at, zone_name)
    return [
        f"{start:%Y-%m-%d}",
        f"{start:%H:%M}",
        f"{end:%H:%M}",
        f"{start.tzname()} ({zone_name})",
        session.title,
        session.host.full_name,
        "; ".join(p.name for p in session.active_participants),
        Outcome(session.history_outcome).label,
        session.cancel_reason,
    ]


@login_required
def history_csv(request):
    host, response = _host_or_redirect(request)
    if response:
        return response
    if refused := _require_get(request):
        return refused
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("The history filters are not valid; correct them on the History page.")
    zone_name = request.user.time_zone
    sessions = _history_sessions(request, host, form)
    rows = chain([CSV_HEADER], (_csv_row(s, zone_name) for s in sessions.iterator(chunk_size=500)))
    writer = csv.writer(_Echo())
    # The byte-order mark makes Excel read the file as UTF-8 (names with accents stay intact).
    lines = chain(["\ufeff"], (writer.writerow([csv_safe(cell) for cell in row]) for row in rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    today = timezone.now().astimezone(request.user.zone).date()
    filename = f"history-{slugify(host.full_name) or host.pk}-{today:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
