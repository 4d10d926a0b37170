"""The Schedule form's live availability answer, and the note its success message carries when the host's
diary says the new time is unusual (allowed, but worth saying)."""

from django.shortcuts import render

from accounts.models import User
from sessions_app.availability import availability_for, busy_times
from sessions_app.forms.schedule import SessionScheduleForm
from sessions_app.models import Session
from sessions_app.views.common import host_required, refuse_method


def schedule_check(form: SessionScheduleForm, *, viewer: User, host: User) -> dict:
    """The context of the availability fragment for the time the Schedule form proposes, as `viewer` may
    read it. The answer is about the first session; a series is checked as a whole when it is saved."""
    if not (form.data.get("date") and form.data.get("time")):
        # Nothing chosen yet: the fragment says the answer comes with the date and time, not "required".
        return {}
    form.is_valid()
    if form.window is None:
        return {"errors": form.time_errors()}
    start_at, end_at = form.window
    availability = availability_for(
        viewer=viewer, host=host, start_at=start_at, end_at=end_at, room=form.cleaned_data.get("room")
    )
    return {
        "availability": availability,
        "start_at": start_at,
        "end_at": end_at,
        "errors": form.time_errors(),
    }


@host_required
def schedule_availability_view(request, host):
    """The fragment htmx swaps in as the Schedule form's date, time, duration and room change."""
    if refused := refuse_method(request, "GET"):
        return refused
    # The rooms offered are the host's organisation's (the form's queryset), so a room id from elsewhere
    # is an invalid choice, never another organisation's diary.
    form = SessionScheduleForm(request.GET, host=host)
    check = schedule_check(form, viewer=request.user, host=host)
    return render(request, "sessions_app/actions/_availability.html", {"check": check, "mode": "schedule"})


def booking_note(*, viewer: User, session: Session) -> str:
    """'Note: outside Dr X's working hours.' when a session just scheduled (or some of its series) lies
    outside the host's working hours, over a blocked time or over a busy time of the host's own calendar:
    the services allow all three, and the live answer may have been missed, so the confirmation says it
    again. Empty when there is nothing to say."""
    host = session.host
    sessions = list(session.series.sessions.order_by("start_at")) if session.series_id else [session]
    busy = busy_times(viewer=viewer, hosts=[host], start_at=sessions[0].start_at, end_at=sessions[-1].end_at)
    booked = [s.pk for s in sessions]
    answers = [
        busy.availability(host=host, start_at=s.start_at, end_at=s.end_at, exclude=booked) for s in sessions
    ]
    outside = sum(answer.outside_working_hours for answer in answers)
    blocked = sum(bool(answer.blocks) for answer in answers)
    busy = sum(bool(answer.calendar_busy) for answer in answers)
    whose = "your" if viewer.pk == host.pk else f"{host.full_name}’s"
    if len(sessions) == 1:
        clauses = [f"outside {whose} working hours"] * bool(outside) + ["over a blocked time"] * bool(blocked)
        clauses += [f"over a busy time in {whose} calendar"] * bool(busy)
        return f"Note: {' and '.join(clauses)}." if clauses else ""
    clauses = [f"{_how_many(outside, len(sessions))} outside {whose} working hours"] * bool(outside)
    clauses += [f"{_how_many(blocked, len(sessions))} over a blocked time"] * bool(blocked)
    clauses += [f"{_how_many(busy, len(sessions))} over a busy time in {whose} calendar"] * bool(busy)
    return f"Note: {'; '.join(clauses)}." if clauses else ""


def _how_many(part: int, count: int) -> str:
    if part == count:
        return f"all {count} sessions are"
    return f"{part} of the {count} sessions {'is' if part == 1 else 'are'}"
