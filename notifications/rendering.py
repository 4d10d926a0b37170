from dataclasses import dataclass

from django.conf import settings
from django.template import Context, engines
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from notifications.channels import Attachment, EmailMessage
from notifications.models import Notification
from notifications.sms import MAX_SEGMENTS, gsm7_fold, sms_segments

Kind = Notification.Kind

# A manual "Remind" says what a planned reminder says.
TEMPLATE_FOR_KIND = {Kind.REMIND: "reminder"}


# What stands in for a join link in the copy of a notice the product keeps.
LINK_REDACTED = "[join link]"


@dataclass
class RenderedNotice:
    subject: str
    text: str
    html: str = ""
    attachments: list[Attachment] | None = None
    # The text as kept in the notices log: the join link, a bearer secret, cut out.
    logged_text: str = ""


# Notices about an account (no session): their words come from the accounts app.
ACCOUNT_KINDS = frozenset({Kind.TEAM_INVITE, Kind.EMAIL_CONFIRM})


def _context(notification: Notification) -> dict:
    # The outbox knows channels, not sessions: what a notice says comes from the app that wrote it.
    if notification.kind in ACCOUNT_KINDS:
        from accounts.notices import account_notice_context

        return account_notice_context(notification)
    return import_string(settings.NOTICE_CONTEXT)(notification)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 3, 0)].rstrip() + "..." if limit else ""


def _render_plain(template_name: str, context: dict) -> str:
    """A template rendered as plain text, with autoescaping off: a subject, a text part or an SMS is not
    HTML, and "Smith & Jones" must not arrive as "Smith &amp; Jones"."""
    return engines["django"].get_template(template_name).template.render(Context(context, autoescape=False))


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
        rendered = _render_plain(f"notifications/text/{kind}.txt", {**context, "sms": sms})
        text = gsm7_fold(" ".join(rendered.split()))
        if sms_segments(text) <= MAX_SEGMENTS:
            break
    return text


def render_notice(notification: Notification) -> RenderedNotice:
    context = _context(notification)
    kind = TEMPLATE_FOR_KIND.get(notification.kind, notification.kind)
    # The one bearer secret a notice carries: a participant's join link, or an account's link (an
    # invitation, an address to confirm), which names what stands for it in the kept copy.
    link = context.get("join_link") or context.get("link") or ""
    placeholder = context.get("link_placeholder", LINK_REDACTED)

    def logged(text: str) -> str:
        return text.replace(link, placeholder) if link else text

    if notification.channel != Notification.Channel.EMAIL:
        text = _render_text(kind, context)
        return RenderedNotice(subject="", text=text, logged_text=logged(text))
    subject = _render_plain(f"notifications/email/{kind}_subject.txt", context).strip()
    attachments = []
    if context.get("calendar"):
        method, ics = context["calendar"]
        attachments.append(Attachment("session.ics", ics, f"text/calendar; method={method}"))
    text = _render_plain(f"notifications/email/{kind}.txt", context).strip() + "\n"
    return RenderedNotice(
        subject=" ".join(subject.split()),
        text=text,
        html=render_to_string(f"notifications/email/{kind}.html", context),
        attachments=attachments,
        logged_text=logged(text),
    )


def as_email(notification: Notification, rendered: RenderedNotice) -> EmailMessage:
    return EmailMessage(
        to=notification.recipient,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachments=rendered.attachments or [],
        sender_name=notification.organization.sender_name or notification.organization.name,
    )
