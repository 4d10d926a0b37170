"""The sweep that hands due notices to the workers, the claim lease, and the retry policy (DESIGN.md rule 2).
What happens with real worker processes, Redis and PostgreSQL is in tests/integration/test_reliability.py."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from contacts.models import InviteMethod
from notifications import tasks
from notifications.models import Notification
from notifications.services import (
    MAX_ATTEMPTS,
    RETRY_BASE_SECONDS,
    RETRY_JITTER,
    _claim,
    hand_over_after_commit,
    notice_create,
    notices_due_ids,
    notices_hand_over_due,
    retry_delay,
)
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """The ids handed to the broker, instead of publishing them."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.deliver_notices, "delay", ids.extend)
    return ids


@pytest.fixture
def participants(host):
    session = SessionFactory(host=host)
    return [
        ParticipantFactory(session=session, invite_method=InviteMethod.SMS, phone=f"+4479111234{n:02d}")
        for n in range(3)
    ]


def _notice(participant, *, send_at=None, key: str = "") -> Notification:
    return notice_create(
        participant=participant, kind=Notification.Kind.INVITE, send_at=send_at or timezone.now(), key=key
    )


def test_sweep_hands_each_due_notice_once_while_it_waits_for_a_worker(participants, published, settings):
    settings.NOTIFICATION_REHAND_SECONDS = 60
    due = [_notice(p) for p in participants]
    future = _notice(participants[0], send_at=timezone.now() + timedelta(hours=1), key="later")

    first = notices_hand_over_due()
    again = notices_hand_over_due()

    assert sorted(first) == sorted(n.pk for n in due)
    assert published == first
    assert again == []
    assert all(n.handed_at is not None for n in Notification.objects.filter(pk__in=first))
    assert Notification.objects.get(pk=future.pk).handed_at is None


def test_sweep_tops_the_queue_up_to_one_batch_while_workers_drain_a_backlog(participants, published):
    first, second, third = (_notice(p) for p in participants)

    assert notices_hand_over_due(limit=2) == [first.pk, second.pk]
    assert notices_hand_over_due(limit=2) == []
    _claim([first.pk])
    assert notices_hand_over_due(limit=2) == [third.pk]


def test_sweep_hands_a_notice_again_when_its_message_was_lost(participants, published, settings):
    settings.NOTIFICATION_REHAND_SECONDS = 60
    notice = _notice(participants[0])
    notices_hand_over_due()

    with time_machine.travel(timezone.now() + timedelta(seconds=59)):
        assert notices_hand_over_due() == []
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert notices_hand_over_due() == [notice.pk]

    assert published == [notice.pk, notice.pk]


def test_a_retry_is_handed_over_as_soon_as_it_is_due(participants, published, settings):
    settings.NOTIFICATION_REHAND_SECONDS = 60
    notice = _notice(participants[0])
    notices_hand_over_due()
    [claimed] = _claim([notice.pk])
    assert claimed.handed_at is None
    Notification.objects.filter(pk=notice.pk).update(
        status=Notification.Status.PENDING, send_at=timezone.now() + timedelta(seconds=30)
    )

    assert notices_hand_over_due() == []
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert notices_hand_over_due() == [notice.pk]


def test_a_lapsed_claim_goes_back_to_the_workers(participants, published, settings):
    settings.NOTIFICATION_CLAIM_LEASE_SECONDS = 10
    notice = _notice(participants[0])
    _claim([notice.pk])

    with time_machine.travel(timezone.now() + timedelta(seconds=9)):
        assert notices_hand_over_due() == []
        assert Notification.objects.get(pk=notice.pk).status == Notification.Status.SENDING
    with time_machine.travel(timezone.now() + timedelta(seconds=11)):
        assert notices_hand_over_due() == [notice.pk]

    notice.refresh_from_db()
    assert notice.status == Notification.Status.PENDING
    assert notice.attempts == 1


def test_a_notice_that_keeps_killing_its_worker_fails_after_the_last_attempt(
    participants, published, settings
):
    settings.NOTIFICATION_CLAIM_LEASE_SECONDS = 10
    notice = _notice(participants[0])
    Notification.objects.filter(pk=notice.pk).update(attempts=MAX_ATTEMPTS - 1)
    _claim([notice.pk])

    with time_machine.travel(timezone.now() + timedelta(seconds=11)):
        assert notices_hand_over_due() == []

    notice.refresh_from_db()
    assert notice.status == Notification.Status.FAILED
    assert notice.attempts == MAX_ATTEMPTS
    assert notice.last_error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")


def test_delivering_in_process_takes_due_notices_already_handed_over(participants, published):
    notice = _notice(participants[0])
    notices_hand_over_due()

    assert notices_due_ids() == [notice.pk]


def test_after_commit_hand_over_marks_the_notices_it_publishes(
    participants, published, django_capture_on_commit_callbacks
):
    due = _notice(participants[0])
    later = _notice(participants[1], send_at=timezone.now() + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        hand_over_after_commit([due, later, None])

    assert published == [due.pk]
    assert Notification.objects.get(pk=due.pk).handed_at is not None
    assert Notification.objects.get(pk=later.pk).handed_at is None
    assert notices_hand_over_due() == []


def test_notices_the_broker_refused_are_left_for_the_next_sweep(participants, monkeypatch, settings):
    settings.NOTIFICATION_DELIVERY_BATCH = 1
    due = [_notice(p) for p in participants]
    published = []

    def delay(notification_ids):
        if len(published) == 1:
            raise ConnectionError("Redis is down")
        published.extend(notification_ids)

    monkeypatch.setattr(tasks.deliver_notices, "delay", delay)
    handed = notices_hand_over_due()

    assert len(handed) == 3
    assert published == handed[:1]
    marks = dict(Notification.objects.filter(pk__in=[n.pk for n in due]).values_list("pk", "handed_at"))
    assert marks[handed[0]] is not None
    assert marks[handed[1]] is None and marks[handed[2]] is None
    monkeypatch.setattr(tasks.deliver_notices, "delay", published.extend)
    assert notices_hand_over_due() == handed[1:]


def test_retry_policy_six_attempts_within_the_hour():
    waits = [retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS)]

    for attempt, wait in enumerate(waits, start=1):
        base = RETRY_BASE_SECONDS * 2 ** (attempt - 1)
        assert timedelta(seconds=base) <= wait <= timedelta(seconds=base * (1 + RETRY_JITTER))
    # Even with the largest jitter on every wait, the last attempt comes well within the hour.
    assert RETRY_BASE_SECONDS * (2 ** (MAX_ATTEMPTS - 1) - 1) * (1 + RETRY_JITTER) < 3600


def test_retry_base_is_read_from_the_settings_at_call_time(settings):
    settings.NOTIFICATION_RETRY_BASE_SECONDS = 2

    assert timedelta(seconds=8) <= retry_delay(3) <= timedelta(seconds=8 * (1 + RETRY_JITTER))
