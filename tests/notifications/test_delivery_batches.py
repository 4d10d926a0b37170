"""Notices at the provider's speed: the sweep hands every due row over in one tick, one delivery task carries
a batch of notices, a batch claims one notice at a time, and a delivery costs the same few queries whatever
the batch (issue: notices at the speed of the provider). With real processes: tests/integration and
bench/notices.py."""

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
from notifications.services import notices_deliver, notices_hand_over_due
from sessions_app.models import Participant, Session
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


def _statuses(ids: list[int]) -> list[str]:
    by_id = dict(Notification.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [by_id[pk] for pk in ids]


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
    services._claim(tasks_published[0][0])
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


def test_a_batch_holds_one_claim_at_a_time(host, monkeypatch):
    due = _due_sms(host, 5)
    claimed_while_sending = []

    def send_text(*, channel, to, body):
        claimed_while_sending.append(Notification.objects.filter(status=Notification.Status.SENDING).count())
        return f"SM{to}"

    monkeypatch.setattr(channels, "send_text", send_text)

    assert notices_deliver(notification_ids=due) == 5

    # A worker killed mid-batch leaves one notice per thread that may have reached the provider, not five.
    assert claimed_while_sending == [1, 1, 1, 1, 1]
    assert _statuses(due) == [Notification.Status.SENT] * 5


@pytest.mark.parametrize("stop", ["budget", "warm shutdown"])
def test_a_batch_hands_the_rest_back_when_its_time_is_up(host, tasks_published, monkeypatch, stop):
    due = _due_sms(host, 4)
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: f"SM{to}")
    if stop == "budget":
        monkeypatch.setattr(services, "_batch_seconds", lambda: 0.0)
    else:
        monkeypatch.setattr(worker_state, "should_stop", 0)

    assert notices_deliver(notification_ids=due) == 1

    assert _statuses(due) == [Notification.Status.SENT] + [Notification.Status.PENDING] * 3
    assert tasks_published == [due[1:]]


def test_a_batch_passes_over_rows_that_are_not_due_or_already_claimed(host, monkeypatch):
    due = _due_sms(host, 2)
    later = _due_sms(host, 1, send_at=timezone.now() + timedelta(hours=1))
    services._claim(due[0])
    sent = []
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: sent.append(to) or "SM1")

    assert notices_deliver(notification_ids=[*due, *later]) == 1

    assert _statuses([*due, *later]) == ["sending", "sent", "pending"]
    assert len(sent) == 1


@pytest.mark.parametrize("count", [1, 10])
def test_a_delivery_costs_three_queries_whatever_the_batch(host, monkeypatch, count):
    due = _due_sms(host, count)
    monkeypatch.setattr(channels, "send_text", lambda *, channel, to, body: "SM1")

    with CaptureQueriesContext(connection) as queries:
        notices_deliver(notification_ids=due)

    # The claim (one UPDATE), the row with what rendering reads (one SELECT), the outcome (one UPDATE):
    # no transaction of its own, no second read of the row, no lazy load of the session's host or
    # organisation while rendering.
    assert len(queries) == 3 * count, [q["sql"][:80] for q in queries]
    assert _statuses(due) == [Notification.Status.SENT] * count


def test_the_sweep_has_a_queue_of_its_own_that_every_worker_consumes():
    router = celery_app.amqp.router
    sweep = router.route({}, "notifications.tasks.sweep_due_notices")["queue"]
    deliveries = router.route({}, "notifications.tasks.deliver_notices")["queue"]

    assert (sweep.name, deliveries.name) == ("sweep", "celery")
    # With Celery's defaults both queues would be bound with the routing key "celery", and every delivery
    # task would be copied into the sweep's queue.
    assert sweep.routing_key != deliveries.routing_key
    assert set(celery_app.amqp.queues.consume_from) == {"celery", "sweep"}
