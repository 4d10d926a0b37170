"""What a notice about a session says: the words its templates are filled with, in the reader's zone, and
the calendar file its email carries. The outbox (notifications) renders and sends; it learns about
sessions only through notice_context, named by the setting NOTICE_CONTEXT."""

from datetime import datetime

from notifications.models import Notification
from sessions_app.calendar_file import calendar_file
from sessions_app.join.links import join_url
from sessions_app.services.participant_answers import cancel_allowed
from sessions_app.timefmt import format_short, format_when

Kind = Notification.Kind

# The kinds whose email carries a calendar file, and the iTIP method it uses: every change the participant's
# calendar must follow sends the same UID with the session's current SEQUENCE.
CALENDAR_METHODS = {
    Kind.INVITE: "REQUEST",
    Kind.REMINDER: "REQUEST",
    Kind.REMIND: "REQUEST",
    Kind.RESCHEDULE: "REQUEST",
    Kind.END_CHANGED: "REQUEST",
    Kind.CANCELLATION: "CANCEL",
    Kind.REMOVED: "CANCEL",
}


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def notice_context(notification: Notification) -> dict:
    """The template context of one notice. `calendar` is (method, .ics bytes) for an email that carries a
    calendar file, else None."""
    session = notification.session
    participant = notification.participant
    reader = participant or notification.host
    zone = reader.time_zone
    extra = notification.context or {}
    old_start = _moment(extra.get("old_start"))
    old_end = _moment(extra.get("old_end"))
    join_link = join_url(participant) if participant else ""
    method = CALENDAR_METHODS.get(notification.kind) if participant else None
    calendar = None
    if method and notification.channel == Notification.Channel.EMAIL:
        calendar = (method, calendar_file(participant=participant, join_link=join_link, method=method))
    return {
        "participant": participant,
        "participants": list(session.participants.active().order_by("id")) if participant is None else [],
        "recipient_name": reader.name if participant else reader.full_name,
        "session": session,
        "host": session.host,
        "when": format_when(session.start_at, zone),
        "when_short": format_short(session.start_at, zone),
        "end_when": format_when(session.end_at, zone),
        "end_short": format_short(session.end_at, zone),
        "duration": session.duration_minutes,
        "reason": extra.get("reason", ""),
        "old_when": format_when(old_start, zone) if old_start else "",
        "old_when_short": format_short(old_start, zone) if old_start else "",
        "old_end_when": format_when(old_end, zone) if old_end else "",
        "previous_host": extra.get("previous_host", ""),
        "occurrences": [format_when(_moment(start), zone) for start in extra.get("occurrences", [])],
        "occurrences_short": [format_short(_moment(start), zone) for start in extra.get("occurrences", [])],
        "join_link": join_link,
        "calendar": calendar,
        # What a host's notice about a participant's answer says beyond the session (participant_answers):
        # who answered, their reason or message, and what followed.
        "answer": extra,
        # A reminder's text offers "X to cancel" only while the participant may still cancel themselves.
        "may_cancel": participant is not None and cancel_allowed(session),
    }
