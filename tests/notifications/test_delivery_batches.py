"""Notices at the provider's speed: the sweep hands every due row over in one tick, one delivery task carries
a batch of notices, a batch claims its notices in one query and reads them in another, and records each
outcome before the next send (issue: notices at the speed of the provider). With real processes:
tests/integration and bench/notices.py."""

from datetime import timedelta

import pytest
from celery.worker import state as worker_state
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from contacts.models import InviteMethod
from notifications import channels, services, tasks
from notifications.models import Notification
from notifications.services import notice_deliver, notices_deliver, notices_deliver_due, notices_hand_over_due
from sessions_app.models import Participant, Session
from sessions_app.services import session_cancel
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks_published(monkeypatch):
    """Each delivery task handed to the broker (its list of ids), instead of publishing it."""
    published: list[list[int]] = []
    monkeypatch.setattr(tasks.deliver_notices, "delay", published.append)
    return published


def _due_sms(host, count: int, *, send_at=None) -> list[int]:
    # A day of its own for each session: a host's sessions may not overlap (an exclusion constraint).
    days = 1 + Session.objects.filter(host=host).count()
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=days))
    participants = Participant.objects.bulk_create(
        Participant(
            session=session,
            name=f"Participant {n}",
            invite_method=InviteMethod.SMS,
            phone=f"+44791{n:07d}",
            time_zone="Europe/London",
        )
        for n in range(count)
    )
    notices = Notification.objects.bulk_create(
        Notification(
            organization_id=session.organization_id,
            session=session,
            participant=participant,
            kind=Notification.Kind.REMINDER,
            channel=Notification.Channel.SMS,
            recipient=str(participant.phone),
            send_at=send_at or timezone.now() - timedelta(seconds=1),
            dedupe_key=f"batch:{participant.pk}",
        )
        for participant in participants
    )
    return [n.pk for n in notices]


def _verbs(queries) -> list[str]:
    """Each statement's verb; on PostgreSQL a statement prepared on the connection (config.prepared) counts
    as what it runs, and preparing it as nothing."""
    with connection.cursor() as cursor:
        prepared = {}
        if connection.vendor == "postgresql":
            cursor.execute("SELECT name, statement FROM pg_prepared_statements")
            prepared = {name: statement.split(" AS ", 1)[1] for name, statement in cursor.fetchall()}
    verbs = []
    for query in queries:
        verb, rest = query["sql"].split(None, 1)
        if verb == "EXECUTE":
            verb = prepared[rest.split("(", 1)[0].strip().lower()].split(None, 1)[0]
        if verb != "PREPARE":
            verbs.append(verb)
    return verbs


def _statuses(ids: list[int]) -> list[str]:
    by_id = dict(Notification.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [by_id[pk] for pk in ids]


def _attempts(ids: list[int]) -> list[int]:
    by_id = dict(Notification.objects.filter(pk__in=ids).values_list("pk", "attempts"))
    return [by_id[pk] for pk in ids]


def _taken_over(notification_id: int) -> None:
    """This worker's claim on the row lapsed (its lease ran out while it waited), and another worker has
    claimed the row since."""
    Notification.objects.filter(pk=notification_id).update(claimed_at=timezone.now() - timedelta(hours=1))
    services._lapsed_claims_release()
    assert len(services._claim([notification_id])) == 1


def test_one_sweep_hands_over_every_due_row_however_many_chunks_it_takes(host, tasks_published, monkeypatch):
    monkeypatch.setattr(services, "SWEEP_CHUNK", 10)
    due = _due_sms(host, 35)

    handed = notices_hand_over_due()

    assert sorted(handed) == sorted(due)
    assert sorted(pk for batch in tasks_published for pk in batch) == sorted(due)
    assert not Notification.objects.filter(pk__in=due, handed_at__isnull=True).exists()


def test_the_sweep_stops_at_the_rows_queued_and_not_yet_claimed(host, tasks_published, monkeypatch, settings):
    monkeypatch.setattr(services, "SWEEP_CHUNK", 10)
    settings.NOTIFICATION_SWEEP_QUEUE_ROWS = 25
    _due_sms(host, 35)

    assert len(notices_hand_over_due()) == 25
    assert notices_hand_over_due() == []
    services._claim([tasks_published[0][0]])
    assert len(notices_hand_over_due()) == 1


def test_the_sweep_stops_when_half_its_interval_has_gone(host, tasks_published, monkeypatch, settings):
    monkeypatch.setattr(services, "SWEEP_CHUNK", 10)
    settings.NOTIFICATION_SWEEP_SECONDS = 0
    due = _due_sms(host, 35)

    first = notices_hand_over_due()

    # One chunk per call once the budget is spent; the next tick takes the next chunk.
    assert len(first) == 10
    assert len(notices_hand_over_due()) == 10
    assert not set(first) - set(due)


def test_one_delivery_task_carries_a_batch_of_notices(host, tasks_published, settings):
    settings.NOTIFICATION_DELIVERY_BATCH = 20
    due = _due_sms(host, 45)

    handed = notices_hand_over_due()

    assert [len(batch) for batch in tasks_published] == [20, 20, 5]
    assert [pk for batch in tasks_published for pk in batch] == handed
    assert sorted(handed) == sorted(due)


def test_a_batch_claim_takes_only_the_rows_pending_and_due(host):
    due = _due_sms(host, 2)
    later = _due_sms(host, 1, send_at=timezone.now() + timedelta(hours=1))
    sent, withdrawn, elsewhere = _due_sms(host, 3)
    Notification.objects.filter(pk=sent).update(status=Notification.Status.SENT)
    Notification.objects.filter(pk=withdrawn).update(status=Notification.Status.WITHDRAWN)
    services._claim([elsewhere])
    others = [*later, sent, withdrawn, elsewhere]
    before = list(
        Notification.objects.filter(pk__in=others).values_list("pk", "attempts", "claimed_at", "status")
    )

    claimed = services._claim([elsewhere, due[1], *later, sent, due[0], withdrawn])

    assert [n.pk for n in claimed] == [due[1], due[0]]
    assert _statuses(due) == [Notification.Status.SENDING] * 2
    assert _attempts(due) == [1, 1]
    assert sorted(before) == sorted(
        Notification.objects.filter(pk__in=others).values_list("pk", "attempts", "claimed_at", "status")
    )


def test_a_batch_records_each_outcome_before_the_next_send(host, monkeypatch):
    due = _due_sms(host, 5)
    recorded_at_each_send = []

    def send_text(*, channel, to, body):
        recorded_at_each_send.append(Notification.objects.filter(status=Notification.Status.SENT).count())
        return f"SM{to}"

    monkeypatch.setattr(channels, "send_text", send_text)

    assert notices_deliver(notification_ids=due) == 5

    # A worker killed mid-batch leaves one notice per thread that the provider took and its row does not say
    # (the only one that can go out twice), not the whole batch.
    assert recorded_at_each_send == [0, 1, 2, 3, 4]
    assert _statuses(due) == [Notification.Status.SENT] * 5


@pytest.mark.parametrize("stop", ["budget", "warm shutdown"])
def test_a_batch_gives_back_what_it_did_not_reach_when_its_time_is_up(
    host, tasks_published, monkeypatch, stop
):
    due = _due_sms(host, 4)
    # A retry: the claim made it the third attempt, which the rows not reached must not have used up.
    Notification.objects.filter(pk__in=due).update(attempts=2)
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: f"SM{to}")
    if stop == "budget":
        monkeypatch.setattr(services, "_batch_seconds", lambda: 0.0)
    else:
        monkeypatch.setattr(worker_state, "should_stop", 0)

    assert notices_deliver(notification_ids=due) == 1

    assert _statuses(due) == [Notification.Status.SENT] + [Notification.Status.PENDING] * 3
    assert _attempts(due) == [3, 2, 2, 2]
    assert tasks_published == [due[1:]]
    # Handed over as they were published: the sweep does not queue them a second time meanwhile.
    assert notices_hand_over_due() == []


def test_a_batch_gives_back_only_the_rows_it_still_holds(host, tasks_published, monkeypatch):
    due = _due_sms(host, 3)
    monkeypatch.setattr(services, "_batch_seconds", lambda: 0.0)
    monkeypatch.setattr(services, "FRESH_READ_SECONDS", 3600)

    def send_text(*, channel, to, body):
        _taken_over(due[2])
        return f"SM{to}"

    monkeypatch.setattr(channels, "send_text", send_text)

    assert notices_deliver(notification_ids=due) == 1

    taken = Notification.objects.get(pk=due[2])
    assert _statuses(due) == [
        Notification.Status.SENT,
        Notification.Status.PENDING,
        Notification.Status.SENDING,
    ]
    assert taken.claimed_at > timezone.now() - timedelta(minutes=1)
    # This batch's attempt and the other worker's.
    assert taken.attempts == 2
    assert tasks_published == [[due[1]]]


def test_a_batch_passes_over_rows_that_are_not_due_or_already_claimed(host, monkeypatch):
    due = _due_sms(host, 2)
    later = _due_sms(host, 1, send_at=timezone.now() + timedelta(hours=1))
    services._claim([due[0]])
    sent = []
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: sent.append(to) or "SM1")

    assert notices_deliver(notification_ids=[*due, *later]) == 1

    assert _statuses([*due, *later]) == ["sending", "sent", "pending"]
    assert len(sent) == 1


def test_a_slow_batch_reads_its_rows_again_and_withdraws_what_no_longer_applies(host, monkeypatch):
    due = _due_sms(host, 3)
    session = Notification.objects.get(pk=due[0]).session
    # Every send takes longer than a read stays fresh (a provider at its time-out).
    monkeypatch.setattr(services, "FRESH_READ_SECONDS", 0)
    sent = []

    def send_text(*, channel, to, body):
        if not sent:
            # Cancelling withdraws pending notices only: the batch's other rows are claimed, so it is the
            # batch that must notice.
            session_cancel(actor=host, session=session, reason="Unwell")
        sent.append(to)
        return f"SM{to}"

    monkeypatch.setattr(channels, "send_text", send_text)

    assert notices_deliver(notification_ids=due) == 3

    assert len(sent) == 1
    assert _statuses(due) == [Notification.Status.SENT] + [Notification.Status.WITHDRAWN] * 2
    assert set(Notification.objects.filter(pk__in=due[1:]).values_list("last_error", flat=True)) == {
        "Withdrawn: the session was cancelled."
    }


def test_a_slow_batch_does_not_send_a_row_whose_claim_lapsed_meanwhile(host, monkeypatch):
    due = _due_sms(host, 3)
    monkeypatch.setattr(services, "FRESH_READ_SECONDS", 0)
    sent = []

    def send_text(*, channel, to, body):
        if not sent:
            _taken_over(due[1])
        sent.append(to)
        return f"SM{to}"

    monkeypatch.setattr(channels, "send_text", send_text)

    assert notices_deliver(notification_ids=due) == 2

    numbers = dict(Notification.objects.filter(pk__in=due).values_list("pk", "recipient"))
    assert sent == [numbers[due[0]], numbers[due[2]]]
    assert _statuses(due) == [Notification.Status.SENT, Notification.Status.SENDING, Notification.Status.SENT]


def test_a_row_finished_by_the_worker_that_took_over_keeps_that_outcome(host, monkeypatch):
    [notice] = _due_sms(host, 1)
    [stale] = services._claim([notice])
    # The claim lapsed before this worker recorded its send; another worker sent it and recorded that.
    Notification.objects.filter(pk=notice).update(claimed_at=timezone.now() - timedelta(hours=1))
    services._lapsed_claims_release()
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: "SM-other")
    notice_deliver(notification_id=notice)
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: "SM-stale")

    services._deliver(stale)

    row = Notification.objects.get(pk=notice)
    assert (row.status, row.provider_message_id, row.attempts) == (Notification.Status.SENT, "SM-other", 2)


@pytest.mark.parametrize("count", [1, 10])
def test_a_batch_costs_two_queries_plus_one_per_notice(host, monkeypatch, count):
    due = _due_sms(host, count)
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: "SM1")

    with CaptureQueriesContext(connection) as queries:
        notices_deliver(notification_ids=due)

    # The claim of the whole batch (one UPDATE), the rows with what rendering reads (one SELECT), then each
    # outcome (one UPDATE): no transaction of its own, no second read of a row, no lazy load of the
    # session's host or organisation while rendering.
    assert _verbs(queries) == ["UPDATE", "SELECT"] + ["UPDATE"] * count, [q["sql"][:80] for q in queries]
    assert "RETURNING" in queries[0]["sql"]
    assert _statuses(due) == [Notification.Status.SENT] * count


def test_delivering_in_process_goes_in_the_workers_batches(host, monkeypatch, settings):
    settings.NOTIFICATION_DELIVERY_BATCH = 20
    due = _due_sms(host, 25)
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: "SM1")

    with CaptureQueriesContext(connection) as queries:
        assert notices_deliver_due() == 25

    claims = [q for q in queries if "RETURNING" in q["sql"]]
    assert len(claims) == 2
    assert _statuses(due) == [Notification.Status.SENT] * 25


def test_the_sweep_has_a_queue_of_its_own_that_every_worker_consumes():
    router = celery_app.amqp.router
    sweep = router.route({}, "notifications.tasks.sweep_due_notices")["queue"]
    deliveries = router.route({}, "notifications.tasks.deliver_notices")["queue"]

    assert (sweep.name, deliveries.name) == ("sweep", "celery")
    # With Celery's defaults both queues would be bound with the routing key "celery", and every delivery
    # task would be copied into the sweep's queue.
    assert sweep.routing_key != deliveries.routing_key
    assert set(celery_app.amqp.queues.consume_from) == {"celery", "sweep"}


class _Clock:
    """services' time.monotonic, moved on by the fake provider: each send takes `send_seconds`."""

    def __init__(self, send_seconds: float):
        self.now, self.send_seconds = 1000.0, send_seconds

    def monotonic(self) -> float:
        return self.now


def _slow_provider(monkeypatch, send_seconds: float) -> tuple[list[list[int]], list[tuple[float, str]]]:
    """Sends that each take `send_seconds` on a clock of services' own; returns the ids of each read (with
    the moment it was made) and each send (with its moment)."""
    clock = _Clock(send_seconds)
    monkeypatch.setattr(services, "time", clock)
    reads, sends = [], []
    read = services._read

    def recorded_read(notification_ids):
        reads.append((clock.now, list(notification_ids)))
        return read(notification_ids)

    def send_text(*, channel, to, body):
        clock.now += clock.send_seconds
        sends.append((clock.now, to))
        return f"SM{to}"

    monkeypatch.setattr(services, "_read", recorded_read)
    monkeypatch.setattr(channels, "send_text", send_text)
    return reads, sends


def test_a_slow_batch_reads_each_row_about_once_and_none_older_than_a_fresh_read(host, monkeypatch):
    first, second = _due_sms(host, 6), _due_sms(host, 6)
    reads, sends = _slow_provider(monkeypatch, 0.4)

    assert notices_deliver(notification_ids=first) == 6
    # A thread's first batch reads all its rows; at 0.4 s a send, the fourth comes after the read is 1.2 s
    # old, and only what the next second will send (3 rows) is read again.
    assert [ids for _, ids in reads] == [first, first[3:]]

    reads.clear()
    assert notices_deliver(notification_ids=second) == 6

    # At the pace the thread has shown, each read is of what goes out within a second: each row read once.
    assert [ids for _, ids in reads] == [second[:3], second[3:]]
    assert _statuses(second) == [Notification.Status.SENT] * 6


def test_a_window_read_too_far_ahead_is_read_again_before_its_send(host, monkeypatch):
    first, second = _due_sms(host, 2), _due_sms(host, 6)
    reads, sends = _slow_provider(monkeypatch, 0.1)
    notices_deliver(notification_ids=first)
    # The provider slows down: the window the thread's pace asks for (all 6 rows) would go stale.
    services.time.send_seconds = 0.45
    reads.clear()

    assert notices_deliver(notification_ids=second) == 6

    numbers = dict(Notification.objects.filter(pk__in=second).values_list("pk", "recipient"))
    read_at = {}
    for moment, ids in reads:
        read_at.update({numbers[pk]: moment for pk in ids})
    # Every send went out on a read at most FRESH_READ_SECONDS old when the send began.
    for sent_at, to in sends[-6:]:
        assert sent_at - 0.45 - read_at[to] <= services.FRESH_READ_SECONDS
    # The first read was of all 6; once it was older than a second, the 3 rows left were read again.
    assert [len(ids) for _, ids in reads] == [6, 3]
