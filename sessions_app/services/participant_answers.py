"""A participant's own answers: confirm, cancel their place, ask for another time (issue 13).

They come through the participant's join link (sessions_app.join.views) or a text reply to a reminder
(notifications.provider_events). A participant has no account, so these services take no actor: whoever
holds the join link, or texts from the number their notices go to, is the participant. The audit events
name no actor and carry `participant` (the participant's id) and `via` (link, sms, whatsapp) in their details.

The cancellation window is the organisation's (Organization.cancellation_window_hours) and is worked out in
one place, cancel_deadline.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import User
from config.errors import ValidationFailedError
from notifications.models import Notification
from notifications.services import hand_over_after_commit, host_notice_create, notices_cancel_pending
from sessions_app.models import Answer, Participant, Session
from sessions_app.services.changes import sessions_cancel_locked
from sessions_app.services.common import lock_session
from sessions_app.services.participants import participant_take_off_locked
from sessions_app.timefmt import format_short

VIA_LINK = "link"
VIA_SMS = "sms"
VIA_WHATSAPP = "whatsapp"
ANSWER_MESSAGE_MAX = 1000

# What a text reply may say. Only words that cannot be misread act; anything else reaches the host as a
# message, for a person to read. Twilio's own Advanced Opt-Out acts on some of these first, whatever we do:
# YES is also an opt-in there (harmless: they want our texts), and a bare CANCEL is also an opt-out (STOP),
# which notifications.provider_events records too and the host is told about.
CONFIRM_WORDS = frozenset({"C", "CONFIRM", "CONFIRMED", "YES", "Y", "OK", "OKAY"})
CANCEL_WORDS = frozenset({"X", "CANCEL"})


# The window ---------------------------------------------------------------------------------------------


def cancel_deadline(session: Session) -> datetime:
    """Until when (UTC) a participant may cancel their place themselves. The window's whole days are counted
    on the host's wall clock, so "24 hours" before a 10:00 session ends at 10:00 the day before even when
    the clocks change overnight (23 or 25 hours of elapsed time); any hours beyond whole days are elapsed
    hours. A wall-clock time the change skips resolves with the offset before the change."""
    hours = session.organization.cancellation_window_hours
    days, rest = divmod(hours, 24)
    zone = session.host.zone
    local = session.start_at.astimezone(zone).replace(tzinfo=None) - timedelta(days=days)
    return local.replace(tzinfo=zone).astimezone(UTC) - timedelta(hours=rest)


def cancel_allowed(session: Session, at: datetime | None = None) -> bool:
    return (at or timezone.now()) < cancel_deadline(session)


def cancel_refused_message(session: Session) -> str:
    hours = session.organization.cancellation_window_hours
    return (
        f"Cancelling within {hours} hour{'' if hours == 1 else 's'} of the start is not possible here; "
        f"please contact {session.host.full_name} directly."
    )


# Shared steps -------------------------------------------------------------------------------------------


def _lock(participant: Participant) -> tuple[Session, Participant]:
    """The participant's session and row, locked. No permission to check: holding the link (or the number)
    is what makes the participant; a participant taken off the session answers nothing any more."""
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("host", "organization")
        .get(pk=participant.session_id)
    )
    participant = Participant.objects.select_for_update().get(pk=participant.pk, session=session)
    participant.session = session
    if participant.removed_at is not None:
        raise ValidationFailedError("You are no longer on this session.")
    return session, participant


def _check_answerable(session: Session, moment: datetime) -> None:
    if session.is_closed:
        raise ValidationFailedError(f"This session was {session.get_status_display().lower()}.")
    if moment >= session.start_at:
        raise ValidationFailedError("This session has already started.")


def _text(value: str, *, required: str = "") -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailedError(required, field="message")
    if len(value) > ANSWER_MESSAGE_MAX:
        raise ValidationFailedError(
            f"Please keep it under {ANSWER_MESSAGE_MAX} characters (it has {len(value)}).", field="message"
        )
    return value


def _record_answer(participant: Participant, answer: str, moment: datetime, message: str = "") -> None:
    participant.answer, participant.answered_at, participant.answer_message = answer, moment, message
    participant.answer_sequence = participant.session.calendar_sequence
    participant.answer_handled_at = None
    participant.save(
        update_fields=["answer", "answered_at", "answer_message", "answer_sequence", "answer_handled_at"]
    )


def _tell_host(*, session: Session, participant: Participant, kind: str, key: str, **context) -> Notification:
    return host_notice_create(
        host=session.host,
        session=session,
        kind=kind,
        key=f"p{participant.pk}-{key}",
        context={
            "participant_name": participant.name,
            "session_url": settings.SITE_URL + reverse("sessions:detail", kwargs={"pk": session.pk}),
            **context,
        },
    )


def _audit(participant: Participant, action: AuditAction, *, via: str, **details) -> None:
    audit_record(
        actor=None,
        session=participant.session,
        action=action,
        obj=participant,
        participant=participant.pk,
        name=participant.name,
        via=via,
        **details,
    )


# The answers --------------------------------------------------------------------------------------------


@transaction.atomic
def participant_confirm(*, participant: Participant, via: str = VIA_LINK) -> Participant:
    """The participant will come. Confirming again changes nothing and records nothing."""
    session, participant = _lock(participant)
    moment = timezone.now()
    _check_answerable(session, moment)
    if participant.current_answer == Answer.CONFIRMED:
        return participant
    _record_answer(participant, Answer.CONFIRMED, moment)
    _audit(participant, AuditAction.PARTICIPANT_CONFIRM, via=via)
    return participant


@transaction.atomic
def participant_cancel_self(
    *, participant: Participant, reason: str = "", via: str = VIA_LINK, stopped_texts: bool = False
) -> Participant:
    """The participant cancels their place, until the organisation's cancellation window. When they were
    the session's only participant and the organisation so chooses, the session is cancelled (with its
    cancellation notices, which carry the calendar CANCEL to them too); otherwise they are taken off it and
    told nothing more (the page or the text reply has just confirmed it). Either way their reminders are
    withdrawn, their link stops working for anything but the "cancelled" page, and the host gets an email.
    `stopped_texts`: the text that cancelled was also an opt-out at Twilio (a bare CANCEL), which the host's
    email says."""
    session, participant = _lock(participant)
    moment = timezone.now()
    _check_answerable(session, moment)
    if not cancel_allowed(session, moment):
        raise ValidationFailedError(cancel_refused_message(session))
    reason = _text(reason)
    _record_answer(participant, Answer.CANCELLED, moment, reason)
    alone = not session.participants.active().exclude(pk=participant.pk).exists()
    cancels_session = alone and session.organization.participant_cancel_cancels_session
    notices = []
    if cancels_session:
        notices = sessions_cancel_locked(sessions=[session], reason=reason, by_participant=True)
        if via != VIA_LINK:
            # Answered by text just now (notifications.provider_events); a second text says nothing new.
            notices_cancel_pending(
                sessions=[session],
                participants=[participant],
                kinds=[Notification.Kind.CANCELLATION],
                reason="Withdrawn: they cancelled by text and were answered there.",
            )
            notices = [n for n in notices if n.participant_id != participant.pk]
        audit_record(
            actor=None,
            session=session,
            obj=session,
            action=AuditAction.SESSION_CANCEL,
            reason=reason,
            sessions=[session.pk],
            host_connected=session.host_connected_at is not None,
            participant=participant.pk,
        )
    else:
        participant_take_off_locked(session=session, participant=participant)
    host_notice = _tell_host(
        session=session,
        participant=participant,
        kind=Notification.Kind.PARTICIPANT_CANCELLED,
        key="cancel",
        reason=reason,
        session_cancelled=cancels_session,
        via=via,
        stopped_texts=stopped_texts,
    )
    _audit(
        participant, AuditAction.PARTICIPANT_CANCEL, via=via, reason=reason, session_cancelled=cancels_session
    )
    hand_over_after_commit([*notices, host_notice])
    return participant


@transaction.atomic
def participant_ask_another_time(
    *, participant: Participant, message: str, via: str = VIA_LINK
) -> Participant:
    """The participant asks for another time, with a message for the host, who gets it by email and sees it
    on the dashboard until they reschedule the session or mark the request as dealt with."""
    session, participant = _lock(participant)
    moment = timezone.now()
    _check_answerable(session, moment)
    message = _text(message, required="Say which times would suit you.")
    _record_answer(participant, Answer.ASKED_TIME, moment, message)
    host_notice = _tell_host(
        session=session,
        participant=participant,
        kind=Notification.Kind.PARTICIPANT_ASKED_TIME,
        key=f"ask{moment.timestamp():.0f}",
        message=message,
        via=via,
    )
    _audit(participant, AuditAction.PARTICIPANT_ASK_TIME, via=via, message=message)
    hand_over_after_commit([host_notice])
    return participant


@transaction.atomic
def participant_request_done(*, actor: User, participant: Participant) -> Participant:
    """The host (or a scheduler for them) dealt with a request for another time without moving the session
    (they called the participant, say): it leaves the dashboard. Moving the session settles it by itself."""
    session = lock_session(actor=actor, session=participant.session)
    participant = Participant.objects.select_for_update().get(pk=participant.pk, session=session)
    participant.session = session
    if participant.current_answer != Answer.ASKED_TIME:
        raise ValidationFailedError(f"{participant.name} has no request for another time waiting.")
    participant.answer_handled_at = timezone.now()
    participant.save(update_fields=["answer_handled_at"])
    audit_record(
        actor=actor,
        session=session,
        action=AuditAction.PARTICIPANT_REQUEST_DONE,
        obj=participant,
        participant=participant.pk,
    )
    return participant


# Text replies -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextReply:
    """What a text reply was taken as, and what to text back ("" for nothing)."""

    participant: Participant | None
    outcome: str
    answer_text: str = ""


def _reply_word(body: str) -> str:
    return (body or "").strip().strip(".!").strip().upper()


def participant_replying(*, phone: str) -> Participant | None:
    """The participant a text from this number (E.164) answers: the one whose latest notice sent by SMS or
    WhatsApp went to it. Older sessions of the same person are not guessed at."""
    notice = (
        Notification.objects.filter(
            channel__in=[Notification.Channel.SMS, Notification.Channel.WHATSAPP],
            recipient=phone,
            participant__isnull=False,
            status=Notification.Status.SENT,
        )
        .select_related("participant__session__host", "participant__session__organization")
        .order_by("-sent_at", "-id")
        .first()
    )
    return notice.participant if notice is not None else None


def _message_to_host(
    *, participant: Participant, body: str, message_sid: str, via: str, **context
) -> Notification:
    session = participant.session
    notice = _tell_host(
        session=session,
        participant=participant,
        kind=Notification.Kind.PARTICIPANT_MESSAGE,
        key=message_sid,
        message=body.strip()[:ANSWER_MESSAGE_MAX],
        via=via,
        **context,
    )
    _audit(
        participant,
        AuditAction.PARTICIPANT_MESSAGE,
        via=via,
        message=body.strip()[:ANSWER_MESSAGE_MAX],
        **context,
    )
    return notice


@transaction.atomic
def participant_reply_record(
    *, phone: str, body: str, message_sid: str, via: str = VIA_SMS, opted_out: bool | None = None
) -> TextReply:
    """A text someone sent to our number (signature checked, and acted on once per MessageSid, by
    notifications.provider_events). C / X and their common words confirm or cancel for the participant whose
    latest notice went to that number, under the same window as the join link; anything else reaches the
    host as a message from the participant. `opted_out` is what the same text did to their SMS opt-out
    (True for a STOP-like word, False for START-like, None for neither): a bare opt-out or opt-in word is
    that and nothing more, unless it is also one of ours (CANCEL, YES). A number we never texted is ignored.
    """
    participant = participant_replying(phone=phone)
    word = _reply_word(body)
    if participant is None:
        return TextReply(None, "unknown number")
    answer_word = word in CONFIRM_WORDS or word in CANCEL_WORDS
    if opted_out is not None and not answer_word:
        return TextReply(participant, "opt-out" if opted_out else "opt-in")
    session = participant.session
    when = format_short(session.start_at, participant.time_zone)
    if not answer_word:
        notice = _message_to_host(participant=participant, body=body, message_sid=message_sid, via=via)
        hand_over_after_commit([notice])
        return TextReply(participant, "message")
    try:
        if word in CONFIRM_WORDS:
            participant_confirm(participant=participant, via=via)
            return TextReply(
                participant, "confirmed", f'Thank you: confirmed for "{session.title}" on {when}.'
            )
        participant_cancel_self(participant=participant, via=via, stopped_texts=bool(opted_out))
    except ValidationFailedError as refused:
        # The host hears of a cancel they did not get (inside the window, say), to call the participant.
        notice = _message_to_host(
            participant=participant,
            body=body,
            message_sid=message_sid,
            via=via,
            refused=refused.message,
            stopped_texts=bool(opted_out),
        )
        hand_over_after_commit([notice])
        # After a STOP-like word Twilio delivers nothing more to them, so nothing is said back.
        return TextReply(participant, "refused", "" if opted_out else refused.message)
    if opted_out:
        return TextReply(participant, "cancelled")
    return TextReply(
        participant,
        "cancelled",
        f'Cancelled: "{session.title}" on {when}. {session.host.full_name} has been told.',
    )
