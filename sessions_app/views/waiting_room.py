"""Who waits to be let in, shown live beside each session (dashboard, session page, the host's room), and
the host's Admit and Admit all. htmx polls the fragment and posts the buttons; a click before htmx has
started (or without it) is a plain form post, which comes back to the page it was made on."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.models import User
from config.errors import ApplicationError
from sessions_app.models import Participant, Session
from sessions_app.selectors import participant_get_for, participants_waiting, session_get_for
from sessions_app.services import participant_admit, participants_admit_all
from sessions_app.views.common import refuse_method, safe_next_url

WAITING_ROOM_POLL_SECONDS = 5
# A page left open long before a session asks again at most this often, and every few seconds once the
# participants' window opens: a dashboard of a hundred future sessions must not poll a hundred times in 5 s.
WAITING_ROOM_IDLE_POLL_SECONDS = 3600


def _waited(since, now) -> str:
    minutes = int((now - since).total_seconds() // 60)
    return "less than a minute" if minutes < 1 else f"{minutes} min"


def _poll_seconds(session: Session, now) -> int | None:
    if not session.is_open:
        return None
    opens_at = session.join_opens_at
    if now >= opens_at:
        return WAITING_ROOM_POLL_SECONDS
    until_open = int((opens_at - now).total_seconds()) + 1
    return max(WAITING_ROOM_POLL_SECONDS, min(until_open, WAITING_ROOM_IDLE_POLL_SECONDS))


def waiting_room_context(
    *, session: Session, viewer: User, participants: list[Participant], return_to: str, error: str = ""
) -> dict:
    """What _waiting_room.html shows. `participants` are the session's active participants the page has
    already loaded (or participants_waiting's answer), so the block adds no query to the page; `return_to`
    is the page the block sits on, where a plain form post comes back to."""
    now = timezone.now()
    waiting = sorted(
        (p for p in participants if p.waiting_since is not None and p.admitted_at is None),
        key=lambda p: (p.waiting_since, p.pk),
    )
    for participant in waiting:
        participant.waited = _waited(participant.waiting_since, now)
    is_host = viewer.pk == session.host_id
    return {
        "session": session,
        "waiting": waiting if session.is_open else [],
        "is_host": is_host,
        "can_admit": is_host and session.host_connected_at is not None,
        "poll_seconds": _poll_seconds(session, now),
        "return_to": return_to,
        "error": error,
    }


def _no_referrer(response):
    response["Referrer-Policy"] = "no-referrer"
    return response


def _back(request, session: Session) -> str:
    return safe_next_url(request, reverse("sessions:detail", kwargs={"pk": session.pk}))


def _fragment(request, session: Session, error: str = ""):
    room = waiting_room_context(
        session=session,
        viewer=request.user,
        participants=participants_waiting(session=session),
        return_to=_back(request, session),
        error=error,
    )
    return _no_referrer(render(request, "sessions_app/_waiting_room.html", {"room": room}))


@never_cache
@login_required
def waiting_room(request, pk: int):
    session = session_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "GET"):
        return refused
    return _fragment(request, session)


def _answer(request, session: Session, back: str, *, done: str = "", error: str = ""):
    """htmx swaps the refreshed block in place (with a refusal inside it); a plain form post goes back."""
    if request.headers.get("HX-Request"):
        return _fragment(request, session, error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(back)


@never_cache
@login_required
def participant_admit_view(request, pk: int, participant_pk: int):
    session = session_get_for(actor=request.user, pk=pk)
    participant = participant_get_for(session=session, pk=participant_pk)
    if refused := refuse_method(request, "POST"):
        return refused
    back = _back(request, session)
    try:
        participant_admit(actor=request.user, participant=participant)
    except ApplicationError as error:
        return _answer(request, session, back, error=error.message)
    return _answer(request, session, back, done=f"{participant.name} is let in.")


@never_cache
@login_required
def participants_admit_all_view(request, pk: int):
    session = session_get_for(actor=request.user, pk=pk)
    if refused := refuse_method(request, "POST"):
        return refused
    back = _back(request, session)
    try:
        admitted = participants_admit_all(actor=request.user, session=session)
    except ApplicationError as error:
        return _answer(request, session, back, error=error.message)
    if not admitted:
        return _answer(request, session, back, error="Nobody is waiting to be let in.")
    names = ", ".join(p.name for p in admitted)
    return _answer(request, session, back, done=f"Let in: {names}.")
