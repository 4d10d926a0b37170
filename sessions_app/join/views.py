"""The participant's way in (DESIGN.md rule 5).

/join/<token>/ checks the token, trades it for a short signed cookie and redirects to /join/, so the token
leaves the address bar, the history and any Referer at once. /join/ (the lobby) then decides, inside the
window (5 minutes before the start until the end): a payment asked first (billing.participant_views, also
before the window), then required documents, then the waiting room until the host lets them in, then the
room. Outside the window it says when it opens, or that the session ended or was cancelled, in the
participant's time zone.

An unknown, removed or revoked link answers 404 with a page of its own that speaks to the participant
(link_not_working), rendered here rather than raised: with DEBUG on, a raised Http404 shows Django's technical
page, which lists every URL of the site, and a participant has no use for the staff's 404 page either.
"""

import uuid
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from billing.selectors import payment_due
from config.errors import ApplicationError
from documents.selectors import documents_shown_to, required_documents_missing
from sessions_app.calendar_file import calendar_file
from sessions_app.join.forms import ParticipantAskTimeForm, ParticipantCancelForm
from sessions_app.join.links import join_url, participant_by_public_id, participant_for_token
from sessions_app.models import Participant
from sessions_app.services import (
    cancel_allowed,
    cancel_deadline,
    cancel_refused_message,
    participant_ask_another_time,
    participant_cancel_self,
    participant_confirm,
    participant_record_join,
    participant_wait,
)
from sessions_app.timefmt import format_when
from sessions_app.video import video_provider

_COOKIE_SALT = "consultations.join-cookie"
_PARTICIPANT_BASE = "join/base_participant.html"


def _no_referrer(response):
    response["Referrer-Policy"] = "no-referrer"
    return response


def link_not_working(request) -> HttpResponse:
    """The answer to a join link, or a page of the way in, that leads nowhere: unknown, removed or revoked
    (or no cookie at all). It says the same in every case, so it tells a guesser nothing."""
    response = render(request, "join/link_not_found.html", status=404)
    if request.headers.get("HX-Request"):
        # The waiting room's poll: htmx swaps nothing on a 404, so the page is sent to the lobby, which
        # shows this page in full.
        response["HX-Redirect"] = reverse("join:lobby")
    return _no_referrer(response)


@never_cache
def join_enter(request, token: str):
    participant = participant_for_token(token)
    if participant is None:
        return link_not_working(request)
    response = redirect("join:lobby")
    response.set_signed_cookie(
        settings.JOIN_COOKIE_NAME,
        f"{participant.public_id}:{participant.link_version}",
        salt=_COOKIE_SALT,
        max_age=settings.JOIN_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return _no_referrer(response)


def participant_from_cookie(request) -> Participant | None:
    """The participant whose join link this browser opened, or None (no cookie, a forged or revoked one).
    Every page of the way in (documents, waiting room, room) starts here."""
    try:
        value = request.get_signed_cookie(
            settings.JOIN_COOKIE_NAME, salt=_COOKIE_SALT, max_age=settings.JOIN_COOKIE_MAX_AGE
        )
    except (KeyError, signing.BadSignature):
        return None
    public_id, _, version = value.partition(":")
    try:
        participant = participant_by_public_id(uuid.UUID(public_id))
    except ValueError:
        return None
    if participant is None or str(participant.link_version) != version:
        return None
    return participant


def _inside_window(participant: Participant) -> bool:
    session = participant.session
    now = timezone.now()
    return not session.is_closed and session.join_opens_at <= now < session.end_at


def _page_context(participant: Participant) -> dict:
    session = participant.session
    return {
        "participant": participant,
        "session": session,
        "when": format_when(session.start_at, participant.time_zone),
        "opens": format_when(session.join_opens_at, participant.time_zone),
    }


def participant_page(view=None, *, before=None):
    """A page of the participant's way in after the join link's own (pay, documents): the view receives the
    participant of the cookie; without one (or with a forged or revoked one), or when the view raises Http404,
    the answer is link_not_working's page. It is never cached, and says `Referrer-Policy: same-origin` rather
    than the join link's no-referrer: these addresses hold no token, and their forms post, which under
    no-referrer carry "Origin: null" and fail Django's CSRF check. Other sites still get no referrer at all.

    `before(participant)` may answer instead of the view (a step of the way in that comes first)."""

    def decorate(view):
        @never_cache
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                participant = participant_from_cookie(request)
                if participant is None:
                    raise Http404("Unknown link")
                response = before(participant) if before is not None else None
                if response is None:
                    response = view(request, participant, *args, **kwargs)
            except Http404:
                response = link_not_working(request)
            response["Referrer-Policy"] = "same-origin"
            return response

        return wrapped

    return decorate(view) if view is not None else decorate


@never_cache
def join_lobby(request):
    participant = participant_from_cookie(request)
    if participant is None:
        return link_not_working(request)
    session = participant.session
    now = timezone.now()
    opens_at = session.join_opens_at
    context = _page_context(participant)
    if session.is_closed:
        return _no_referrer(render(request, "join/cancelled.html", context))
    # Paying comes first on the way in, and can be done any time before the session ends, so even before
    # the room opens (billing.participant_views).
    if now < session.end_at and payment_due(participant) is not None:
        return _no_referrer(redirect("join:pay"))
    if now < opens_at:
        return _not_open(request, participant)
    if now >= session.end_at:
        return _no_referrer(render(request, "join/ended.html", context))
    if required_documents_missing(participant):
        return _no_referrer(redirect("join:documents"))
    if participant.admitted_at is not None:
        # Let in once, they come back in directly after a dropped connection.
        return _no_referrer(redirect("join:room"))
    participant_wait(participant=participant)
    return _no_referrer(render(request, "join/waiting_room.html", context))


@never_cache
def join_waiting_status(request):
    """The waiting room's part that htmx asks for every few seconds: still waiting, or (by HX-Redirect, so
    the page changes by itself) the room once the host let them in, or the lobby once the window closed."""
    participant = participant_from_cookie(request)
    if participant is None:
        return link_not_working(request)
    due = payment_due(participant) is not None
    if due or participant.admitted_at is not None or not _inside_window(participant):
        target = reverse("join:room" if participant.admitted_at is not None and not due else "join:lobby")
        response = render(request, "join/_waiting_status.html", {"target": target})
        response["HX-Redirect"] = target
        return _no_referrer(response)
    return _no_referrer(render(request, "join/_waiting_status.html", _page_context(participant)))


@never_cache
def join_room(request):
    """The video room, only for a participant the host let in, and only inside the window; anyone else is
    sent to the lobby, which says where they stand."""
    participant = participant_from_cookie(request)
    if participant is None:
        return link_not_working(request)
    if participant.admitted_at is None or not _inside_window(participant) or payment_due(participant):
        return _no_referrer(redirect("join:lobby"))
    participant_record_join(participant=participant)
    context = _page_context(participant)
    context["room_url"] = video_provider().room_url(
        session=participant.session, display_name=participant.name, is_host=False
    )
    # The host's page of the same room, inside the page shell of the way in.
    context["base_template"] = _PARTICIPANT_BASE
    return _no_referrer(render(request, "sessions_app/video_room.html", context))


# The participant's page before the session: their answers -----------------------------------------------


def _not_open(request, participant: Participant, *, cancel_form=None, ask_form=None, status: int = 200):
    """The participant's page before the room opens: when (in their zone), with whom, a calendar file, and
    their answers (confirm, cancel until the organisation's window, ask for another time).

    Its forms post, so the page says `Referrer-Policy: same-origin` (see participant_page): under
    no-referrer a browser sends "Origin: null" with the post and CSRF refuses it. The address holds no
    token (join_enter took it out), so nothing secret can leak by it."""
    session = participant.session
    now = timezone.now()
    opens_at = session.join_opens_at
    context = _page_context(participant)
    # The waiting page reloads itself when the room opens (capped, so a far-off session does not keep a
    # timer for days). Intake forms are best filled ahead, so they are offered already.
    context["reload_in"] = min(int((opens_at - now).total_seconds()) + 1, 3600)
    context["has_documents"] = bool(documents_shown_to(participant))
    context.update(
        answer=participant.current_answer,
        may_cancel=cancel_allowed(session, now),
        cancel_until=format_when(cancel_deadline(session), participant.time_zone),
        cancel_refused=cancel_refused_message(session),
        cancel_form=cancel_form or ParticipantCancelForm(),
        ask_form=ask_form or ParticipantAskTimeForm(),
        open_form="cancel" if cancel_form is not None else "ask" if ask_form is not None else "",
    )
    response = render(request, "join/not_open.html", context, status=status)
    response["Referrer-Policy"] = "same-origin"
    return response


def _answered(request, error: ApplicationError | None, success: str = ""):
    if error is not None:
        messages.error(request, error.message)
    elif success:
        messages.success(request, success)
    return redirect("join:lobby")


@require_POST
@participant_page
def join_confirm(request, participant: Participant):
    try:
        participant_confirm(participant=participant)
    except ApplicationError as error:
        return _answered(request, error)
    # No message: the page itself says "Confirmed — see you on …" from now on.
    return _answered(request, None)


@require_POST
@participant_page
def join_cancel(request, participant: Participant):
    form = ParticipantCancelForm(request.POST)
    if not form.is_valid():
        return _not_open(request, participant, cancel_form=form, status=400)
    try:
        participant = participant_cancel_self(participant=participant, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        return _answered(request, error)
    session = participant.session
    messages.success(
        request,
        f"Your place on “{session.title}” ({_page_context(participant)['when']}) is cancelled. "
        f"{session.host.full_name} has been told.",
    )
    if participant.removed_at is not None:
        # Taken off the session, their link (and this browser's cookie) no longer works: the page that
        # says so needs no participant.
        return redirect("join:place_cancelled")
    return redirect("join:lobby")


@require_POST
@participant_page
def join_ask_another_time(request, participant: Participant):
    form = ParticipantAskTimeForm(request.POST)
    if not form.is_valid():
        return _not_open(request, participant, ask_form=form, status=400)
    try:
        participant_ask_another_time(participant=participant, message=form.cleaned_data["message"])
    except ApplicationError as error:
        return _answered(request, error)
    return _answered(
        request,
        None,
        f"Your message is with {participant.session.host.full_name}, who will be in touch about "
        "another time.",
    )


@never_cache
@require_GET
def join_place_cancelled(request):
    """Where a participant lands after cancelling their place: their link works no more, so this page
    shows the confirmation left for it and otherwise says only what any visitor may read."""
    return _no_referrer(render(request, "join/place_cancelled.html"))


@require_GET
@participant_page
def join_calendar(request, participant: Participant):
    """The session as a calendar file, with the UID and SEQUENCE of the notices' own, so a calendar that
    already holds the invite's event updates it rather than adding a second one."""
    method = "CANCEL" if participant.session.is_closed else "REQUEST"
    ics = calendar_file(participant=participant, join_link=join_url(participant), method=method)
    response = HttpResponse(ics, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="session.ics"'
    return response
