import logging
import math
import random
import threading
import time
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from accounts.models import User
from contacts.models import InviteMethod
from notifications import channels
from notifications.clock import db_now
from notifications.models import Notification
from notifications.rendering import ACCOUNT_KINDS, as_email, render_notice
from notifications.statements import converted, read_with_related, update_where
from sessions_app.models import Participant, Session

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Retries wait 30 s, 1, 2, 4 and 8 minutes (each with up to 20% jitter): six attempts span 15.5 to 19
# minutes, well inside the hour a transient outage may last before the host is told the notice failed.
# The base is the setting NOTIFICATION_RETRY_BASE_SECONDS; the integration tests shrink it to seconds.
RETRY_BASE_SECONDS = 30
RETRY_JITTER = 0.2
# A row claimed by a worker that then died goes back to pending after this long
# (NOTIFICATION_CLAIM_LEASE_SECONDS). It must outlast what a batch takes to reach its rows (its time budget,
# half the task's soft time limit, a tenth of the lease by default) plus the slowest send
# (PROVIDER_TIMEOUT_SECONDS and the rendering), or a live worker's notice would be sent a second time.
CLAIM_LEASE_SECONDS = 300
# A due row handed to the broker is not handed again for this long (NOTIFICATION_REHAND_SECONDS): long
# enough that the sweep does not queue a backlog again on every tick, short enough that a message lost
# with the broker (a Redis restart) is re-sent within a minute or so.
REHAND_SECONDS = 60
# The sweep locks and marks due rows this many at a time, each chunk in its own short transaction.
SWEEP_CHUNK = 1000
# The most due rows the sweep keeps handed over and not yet claimed (NOTIFICATION_SWEEP_QUEUE_ROWS): at the
# 10 s tick a ceiling of 1,000 notices a second, above what the production workers send (docs/benchmarks.md),
# so the sweep no longer limits delivery; a larger backlog waits in the table rather than in Redis. A row
# still queued after the re-hand interval (workers slower than about 170 a second) is handed once more,
# which costs its second task a claim that finds it taken, never a second message.
SWEEP_QUEUE_ROWS = 10_000
# Notices per delivery task (NOTIFICATION_DELIVERY_BATCH): one broker message, acknowledgement and task set-up
# for this many notices instead of each. Small enough that a burst still spreads over many threads (each
# sends its batch one notice after the other) and that a batch takes seconds, not minutes.
DELIVERY_BATCH = 20
# A batch decides each notice (does it still apply, to which address, has the person opted out) on what the
# database said at most this long before the send: a batch reads its rows in windows of what it will send
# within this time (_read_window), and reads a window again once it is older. The services leave a claimed
# row to this check (notices_cancel_pending), so it must stay as fresh as it was when each row was claimed
# just before its send; with a provider answering at once a whole batch goes out on its first read.
FRESH_READ_SECONDS = 1.0


def _seconds_setting(name: str, default: float) -> timedelta:
    # Read at call time, so override_settings and a worker's environment both apply.
    return timedelta(seconds=float(getattr(settings, name, default)))


def _delivery_batch() -> int:
    return max(1, int(getattr(settings, "NOTIFICATION_DELIVERY_BATCH", DELIVERY_BATCH)))


_CHANNEL_FOR_METHOD = {
    InviteMethod.EMAIL: Notification.Channel.EMAIL,
    InviteMethod.SMS: Notification.Channel.SMS,
    InviteMethod.WHATSAPP: Notification.Channel.WHATSAPP,
}


def notice_build(
    *,
    participant: Participant,
    kind: str,
    send_at: datetime | None = None,
    key: str = "",
    context: dict | None = None,
) -> Notification | None:
    """One notice to a participant on their invite method, not yet saved; None when their method is "none"
    or they have no address for it.

    The dedupe key names the event the notice is about, so a retried request or a repeated call creates
    nothing twice (notices_put)."""
    channel = _CHANNEL_FOR_METHOD.get(participant.invite_method)
    if channel is None or not participant.address:
        return None
    session = participant.session
    return Notification(
        dedupe_key=f"{kind}:p{participant.pk}:s{session.calendar_sequence}{':' + key if key else ''}",
        organization_id=session.organization_id,
        session=session,
        participant=participant,
        kind=kind,
        channel=channel,
        recipient=participant.address,
        # Without a time the notice is due now by the database's clock (notifications.clock).
        send_at=send_at or db_now(),
        context=context or {},
    )


# What a notice withdrawn earlier and asked for again takes from the new one.
_REVIVED_FIELDS = ("channel", "recipient", "send_at", "context", "status", "attempts", "last_error")


def notices_put(notices: list[Notification | None], *, new: bool = False) -> list[Notification]:
    """Queue notices inside the caller's transaction, in at most three queries however many there are.

    A notice whose dedupe key exists already is not written again; one withdrawn earlier and asked for
    again (a reminder re-planned after the participant changed their method) comes back with the new
    channel and address. Returns the rows, in the order given, without the Nones.

    `new` says the notices are for participants created in this transaction, so none can exist yet."""
    notices = [n for n in notices if n is not None]
    if not notices:
        return []
    if new:
        return Notification.objects.bulk_create(notices)
    existing = {
        n.dedupe_key: n for n in Notification.objects.filter(dedupe_key__in=[n.dedupe_key for n in notices])
    }
    new, revived, result = [], [], []
    for notice in notices:
        row = existing.get(notice.dedupe_key)
        if row is None:
            new.append(notice)
            existing[notice.dedupe_key] = row = notice
        elif row.status == Notification.Status.WITHDRAWN and row not in revived:
            notice.status, notice.attempts, notice.last_error = Notification.Status.PENDING, 0, ""
            for name in _REVIVED_FIELDS:
                setattr(row, name, getattr(notice, name))
            revived.append(row)
        result.append(row)
    Notification.objects.bulk_create(new)
    if revived:
        for row in revived:
            row.updated_at = timezone.now()
        Notification.objects.bulk_update(revived, [*_REVIVED_FIELDS, "updated_at"])
    return result


def notice_create(**options) -> Notification | None:
    """Queue one notice to a participant (see notice_build and notices_put)."""
    created = notices_put([notice_build(**options)])
    return created[0] if created else None


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


def account_notice_create(
    *, organization_id: int | None, kind: str, recipient: str, key: str, context: dict
) -> Notification:
    """Queue an email about an account rather than a session (a team invitation, a new address to
    confirm), handed over after commit. The link in it is derived when it is written, never stored."""
    notification, _ = Notification.objects.get_or_create(
        dedupe_key=f"{kind}:{key}",
        defaults={
            "organization_id": organization_id,
            "kind": kind,
            "channel": Notification.Channel.EMAIL,
            "recipient": recipient,
            "send_at": db_now(),
            "context": context,
        },
    )
    hand_over_after_commit([notification])
    return notification


def notices_cancel_pending(
    *,
    sessions: list[Session],
    participants: list[Participant] | None = None,
    kinds=None,
    reason: str = "Withdrawn: the session changed.",
) -> int:
    """Withdraw notices not yet sent (reminders of a moved or cancelled session, invites of a removed
    participant), in one query for any number of sessions. Rows a worker is sending right now are left to
    finish: the worker checks again before it sends (notices_deliver, FRESH_READ_SECONDS)."""
    rows = Notification.objects.filter(session__in=sessions, status=Notification.Status.PENDING)
    if participants is not None:
        rows = rows.filter(participant__in=participants)
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    return rows.update(status=Notification.Status.WITHDRAWN, last_error=reason, updated_at=db_now())


def notices_readdress(*, participant: Participant) -> int:
    """Point a participant's notices not yet sent at their current method and address (the host corrected
    a mistyped email): the invite that has not gone out goes to the new address, not the old one. Sent
    notices stay as they were. Returns how many rows now go to the new address."""
    channel = _CHANNEL_FOR_METHOD.get(participant.invite_method)
    pending = Notification.objects.filter(participant=participant, status=Notification.Status.PENDING)
    if channel is None or not participant.address:
        pending.update(
            status=Notification.Status.WITHDRAWN,
            last_error=f"Withdrawn: {participant.name} is set to receive no messages.",
            updated_at=db_now(),
        )
        return 0
    return pending.update(channel=channel, recipient=participant.address, updated_at=db_now())


def hand_over_after_commit(notifications: list[Notification | None]) -> None:
    """After the transaction commits, hand the notices that are already due to the workers. Anything
    lost on the way (a broker restart, a crashed web process) is picked up by the periodic sweep."""
    now = timezone.now()
    # A notice written to be due now carries the database's clock (an SQL expression), not a moment.
    due_ids = [
        n.pk
        for n in notifications
        if n is not None and (not isinstance(n.send_at, datetime) or n.send_at <= now)
    ]
    if not due_ids:
        return

    def hand_over() -> None:
        # Marked before publishing: a worker's claim clears the mark, and must not find it set again after.
        Notification.objects.filter(
            pk__in=due_ids, status=Notification.Status.PENDING, send_at__lte=db_now()
        ).update(handed_at=db_now())
        _publish(due_ids)

    transaction.on_commit(hand_over)


def _publish(notification_ids: list[int]) -> bool:
    """One delivery task per NOTIFICATION_DELIVERY_BATCH notices. When the broker refuses one, the rest are
    not tried (each refusal can take seconds of connection retries) and lose their hand-over mark, so the
    next sweep hands them again instead of waiting out the re-hand interval. The caller (a web request, the
    sweep, a batch handing back its rest) never fails here; it learns whether every task was published."""
    from notifications.tasks import deliver_notices

    size = _delivery_batch()
    for start in range(0, len(notification_ids), size):
        try:
            deliver_notices.delay(notification_ids[start : start + size])
        except Exception:  # noqa: BLE001 - any broker error: the sweep is the safety net
            unsent = notification_ids[start:]
            logger.warning("Could not hand %s notices to the broker; the sweep will send them", len(unsent))
            Notification.objects.filter(pk__in=unsent, status=Notification.Status.PENDING).update(
                handed_at=None
            )
            return False
    return True


# What deciding, rendering and sending a notice reads besides the row, loaded with it in one query: the
# participant (and their contact, for a STOP), the session with its host and organisation (the reader's
# times, the cancellation window), the organisation that signs an email. A host's notice (host) and a
# series' frequency are read only by the few notices that need them.
_DELIVERY_RELATED = ("organization", "participant__contact", "session__host", "session__organization")


def _update_returning(rows: QuerySet, returning: tuple[str, ...], **values) -> list[tuple]:
    """rows.update(**values), returning these fields of the rows it changed as the ORM reads them (UPDATE ...
    RETURNING, on PostgreSQL and SQLite 3.35+). Which rows a conditional UPDATE took is known only to the
    statement itself: a SELECT after it could not tell them from rows another worker took at the same
    moment."""
    using = router.db_for_write(rows.model)
    query = rows.query.chain(UpdateQuery)
    query.add_update_values(values)
    statement, params = query.get_compiler(using).as_sql()
    connection = connections[using]
    meta = rows.model._meta
    fields = [meta.pk if name == "pk" else meta.get_field(name) for name in returning]
    # What the compiler applies to a column it reads: SQLite gives a datetime back as text, for one.
    columns = [field.get_col(meta.db_table) for field in fields]
    converters = {
        position: (functions, column)
        for position, column in enumerate(columns)
        if (
            functions := [
                *connection.ops.get_db_converters(column),
                *column.field.get_db_converters(connection),
            ]
        )
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"{statement} RETURNING {', '.join(connection.ops.quote_name(f.column) for f in fields)}", params
        )
        return [tuple(row) for row in converted(cursor.fetchall(), converters, connection)]


def _update_returning_pks(rows: QuerySet, **values) -> list[int]:
    return [pk for (pk,) in _update_returning(rows, ("pk",), **values)]


def _read(notification_ids: list[int]) -> list[Notification]:
    """The rows with what delivering them reads, in one query, in the order of the ids."""
    rows = read_with_related(
        Notification, _DELIVERY_RELATED, notification_ids, using=router.db_for_read(Notification)
    )
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in notification_ids if pk in by_id]


class _Claim(NamedTuple):
    """A row this worker claimed, and the moment of its claim: the row is this worker's while it says so."""

    pk: int
    claimed_at: datetime


def _claim(notification_ids: list[int]) -> list[Notification]:
    """Claim those of the rows that are pending and due, and return them loaded for delivery, in the order
    given: two queries however many rows (_claim_rows, then _read_held)."""
    return _read_held(_claim_rows(notification_ids))


def _claim_rows(notification_ids: list[int]) -> list[_Claim]:
    """Claim those of the rows that are pending and due, in one query, and return them in the order given.
    The rows another worker has, or that are not due, are left alone.

    One conditional UPDATE is the claim, committed on its own: of two workers claiming the same row, the
    second waits for the first's row lock and then finds the row no longer pending (PostgreSQL checks the
    WHERE again on the row it waited for), so exactly one claims it. The locks it can wait for are held for
    milliseconds (another claim, the sweep marking a chunk, a service withdrawing notices).
    The claim's time is the database's, as is the lease it is compared with: a worker whose clock runs
    behind does not get a longer lease, nor one ahead a shorter. The hand-over that brought the row here is
    used up: if this attempt fails and the row comes due again (a retry, a lapsed claim), the next sweep
    hands it at once."""
    notification_ids = list(dict.fromkeys(notification_ids))
    if not notification_ids:
        return []
    claimed = dict(
        _update_returning(
            Notification.objects.filter(
                pk__in=notification_ids, status=Notification.Status.PENDING, send_at__lte=db_now()
            ),
            ("pk", "claimed_at"),
            status=Notification.Status.SENDING,
            claimed_at=db_now(),
            attempts=F("attempts") + 1,
            handed_at=None,
            updated_at=db_now(),
        )
    )
    return [_Claim(pk, claimed[pk]) for pk in notification_ids if pk in claimed]


def _read_held(claims: list[_Claim]) -> list[Notification]:
    """The claimed rows loaded for delivery, in one query, without those this worker no longer holds: a
    claim that lapsed while the batch waited for the provider was released, and its row may be with another
    worker already."""
    held = {claim.pk: claim.claimed_at for claim in claims}
    if not held:
        return []
    return [
        row
        for row in _read(list(held))
        if row.status == Notification.Status.SENDING and row.claimed_at == held[row.pk]
    ]


# How long this thread took per notice in its last batch: how many rows one read of a batch loads
# (_read_window). Per thread, as each thread sends its batches one notice after the other.
_pace = threading.local()


def _read_window(remaining: int) -> int:
    """How many of a batch's remaining rows to read at once: what this thread sends before the read is
    FRESH_READ_SECONDS old, at its pace so far. A row read further ahead would be read again before its
    send, so a slow batch (a provider that takes its time, a worker busy with many threads) reads each row
    about once instead of all its remaining rows again every FRESH_READ_SECONDS. The first batch of a
    thread reads all its rows."""
    seconds = getattr(_pace, "seconds", None)
    if not seconds:
        return remaining
    return min(remaining, max(1, math.ceil(FRESH_READ_SECONDS / seconds)))


def _give_back(notifications: list[_Claim]) -> None:
    """Rows a batch claimed and will not reach (its time is up, its worker is stopping) go back to pending as
    they were before the claim, attempt count included, and to the broker as a new task. Only rows this
    worker still holds: one whose claim lapsed may be with another worker."""
    returned = _update_returning_pks(
        Notification.objects.filter(
            pk__in=[n.pk for n in notifications],
            status=Notification.Status.SENDING,
            claimed_at__in={n.claimed_at for n in notifications},
        ),
        status=Notification.Status.PENDING,
        attempts=F("attempts") - 1,
        # Marked as handed over, as the publishing below does it, so that the sweep does not queue them once
        # more while they wait in the broker; a refused publish clears the mark (_publish).
        handed_at=db_now(),
        updated_at=db_now(),
    )
    if returned:
        returned = set(returned)
        _publish([n.pk for n in notifications if n.pk in returned])


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (from 1): doubling from the base, plus up to 20% jitter
    so notices that failed together (a provider outage) do not all come back in the same second."""
    base = _seconds_setting("NOTIFICATION_RETRY_BASE_SECONDS", RETRY_BASE_SECONDS) * 2 ** (attempt - 1)
    return base * (1 + random.uniform(0, RETRY_JITTER))


# The host's notices of a participant's answer (sessions_app.services.participant_answers).
HOST_ANSWER_KINDS = (
    Notification.Kind.PARTICIPANT_CANCELLED,
    Notification.Kind.PARTICIPANT_ASKED_TIME,
    Notification.Kind.PARTICIPANT_MESSAGE,
)


def _no_longer_applies(notification: Notification) -> str:
    """Why a notice claimed for sending must not go out after all, or "" when it still applies.

    The services withdraw pending notices when a session or participant changes, but a row a worker holds
    at that moment (or one orphaned by a dead worker and released later) escapes them: so the worker reads
    the session and participant again, after its claim, and decides here."""
    if notification.kind in ACCOUNT_KINDS:
        return _account_notice_no_longer_applies(notification)
    session, participant = notification.session, notification.participant
    if session is None or (participant is None and notification.host is None):
        return "Withdrawn: the recipient was removed."
    Kind = Notification.Kind
    if participant is not None and participant.removed_at is not None and notification.kind != Kind.REMOVED:
        return f"Withdrawn: {participant.name} was removed from the session."
    # A host's notice of a participant's answer tells what happened, even (above all) once the session was
    # cancelled by it, ended, or moved to another host.
    if notification.kind in (Kind.CANCELLATION, Kind.REMOVED, *HOST_ANSWER_KINDS):
        return ""
    if session.status == Session.Status.CANCELLED:
        return "Withdrawn: the session was cancelled."
    if session.status == Session.Status.REMOVED:
        return "Withdrawn: the session was removed."
    if session.end_at <= timezone.now():
        return "Withdrawn: the session has ended."
    if notification.host_id is not None and notification.host_id != session.host_id:
        return "Withdrawn: the session is now with another host."
    if participant is not None and _CHANNEL_FOR_METHOD.get(participant.invite_method) is None:
        return f"Withdrawn: {participant.name} is set to receive no messages."
    return ""


def _account_notice_no_longer_applies(notification: Notification) -> str:
    """An email about an account goes out only while its link still works: the invitation is still
    waiting with the link this email was written for (a re-sent one has a new link and its own email), the
    new address is still to be confirmed by an active account."""
    from accounts.notices import email_change_user_of, invitation_of

    if notification.kind == Notification.Kind.TEAM_INVITE:
        invitation = invitation_of(notification)
        if invitation is None:
            return "Withdrawn: the invitation no longer exists."
        if invitation.nonce != notification.context.get("nonce"):
            return "Withdrawn: the invitation was sent again with a new link."
        if invitation.status != "pending":
            return f"Withdrawn: the invitation was {invitation.status}."
        return ""
    user = email_change_user_of(notification)
    if user is None or not user.is_active:
        return "Withdrawn: the account is no longer active."
    if user.email == notification.context.get("new_email"):
        return "Withdrawn: the address is already confirmed."
    return ""


def _follow_address(notification: Notification) -> None:
    """A notice claimed before the host corrected the participant's address goes to the current one."""
    participant = notification.participant
    # Read once: a phone number is formatted anew on every read.
    address = participant.address if participant is not None else ""
    if not address:
        return
    channel = _CHANNEL_FOR_METHOD[participant.invite_method]
    if (notification.channel, notification.recipient) != (channel, address):
        notification.channel, notification.recipient = channel, address
        Notification.objects.filter(pk=notification.pk).update(channel=channel, recipient=address)


def notice_deliver(*, notification_id: int) -> Notification | None:
    """Send one due notice once. Returns the row, or None when it was not due or another worker has it."""
    claimed = _claim([notification_id])
    if not claimed:
        return None
    notification = _deliver(claimed[0])
    # The moments were written by the database's clock; the caller gets them as they were stored.
    notification.refresh_from_db(fields=["send_at", "sent_at", "updated_at"])
    return notification


def _batch_seconds() -> float:
    # Half the task's soft time limit: the last notice claimed before it runs out still has its whole
    # provider time-out before the soft limit, and the hard limit (which kills a prefork process mid-send,
    # so its notice may go out twice) is never reached by a batch, only by a single stuck send.
    return float(getattr(settings, "CELERY_TASK_SOFT_TIME_LIMIT", None) or 60) / 2


def _worker_stopping() -> bool:
    # Set in a worker's main process by a warm shutdown (a deploy): a thread of the threads pool then stops
    # claiming, so the worker exits within one send rather than after the whole batch. The flags hold an
    # exit code, and a clean one is 0: set means not None (nor False), as Celery reads them.
    from celery.worker import state

    return any(flag is not None and flag is not False for flag in (state.should_stop, state.should_terminate))


def notices_deliver(*, notification_ids: list[int]) -> int:
    """Send a batch of due notices (one delivery task): claim them all at once, then send them one after the
    other, each outcome recorded before the next send. A worker killed mid-batch has therefore at most one
    notice per thread or process that the provider took and the row does not say, the only one that can go
    out twice; the rows it claimed and never reached go back to pending when their claim lapses
    (_lapsed_claims_release). Rows another worker has, or that are no longer due, are passed over.

    A batch that has run for its time budget (half the task soft time limit), or whose worker is shutting
    down, gives the rows it has not reached back and hands them to the broker as a new task. Returns how
    many notices it delivered (sent, failed, withdrawn or put back for a retry)."""
    started = time.monotonic()
    pending = _claim_rows(notification_ids)
    loaded: dict[int, Notification] = {}
    read_at, delivered = 0.0, 0
    while pending:
        if delivered and (time.monotonic() - started > _batch_seconds() or _worker_stopping()):
            _give_back(pending)
            break
        if pending[0].pk not in loaded or time.monotonic() - read_at > FRESH_READ_SECONDS:
            window = pending[: _read_window(len(pending))]
            loaded, read_at = {row.pk: row for row in _read_held(window)}, time.monotonic()
            # A row the read left out is no longer this worker's: it is passed over.
            pending = [claim for claim in window if claim.pk in loaded] + pending[len(window) :]
            if not loaded:
                continue
        _deliver(loaded.pop(pending.pop(0).pk))
        delivered += 1
        _pace.seconds = (time.monotonic() - started) / delivered
    return delivered


def _deliver(notification: Notification) -> Notification:
    """Decide, render, send and record one claimed notice."""
    if reason := _no_longer_applies(notification):
        return _finish(notification, status=Notification.Status.WITHDRAWN, error=reason)
    _follow_address(notification)
    contact = notification.participant.contact if notification.participant is not None else None
    if (
        notification.channel != Notification.Channel.EMAIL
        and contact is not None
        and contact.sms_opted_out_at is not None
    ):
        # They texted STOP (notifications.provider_events): sending anyway would ignore their wish, and
        # Twilio would refuse it (21610). Not retried; the host sees why and what to do.
        return _finish(
            notification,
            status=Notification.Status.FAILED,
            error=(
                f"Not sent: {notification.participant.name} replied STOP to our text messages. "
                "Ask them to text START, or switch them to email."
            ),
        )
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
        # The join link is a bearer secret (DESIGN.md rule 5): it exists in the message sent, never in the
        # database, the admin or the notices log.
        body=rendered.logged_text,
        sent_at=db_now(),
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
        send_at=db_now() + retry_delay(notification.attempts),
    )


def _finish(notification: Notification, *, status: str, error: str = "", **fields) -> Notification:
    # Only the worker holding the claim may finish the row: a worker that outlived its lease must not
    # overwrite the outcome of the one that took over.
    fields.update(status=status, last_error=error, updated_at=db_now())
    update_where(
        Notification,
        where={
            "pk": notification.pk,
            "status": Notification.Status.SENDING,
            "claimed_at": notification.claimed_at,
        },
        values=fields,
        using=router.db_for_write(Notification),
    )
    for name, value in fields.items():
        setattr(notification, name, value)
    if status == Notification.Status.FAILED:
        logger.warning("Notice %s failed: %s", notification.pk, error)
    return notification


def _lapsed_claims_release() -> None:
    """Rows a worker claimed and never finished (it was killed mid-send) go back to pending once the lease
    has run out; the provider may have taken the message already, so this can send it twice, which is the
    price of never losing one. A row that has used all its attempts this way (it kills its worker) fails."""
    lapsed = Notification.objects.filter(
        status=Notification.Status.SENDING,
        claimed_at__lt=db_now() - _seconds_setting("NOTIFICATION_CLAIM_LEASE_SECONDS", CLAIM_LEASE_SECONDS),
    )
    lapsed.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Notification.Status.FAILED,
        last_error=f"Gave up after {MAX_ATTEMPTS} attempts: the worker stopped while sending it.",
        updated_at=db_now(),
    )
    lapsed.update(status=Notification.Status.PENDING, handed_at=None, updated_at=db_now())


def _due():
    # Served by the partial index notification_due_idx (send_at WHERE status = 'pending'), so the cost
    # follows the number of due rows, not the future reminders and the history in the table.
    pending = Notification.objects.filter(status=Notification.Status.PENDING, send_at__lte=db_now())
    return pending.order_by("send_at")


def notices_due_ids(*, limit: int = SWEEP_CHUNK) -> list[int]:
    """Ids of every notice due now, handed over or not, after releasing lapsed claims: for delivering in
    this process (notices_deliver_due)."""
    _lapsed_claims_release()
    return list(_due().values_list("pk", flat=True)[:limit])


def notices_hand_over_due(*, limit: int | None = None) -> list[int]:
    """The periodic sweep (DESIGN.md rule 2): hand to the workers the due rows nobody has handed over in the
    last NOTIFICATION_REHAND_SECONDS, and return their ids.

    A row handed over is marked (handed_at) until a worker claims it, so while workers drain a backlog the
    sweep does not queue the same rows on every tick; a row whose message the broker lost (a Redis restart)
    is handed again once the mark is older than the re-hand interval. The rows are locked with SKIP LOCKED
    while they are marked, so two sweeps running at once (two beats) hand each row once.

    One sweep hands over every due row, SWEEP_CHUNK at a time, up to `limit` rows handed over and not yet
    claimed (NOTIFICATION_SWEEP_QUEUE_ROWS), and stops early when half the sweep interval has gone, so
    sweeps never overlap. Reminders of many sessions starting at 9:00 all go to the workers on the first
    tick; a backlog beyond what the workers send in the re-hand interval waits in the table rather than in
    Redis. The sweep's own message has a queue of its own (CELERY_TASK_ROUTES), so it never waits behind
    the notices it handed over.
    """
    _lapsed_claims_release()
    if limit is None:
        limit = int(getattr(settings, "NOTIFICATION_SWEEP_QUEUE_ROWS", SWEEP_QUEUE_ROWS))
    deadline = time.monotonic() + float(getattr(settings, "NOTIFICATION_SWEEP_SECONDS", 10)) / 2
    rehand_before = db_now() - _seconds_setting("NOTIFICATION_REHAND_SECONDS", REHAND_SECONDS)
    queued = _due().filter(handed_at__gte=rehand_before)[:limit].count()
    handed: list[int] = []
    while (room := min(SWEEP_CHUNK, limit - queued - len(handed))) > 0:
        # A chunk's rows are locked only while they are marked, not while the next chunk is found.
        with transaction.atomic():
            ids = list(
                _due()
                .filter(Q(handed_at__isnull=True) | Q(handed_at__lt=rehand_before))
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:room]
            )
            Notification.objects.filter(pk__in=ids).update(handed_at=db_now())
        handed += ids
        if not _publish(ids) or len(ids) < room or time.monotonic() > deadline:
            break
    return handed


def notices_deliver_due() -> int:
    """Deliver every due notice in this process, in the workers' batches; used by tests and the management
    command."""
    due, size = notices_due_ids(), _delivery_batch()
    return sum(
        notices_deliver(notification_ids=due[start : start + size]) for start in range(0, len(due), size)
    )


def notices_erase_recipient(*, participants: list[Participant]) -> int:
    """Erase a person from the notices sent to them, on their request (contacts.services.contact_erase):
    the address and the kept copy of what was said (it greets them by name) go; the kind, channel, status
    and times stay, so the log still shows that a notice went out. One not yet sent is withdrawn, with
    nobody left to send it to. Returns how many notices were erased."""
    notices = Notification.objects.filter(participant__in=participants)
    erased = notices.update(recipient="", subject="", body="", last_error="", updated_at=db_now())
    notices.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.WITHDRAWN,
        last_error="Withdrawn: the recipient's data was erased.",
        updated_at=db_now(),
    )
    return erased
