"""The participant's way in (DESIGN.md rule 5).

/join/<token>/ checks the token, trades it for a short signed cookie and redirects to /join/, so the token
leaves the address bar, the history and any Referer at once. /join/ (the lobby) then decides, inside the
window (5 minutes before the start until the end): a payment asked first (billing.participant_views, also
before the window), then required documents, then the waiting room until the host lets them in, then the
room. Outside the window it says when it opens, or that the session ended or was cancelled, in the
participant's time zone.
"""

import uuid
from functools import wraps

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.defaults import page_not_found

from billing.selectors import payment_due
from documents.selectors import documents_shown_to, required_documents_missing
from sessions_app.join.links import participant_by_public_id, participant_for_token
from sessions_app.models import Participant
from sessions_app.services import participant_record_join, participant_wait
from sessions_app.timefmt import format_when
from sessions_app.video import video_provider

_COOKIE_SALT = "consultations.join-cookie"


def _no_referrer(response):
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
def join_enter(request, token: str):
    participant = participant_for_token(token)
    if participant is None:
        raise Http404("Unknown link")
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


def _participant_or_404(request) -> Participant:
    participant = participant_from_cookie(request)
    if participant is None:
        raise Http404("Unknown link")
    return participant


def _inside_window(participant: Participant) -> bool:
    session = participant.session
    now = timezone.now()
    return not session.is_closed and session.start_at - settings.JOIN_OPENS_BEFORE <= now < session.end_at


def _page_context(participant: Participant) -> dict:
    session = participant.session
    return {
        "participant": participant,
        "session": session,
        "when": format_when(session.start_at, participant.time_zone),
        "opens": format_when(session.start_at - settings.JOIN_OPENS_BEFORE, participant.time_zone),
    }


def participant_page(view=None, *, before=None):
    """A page of the participant's way in after the join link's own (pay, documents): the view receives the
    participant of the cookie; without one (or with a forged or revoked one) the answer is a plain 404. It is
    never cached, and says `Referrer-Policy: same-origin` rather than the join link's no-referrer: these
    addresses hold no token, and their forms post, which under no-referrer carry "Origin: null" and fail
    Django's CSRF check. Other sites still get no referrer at all.

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
            except Http404 as error:
                response = page_not_found(request, error)
            response["Referrer-Policy"] = "same-origin"
            return response

        return wrapped

    return decorate(view) if view is not None else decorate


@never_cache
def join_lobby(request):
    participant = _participant_or_404(request)
    session = participant.session
    now = timezone.now()
    opens_at = session.start_at - settings.JOIN_OPENS_BEFORE
    context = _page_context(participant)
    if session.is_closed:
        return _no_referrer(render(request, "join/cancelled.html", context))
    # Paying comes first on the way in, and can be done any time before the session ends, so even before
    # the room opens (billing.participant_views).
    if now < session.end_at and payment_due(participant) is not None:
        return _no_referrer(redirect("join:pay"))
    if now < opens_at:
        # The waiting page reloads itself when the room opens (capped, so a far-off session does not keep a
        # timer for days). Intake forms are best filled ahead, so they are offered already.
        context["reload_in"] = min(int((opens_at - now).total_seconds()) + 1, 3600)
        context["has_documents"] = bool(documents_shown_to(participant))
        return _no_referrer(render(request, "join/not_open.html", context))
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
    participant = _participant_or_404(request)
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
    participant = _participant_or_404(request)
    if participant.admitted_at is None or not _inside_window(participant) or payment_due(participant):
        return _no_referrer(redirect("join:lobby"))
    participant_record_join(participant=participant)
    context = _page_context(participant)
    context["room_url"] = video_provider().room_url(
        session=participant.session, display_name=participant.name, is_host=False
    )
    return _no_referrer(render(request, "sessions_app/video_room.html", context))
