"""What the providers tell us after a notice has left: Twilio's message status callbacks and inbound replies
(STOP / START, and participants' answers), and the email services' tracking events (through anymail). Every
write they cause goes through the services here, in contacts.services and in sessions_app's participant
answers, which also record the audit event; there is no account behind these changes, so the actor is
always None.
"""

import logging
from datetime import datetime

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from contacts.services import contact_sms_opt_out
from notifications.models import Notification, TwilioCallback

logger = logging.getLogger(__name__)

# The Twilio error codes a host meets most often, in words they can act on. Any other code is shown by its
# number, which Twilio's error dictionary explains.
TWILIO_ERROR_TEXT = {
    "21610": "The recipient replied STOP to our text messages",
    "30003": "Unreachable destination handset (the phone may be off or out of coverage)",
    "30005": "Unknown destination handset (the number may no longer exist)",
    "30006": "Landline or unreachable carrier (the number cannot receive text messages)",
    "30007": "The carrier filtered the message as spam",
    "30008": "Unknown error from the carrier",
    "63016": "Outside WhatsApp's 24-hour window: the participant has not written to us recently",
}

DELIVERED_STATUSES = frozenset({"delivered", "read"})
FAILED_STATUSES = frozenset({"undelivered", "failed", "bounced", "rejected"})

# How far along a message is. Providers do not promise to call back in order (Twilio's "sent" may arrive
# after its "delivered"), so a report that would move a row backwards is ignored; a failure is final.
_PROGRESS = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "read": 6,
    "complained": 7,
    **dict.fromkeys(FAILED_STATUSES, 8),
}

_FAILURE_PREFIX = {
    "undelivered": "Not delivered",
    "failed": "Not sent",
    "bounced": "The email bounced",
    "rejected": "The email service refused it",
}

# Twilio's default opt-out and opt-in keywords for long codes: the message must be only the keyword.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})


def _failure_text(status: str, error_code: str | None, reason: str) -> str:
    if error_code:
        known = TWILIO_ERROR_TEXT.get(error_code)
        reason = f"{known} (Twilio error {error_code})" if known else f"Twilio error {error_code}"
    prefix = _FAILURE_PREFIX.get(status, "Not delivered")
    return f"{prefix}: {reason.rstrip('.')}." if reason else f"{prefix}."


@transaction.atomic
def notice_record_provider_status(
    *,
    provider_message_id: str,
    status: str,
    error_code: str | int | None = None,
    reason: str = "",
    occurred_at: datetime | None = None,
) -> Notification | None:
    """Record what the provider says became of a sent notice: delivered (or read), failed for good
    (undelivered, failed, bounced, rejected: the row becomes failed with a readable reason), or a spam
    complaint. Returns the row, or None when no notice has that provider id (a message sent by someone
    else, or a notice deleted since). Reports that repeat or arrive out of order change nothing."""
    status = status.strip().lower()
    error_code = str(error_code).strip() if error_code not in (None, "") else None
    if not provider_message_id or not status:
        return None
    notification = (
        Notification.objects.select_for_update().filter(provider_message_id=provider_message_id).first()
    )
    if notification is None:
        logger.info("Provider status %r for unknown message %s", status, provider_message_id)
        return None
    previous = notification.provider_status
    if status == previous or _PROGRESS.get(status, 0) < _PROGRESS.get(previous, 0):
        return notification

    notification.provider_status = status
    changed = ["provider_status", "updated_at"]
    if status in DELIVERED_STATUSES and notification.delivered_at is None:
        notification.delivered_at = occurred_at or timezone.now()
        changed.append("delivered_at")
    elif status in FAILED_STATUSES:
        notification.status = Notification.Status.FAILED
        notification.last_error = _failure_text(status, error_code, reason)
        changed += ["status", "last_error"]
    elif status == "complained":
        detail = f": {reason.rstrip('.')}." if reason else "."
        notification.last_error = f"{notification.recipient} marked the email as spam{detail}"
        changed.append("last_error")
    notification.save(update_fields=changed)

    session = notification.session
    audit_record(
        actor=None,
        acting_for=session.host if session is not None else None,
        organization_id=notification.organization_id,
        action=AuditAction.NOTICE_PROVIDER_STATUS,
        obj=notification,
        provider_message_id=provider_message_id,
        provider_status=status,
        previous_provider_status=previous,
        error_code=error_code,
        last_error=notification.last_error,
    )
    if status in FAILED_STATUSES:
        logger.warning("Notice %s failed at the provider: %s", notification.pk, notification.last_error)
    return notification


def opt_out_keyword(text: str) -> bool | None:
    """True for an opt-out reply (STOP...), False for an opt-in (START...), None for anything else: only a
    message that is just the keyword counts, as with Twilio's own handling ("stop texting me" does not)."""
    word = (text or "").strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return True
    if word in OPT_IN_KEYWORDS:
        return False
    return None


def _e164(phone: str) -> str | None:
    phone = (phone or "").strip()
    if phone.lower().startswith("whatsapp:"):
        phone = phone[len("whatsapp:") :]
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sms_opt_out_record(*, phone: str, opted_out: bool) -> list:
    """An inbound STOP or START from this number: the contacts service marks every contact with it."""
    number = _e164(phone)
    if number is None:
        return []
    return contact_sms_opt_out(phone=number, opted_out=opted_out)


def _twilio_callback_first_time(*, message_sid: str, message_status: str = "") -> bool:
    """Write down that this callback is being acted on; False when it was before (Twilio's retry, or a
    captured request sent again). Inside the caller's transaction, so a failure later leaves no record and
    Twilio's retry is acted on."""
    try:
        with transaction.atomic():
            TwilioCallback.objects.create(message_sid=message_sid, message_status=message_status)
    except IntegrityError:
        return False
    return True


@transaction.atomic
def twilio_status_record(
    *, message_sid: str, message_status: str, error_code: str | None = None
) -> Notification | None:
    """Twilio's status callback for a message we sent: acted on once per message and status."""
    message_status = message_status.strip().lower()
    if not message_sid or not message_status:
        return None
    if not _twilio_callback_first_time(message_sid=message_sid, message_status=message_status):
        return None
    return notice_record_provider_status(
        provider_message_id=message_sid, status=message_status, error_code=error_code
    )


@transaction.atomic
def twilio_inbound_record(*, message_sid: str, sender: str, body: str) -> str:
    """A message someone texted to our number, acted on once per message (so an old START sent again cannot
    undo a later STOP, nor a replayed X cancel twice): a STOP or START changes their opt-out; then the
    participant whose latest notice went to that number has their reply recorded (C to confirm, X to cancel,
    anything else reaches the host as a message: sessions_app.services.participant_reply_record). Returns
    the text to answer with, or "" for none."""
    if not message_sid:
        return ""
    if not _twilio_callback_first_time(message_sid=message_sid):
        return ""
    opted_out = opt_out_keyword(body)
    if opted_out is not None:
        sms_opt_out_record(phone=sender, opted_out=opted_out)
    number = _e164(sender)
    if number is None:
        return ""
    # sessions_app's services write notices through this app: imported at the call, not when modules load.
    from sessions_app.services import participant_reply_record

    via = "whatsapp" if sender.strip().lower().startswith("whatsapp:") else "sms"
    reply = participant_reply_record(
        phone=number, body=body, message_sid=message_sid, via=via, opted_out=opted_out
    )
    return reply.answer_text
