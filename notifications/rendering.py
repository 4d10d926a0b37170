from dataclasses import dataclass
from datetime import datetime

from django.template.loader import render_to_string

from notifications.calendar import calendar_file
from notifications.channels import Attachment, EmailMessage
from notifications.models import Notification
from notifications.sms import MAX_SEGMENTS, gsm7_fold, sms_segments
from sessions_app.join_links import join_url
from sessions_app.timefmt import format_short, format_when

Kind = Notification.Kind

# The kinds whose email carries a calendar file, and the iTIP method it uses: every change the participant's
# calendar must follow sends the same UID with the session's current SEQUENCE.
CALENDAR_METHODS = {
    Kind.INVITE: "REQUEST",
    Kind.REMINDER: "REQUEST",
    Kind.REMIND: "REQUEST",
    Kind.RESCHEDULE: "REQUEST",
    Kind.EXTENDED: "REQUEST",
    Kind.CANCELLATION: "CANCEL",
    Kind.REMOVED: "CANCEL",
}


# A manual "Remind" says what a planned reminder says.
TEMPLATE_FOR_KIND = {Kind.REMIND: "reminder"}


@dataclass
class RenderedNotice:
    subject: str
    text: str
    html: str = ""
    attachments: list[Attachment] | None = None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _context(notification: Notification) -> dict:
    session = notification.session
    reader = notification.participant or notification.host
    zone = reader.time_zone
    extra = notification.context or {}
    old_start = _moment(extra.get("old_start"))
    old_end = _moment(extra.get("old_end"))
    context = {
        "participant": notification.participant,
        "recipient_name": reader.name if notification.participant else reader.full_name,
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
        "join_link": join_url(notification.participant) if notification.participant else "",
    }
    return context


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 3, 0)].rstrip() + "..." if limit else ""


def _render_text(kind: str, context: dict) -> str:
    """The SMS or WhatsApp text, within two GSM-7 segments: names and the title are folded to GSM-7 and the
    title and reason shortened until it fits. The link and the time are never cut."""
    title = gsm7_fold(context["session"].title)
    host_name = _shorten(gsm7_fold(context["host"].full_name), 40) or "Your host"
    reason = gsm7_fold(context["reason"])
    text = ""
    for title_limit, reason_limit in ((60, 80), (40, 60), (24, 30), (12, 0)):
        sms = {
            "title": _shorten(title, title_limit),
            "host": host_name,
            "reason": _shorten(reason, reason_limit),
        }
        rendered = render_to_string(f"notifications/text/{kind}.txt", {**context, "sms": sms})
        text = gsm7_fold(" ".join(rendered.split()))
        if sms_segments(text) <= MAX_SEGMENTS:
            break
    return text


def render_notice(notification: Notification) -> RenderedNotice:
    context = _context(notification)
    kind = TEMPLATE_FOR_KIND.get(notification.kind, notification.kind)
    method = CALENDAR_METHODS.get(notification.kind)
    if notification.channel != Notification.Channel.EMAIL:
        return RenderedNotice(subject="", text=_render_text(kind, context))
    subject = render_to_string(f"notifications/email/{kind}_subject.txt", context).strip()
    attachments = []
    if method and notification.participant is not None:
        ics = calendar_file(
            participant=notification.participant, join_link=context["join_link"], method=method
        )
        attachments.append(Attachment("session.ics", ics, f"text/calendar; method={method}"))
    return RenderedNotice(
        subject=" ".join(subject.split()),
        text=render_to_string(f"notifications/email/{kind}.txt", context).strip() + "\n",
        html=render_to_string(f"notifications/email/{kind}.html", context),
        attachments=attachments,
    )


def as_email(notification: Notification, rendered: RenderedNotice) -> EmailMessage:
    return EmailMessage(
        to=notification.recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachments=rendered.attachments or [],
    )
