from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from notifications.channels import Attachment, EmailMessage
from notifications.models import Notification
from notifications.sms import MAX_SEGMENTS, gsm7_fold, sms_segments

Kind = Notification.Kind

# A manual "Remind" says what a planned reminder says.
TEMPLATE_FOR_KIND = {Kind.REMIND: "reminder"}


@dataclass
class RenderedNotice:
    subject: str
    text: str
    html: str = ""
    attachments: list[Attachment] | None = None


def _context(notification: Notification) -> dict:
    # The outbox knows channels, not sessions: what a notice says comes from the app that wrote it.
    return import_string(settings.NOTICE_CONTEXT)(notification)


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
    if notification.channel != Notification.Channel.EMAIL:
        return RenderedNotice(subject="", text=_render_text(kind, context))
    subject = render_to_string(f"notifications/email/{kind}_subject.txt", context).strip()
    attachments = []
    if context.get("calendar"):
        method, ics = context["calendar"]
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
