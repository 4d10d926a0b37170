from dataclasses import dataclass

from django.template.loader import render_to_string

from notifications.calendar import calendar_file
from notifications.channels import Attachment, EmailMessage
from notifications.models import Notification
from sessions_app.join_links import join_url
from sessions_app.timefmt import format_short, format_when

# The kinds whose email carries a calendar file, and the iTIP method it uses.
CALENDAR_METHODS = {Notification.Kind.INVITE: "REQUEST", Notification.Kind.REMINDER: "REQUEST"}


@dataclass
class RenderedNotice:
    subject: str
    text: str
    html: str = ""
    attachments: list[Attachment] | None = None


def _context(notification: Notification) -> dict:
    participant = notification.participant
    session = notification.session
    zone = participant.time_zone
    return {
        "participant": participant,
        "session": session,
        "host": session.host,
        "when": format_when(session.start_at, zone),
        "when_short": format_short(session.start_at, zone),
        "duration": session.duration_minutes,
        "join_link": join_url(participant),
    }


def render_notice(notification: Notification) -> RenderedNotice:
    context = _context(notification)
    kind = notification.kind
    if notification.channel != Notification.Channel.EMAIL:
        text = render_to_string(f"notifications/text/{kind}.txt", context).strip()
        return RenderedNotice(subject="", text=text)
    subject = render_to_string(f"notifications/email/{kind}_subject.txt", context).strip()
    attachments = []
    method = CALENDAR_METHODS.get(kind)
    if method:
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
