import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.errors import ValidationFailedError
from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for
from contacts.models import InviteMethod
from notifications import channels
from notifications.models import HostNoticeSettings, Notification, default_reminder_leads
from notifications.rendering import as_email, render_notice
from sessions_app.models import Participant, Session

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Retries wait 30 s, 1, 2, 4 and 8 minutes (each with up to 20% jitter): six attempts span about 16 minutes,
# well inside the hour a transient outage may last before the host is told the notice failed.
RETRY_BASE_SECONDS = 30
# A row claimed by a worker that then died is handed out again after this long.
CLAIM_LEASE = timedelta(seconds=getattr(settings, "NOTIFICATION_CLAIM_LEASE_SECONDS", 300))

_CHANNEL_FOR_METHOD = {
    InviteMethod.EMAIL: Notification.Channel.EMAIL,
    InviteMethod.SMS: Notification.Channel.SMS,
    InviteMethod.WHATSAPP: Notification.Channel.WHATSAPP,
}


def notice_create(
    *,
    participant: Participant,
    kind: str,
    send_at: datetime | None = None,
    key: str = "",
    context: dict | None = None,
) -> Notification | None:
    """Queue one notice to a participant on their invite method, inside the caller's transaction.

    The dedupe key names the event the notice is about, so a retried request or a repeated call
    creates nothing twice. A notice withdrawn earlier and asked for again (a reminder re-planned after the
    participant changed their method) comes back with the participant's current channel and address.
    Participants whose method is "none" get no notice.
    """
    channel = _CHANNEL_FOR_METHOD.get(participant.invite_method)
    if channel is None or not participant.address:
        return None
    session = participant.session
    dedupe_key = f"{kind}:p{participant.pk}:s{session.calendar_sequence}{':' + key if key else ''}"
    fields = {
        "channel": channel,
        "recipient": participant.address,
        "send_at": send_at or timezone.now(),
        "context": context or {},
    }
    notification, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "organization_id": session.organization_id,
            "session": session,
            "participant": participant,
            "kind": kind,
            **fields,
        },
    )
    if not created and notification.status == Notification.Status.CANCELLED:
        for name, value in {
            **fields,
            "status": Notification.Status.PENDING,
            "attempts": 0,
            "last_error": "",
        }.items():
            setattr(notification, name, value)
        notification.save()
    return notification


def host_notice_create(*, host: User, session: Session, kind: str, key: str, context: dict | None = None):
    """Queue an email to a host about one of their sessions (for example a session reassigned to them)."""
    notification, _ = Notification.objects.get_or_create(
        dedupe_key=f"{kind}:h{host.pk}:s{session.pk}:{key}",
        defaults={
            "organization_id": session.organization_id,
            "session": session,
            "host": host,
            "kind": kind,
            "channel": Notification.Channel.EMAIL,
            "recipient": host.email,
            "context": context or {},
        },
    )
    return notification


def notices_cancel_pending(*, session: Session, participant: Participant | None = None, kinds=None) -> int:
    """Withdraw notices not yet sent (reminders of a moved or cancelled session, invites of a removed
    participant). Rows a worker is sending right now are left to finish."""
    rows = Notification.objects.filter(session=session, status=Notification.Status.PENDING)
    if participant is not None:
        rows = rows.filter(participant=participant)
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    return rows.update(status=Notification.Status.CANCELLED, last_error="Withdrawn: the session changed.")


MIN_REMINDER_LEAD = timedelta(minutes=10)
MAX_REMINDER_LEAD = timedelta(days=14)


@transaction.atomic
def notice_settings_update(
    *, actor: User, host: User, reminder_lead_minutes: list[int]
) -> HostNoticeSettings:
    """Set a host's reminder lead times and re-plan the reminders of their upcoming sessions."""
    if not hosts_actor_may_act_for(actor=actor).filter(pk=host.pk).exists():
        raise ValidationFailedError("You cannot change this host's reminders.")
    leads = sorted({int(m) for m in reminder_lead_minutes}, reverse=True)
    if len(leads) > 5:
        raise ValidationFailedError("Choose at most 5 reminders.")
    for minutes in leads:
        if not MIN_REMINDER_LEAD <= timedelta(minutes=minutes) <= MAX_REMINDER_LEAD:
            raise ValidationFailedError(
                "Each reminder must be between 10 minutes and 14 days before the start."
            )
    row, _ = HostNoticeSettings.objects.update_or_create(host=host, defaults={"reminder_lead_minutes": leads})
    upcoming = Session.objects.filter(
        host=host, status__in=[Session.Status.SCHEDULED, Session.Status.LIVE], start_at__gt=timezone.now()
    )
    for session in upcoming:
        reminders_schedule(session=session)
    audit_record(
        actor=actor,
        acting_for=host,
        action="notices.settings",
        obj=row,
        organization_id=host.organization.id,
        details={"reminder_lead_minutes": leads},
    )
    return row


def reminder_leads(host: User) -> list[timedelta]:
    settings_row = HostNoticeSettings.objects.filter(host=host).first()
    minutes = settings_row.reminder_lead_minutes if settings_row else default_reminder_leads()
    return [timedelta(minutes=m) for m in sorted(set(minutes), reverse=True)]


def reminders_schedule(
    *, session: Session, participants: list[Participant] | None = None
) -> list[Notification]:
    """(Re)plan the reminders of a session: pending reminders are withdrawn and one row per lead time and
    participant is written with its send_at. A reminder whose time has already passed is not planned
    (a session booked 30 minutes ahead gets no 24-hour reminder)."""
    if participants is None:
        notices_cancel_pending(session=session, kinds=[Notification.Kind.REMINDER])
        participants = list(session.participants.filter(removed_at__isnull=True))
    now = timezone.now()
    created = []
    for lead in reminder_leads(session.host):
        send_at = session.start_at - lead
        if send_at <= now:
            continue
        for participant in participants:
            notice = notice_create(
                participant=participant,
                kind=Notification.Kind.REMINDER,
                send_at=send_at,
                key=f"lead{int(lead.total_seconds() // 60)}",
            )
            if notice is not None:
                created.append(notice)
    return created


def hand_over_after_commit(notifications: list[Notification | None]) -> None:
    """After the transaction commits, hand the notices that are already due to the workers. Anything
    lost on the way (a broker restart, a crashed web process) is picked up by the periodic sweep."""
    now = timezone.now()
    due_ids = [n.pk for n in notifications if n is not None and n.send_at <= now]
    if not due_ids:
        return

    def hand_over() -> None:
        from notifications.tasks import deliver_notice

        for notification_id in due_ids:
            try:
                deliver_notice.delay(notification_id)
            except Exception:  # noqa: BLE001 - the sweep is the safety net; the request must not fail here
                logger.warning(
                    "Could not hand notice %s to the broker; the sweep will send it", notification_id
                )

    transaction.on_commit(hand_over)


def _claim(notification_id: int) -> Notification | None:
    now = timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, status=Notification.Status.PENDING, send_at__lte=now)
            .first()
        )
        if notification is None:
            return None
        notification.status = Notification.Status.SENDING
        notification.claimed_at = now
        notification.attempts += 1
        notification.save(update_fields=["status", "claimed_at", "attempts", "updated_at"])
    return notification


def retry_delay(attempt: int) -> timedelta:
    base = RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=base * (1 + random.uniform(0, 0.2)))


def notice_deliver(*, notification_id: int) -> Notification | None:
    """Send one due notice once. Returns the row, or None when it was not due or another worker has it."""
    notification = _claim(notification_id)
    if notification is None:
        return None
    notification = Notification.objects.select_related(
        "participant", "host", "session", "session__host", "session__series"
    ).get(pk=notification.pk)
    if notification.session is None or (notification.participant is None and notification.host is None):
        return _finish(notification, status=Notification.Status.CANCELLED, error="The recipient was removed.")
    try:
        rendered = render_notice(notification)
        if notification.channel == Notification.Channel.EMAIL:
            provider_id = channels.send_email(as_email(notification, rendered))
        else:
            provider_id = channels.send_text(
                channel=notification.channel, to=notification.recipient, body=rendered.text
            )
    except channels.PermanentDeliveryError as exc:
        return _finish(notification, status=Notification.Status.FAILED, error=str(exc))
    except channels.TransientDeliveryError as exc:
        return _retry_or_fail(notification, exc)
    except Exception as exc:  # noqa: BLE001 - anything unforeseen is retried, then shown as failed
        logger.exception("Unexpected error delivering notice %s", notification.pk)
        return _retry_or_fail(notification, f"Unexpected error: {exc.__class__.__name__}: {exc}")
    return _finish(
        notification,
        status=Notification.Status.SENT,
        provider_message_id=provider_id,
        subject=rendered.subject,
        body=rendered.text,
        sent_at=timezone.now(),
    )


def _retry_or_fail(notification: Notification, error) -> Notification:
    if notification.attempts >= MAX_ATTEMPTS:
        return _finish(
            notification,
            status=Notification.Status.FAILED,
            error=f"Gave up after {notification.attempts} attempts: {error}",
        )
    return _finish(
        notification,
        status=Notification.Status.PENDING,
        error=str(error),
        send_at=timezone.now() + retry_delay(notification.attempts),
    )


def _finish(notification: Notification, *, status: str, error: str = "", **fields) -> Notification:
    # Only the worker holding the claim may finish the row: a worker that outlived its lease must not
    # overwrite the outcome of the one that took over.
    fields.update(status=status, last_error=error, updated_at=timezone.now())
    Notification.objects.filter(
        pk=notification.pk, status=Notification.Status.SENDING, claimed_at=notification.claimed_at
    ).update(**fields)
    for name, value in fields.items():
        setattr(notification, name, value)
    if status == Notification.Status.FAILED:
        logger.warning("Notice %s failed: %s", notification.pk, error)
    return notification


def notices_due_ids(*, limit: int = 1000) -> list[int]:
    """Ids of notices that should be handed to a worker now: due pending rows, and rows whose worker's claim
    has lapsed (it died mid-send), which go back to pending first."""
    now = timezone.now()
    Notification.objects.filter(status=Notification.Status.SENDING, claimed_at__lt=now - CLAIM_LEASE).update(
        status=Notification.Status.PENDING, updated_at=now
    )
    return list(
        Notification.objects.filter(status=Notification.Status.PENDING, send_at__lte=now)
        .order_by("send_at")
        .values_list("pk", flat=True)[:limit]
    )


def notices_deliver_due() -> int:
    """Deliver every due notice in this process; used by tests and the management command."""
    delivered = 0
    for notification_id in notices_due_ids():
        if notice_deliver(notification_id=notification_id) is not None:
            delivered += 1
    return delivered
