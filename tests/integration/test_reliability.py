"""The outbox keeps its promise with real processes (DESIGN.md rule 2): PostgreSQL, Redis, Celery worker
processes and beat, and the local fake of Twilio's API, which records every message it accepts.

* a worker killed with kill -9 mid-delivery: every notice is delivered, and a notice is sent twice only when
  the worker died between the provider's answer and recording it (at most one per pool process);
* the provider answering 503 for 30 seconds: every notice arrives after it recovers, retried with backoff,
  within the attempts the policy allows;
* Redis restarted (its queue lost) mid-delivery: beat's sweep hands the rows again and nothing is lost;
* with the production policy and sweep interval, a reminder goes out within a minute of its time.

The first three run the workers with a short claim lease, re-hand interval and retry base (POLICY), and
beat sweeping every second, so each takes well under a minute and a half. Each test prints what it saw.
"""

import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from redis import Redis

from contacts.models import InviteMethod
from notifications.models import Notification
from notifications.services import MAX_ATTEMPTS, RETRY_JITTER
from sessions_app.models import Participant
from tests.factories import SessionFactory
from tests.support.fake_twilio import FakeTwilio, _Fault

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RETRY_BASE_SECONDS = 1.2
POLICY = {
    # Longer than any send here takes (the fake answers within 50 ms; PROVIDER_TIMEOUT_SECONDS is 5 in tests).
    "NOTIFICATION_CLAIM_LEASE_SECONDS": 8,
    "NOTIFICATION_REHAND_SECONDS": 4,
    # Six attempts then need at least 1.2 * (1 + 2 + 4 + 8 + 16) = 37.2 s, more than the 30 s outage of
    # test (b): however the attempts fall, the last one comes after the provider is back.
    "NOTIFICATION_RETRY_BASE_SECONDS": RETRY_BASE_SECONDS,
}
OUTAGE_SECONDS = 30
DRAIN_TIMEOUT = 60


class RecordingFakeTwilio(FakeTwilio):
    """The fake Twilio, noting when each request came; it can answer 503 to everything for a while, and take
    its time before accepting a message, as a real provider does."""

    def __init__(self):
        super().__init__()
        self.outage_until = 0.0
        self.latency = 0.0

    def start(self) -> "RecordingFakeTwilio":
        super().start()
        report = self._server.handle_error

        def handle_error(request, client_address):
            # A worker killed mid-request leaves nobody to answer to; that is the point, not an error.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                report(request, client_address)

        self._server.handle_error = handle_error
        return self

    def _take_fault(self):
        time.sleep(self.latency)
        if time.time() < self.outage_until:
            return _Fault(status=503, code=20503, remaining=None)
        return super()._take_fault()

    def _log_request(self, entry: dict) -> None:
        super()._log_request({**entry, "at": time.time()})


class RedisServer:
    """A redis-server of this test's own, on a free port, that can be killed and started again on it (the
    machine's shared Redis is never touched)."""

    def __init__(self, directory: Path):
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def queue_length(self, queue: str = "celery") -> int:
        with Redis(host="127.0.0.1", port=self.port) as client:
            return client.llen(queue)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    # Requested before celery_processes, so the workers are stopped while this Redis still runs.
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


@pytest.fixture
def twilio():
    with RecordingFakeTwilio() as fake:
        yield fake


def _wait_for(predicate, *, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def _due_sms_notices(
    host, count: int, *, kind: str = Notification.Kind.INVITE, send_at=None
) -> dict[str, int]:
    """`count` SMS notices (due invites by default), one per participant, each to its own number:
    {number: notification id}."""
    notices = []
    per_session = 50
    for first in range(0, count, per_session):
        start_at = timezone.now() + timedelta(days=1 + first // per_session)
        session = SessionFactory(host=host, start_at=start_at)
        participants = Participant.objects.bulk_create(
            Participant(
                session=session,
                name=f"Participant {n}",
                invite_method=InviteMethod.SMS,
                phone=f"+44791{n:07d}",
                time_zone="Europe/London",
            )
            for n in range(first, min(first + per_session, count))
        )
        notices += [
            Notification(
                organization_id=session.organization_id,
                session=session,
                participant=participant,
                kind=kind,
                channel=Notification.Channel.SMS,
                recipient=str(participant.phone),
                send_at=send_at or timezone.now(),
                dedupe_key=f"reliability:{participant.pk}",
            )
            for participant in participants
        ]
    return {n.recipient: n.pk for n in Notification.objects.bulk_create(notices)}


def _all_sent(count: int):
    return lambda: Notification.objects.filter(status=Notification.Status.SENT).count() == count


def _status_summary() -> dict:
    return dict(Counter(Notification.objects.values_list("status", flat=True)))


def _attempts_histogram() -> dict[int, int]:
    return dict(sorted(Counter(Notification.objects.values_list("attempts", flat=True)).items()))


def _check_every_notice_delivered(twilio: FakeTwilio, numbers: dict[str, int]) -> int:
    """Every notice reached the provider and its row records one of the messages; returns how many were
    sent more than once."""
    messages = twilio.messages
    sids = defaultdict(set)
    for message in messages:
        sids[message["to"]].add(message["sid"])
    assert set(sids) == set(numbers), f"never delivered: {sorted(set(numbers) - set(sids))[:10]}"
    for notice in Notification.objects.all():
        assert notice.status == Notification.Status.SENT
        assert notice.provider_message_id in sids[notice.recipient]
    return len(messages) - len(numbers)


def test_killing_a_worker_mid_delivery_loses_no_notice(celery_processes, twilio, host):
    count, concurrency = 500, 4
    # While a worker waits for the provider, the provider may already have the message: kill -9 at that
    # moment, and the notice goes out again after the claim lapses. The latency makes that moment likely.
    twilio.latency = 0.05
    numbers = _due_sms_notices(host, count)
    [worker] = celery_processes.start_workers(twilio=twilio, concurrency=concurrency, env=POLICY)
    celery_processes.start_beat(twilio=twilio, env=POLICY)
    started = time.monotonic()

    assert _wait_for(lambda: len(twilio.messages) >= count // 5, timeout=30, interval=0.02)
    worker.kill()
    accepted_at_kill = len(twilio.messages)
    in_flight = Notification.objects.filter(status=Notification.Status.SENDING).count()
    assert accepted_at_kill < count, "the worker finished before it could be killed"
    killed_after = time.monotonic() - started
    celery_processes.start_workers(twilio=twilio, concurrency=concurrency, env=POLICY)
    replaced_after = time.monotonic() - started

    assert _wait_for(_all_sent(count), timeout=DRAIN_TIMEOUT), _status_summary()
    drained = time.monotonic() - started
    duplicates = _check_every_notice_delivered(twilio, numbers)
    print(
        f"\n[kill -9] notices={count} concurrency={concurrency} accepted before the kill={accepted_at_kill} "
        f"claimed by the dead worker={in_flight} delivered={count} sent twice={duplicates} "
        f"attempts={_attempts_histogram()} killed at {killed_after:.1f} s, new worker up at "
        f"{replaced_after:.1f} s, drained in {drained:.1f} s"
    )
    # Only a notice the provider took just before its worker died, unrecorded, goes out again: at most
    # one per pool process.
    assert duplicates <= min(in_flight, concurrency)


def test_a_provider_outage_delays_notices_but_loses_none(celery_processes, twilio, host):
    count = 60
    celery_processes.start_workers(twilio=twilio, concurrency=2, env=POLICY)
    celery_processes.start_beat(twilio=twilio, env=POLICY)
    twilio.outage_until = recovered_at = time.time() + OUTAGE_SECONDS
    numbers = _due_sms_notices(host, count)
    started = time.monotonic()

    assert _wait_for(_all_sent(count), timeout=OUTAGE_SECONDS + DRAIN_TIMEOUT), _status_summary()
    drained = time.monotonic() - started
    duplicates = _check_every_notice_delivered(twilio, numbers)
    assert duplicates == 0
    requests = defaultdict(list)
    for request in twilio.requests:
        requests[request["to"]].append(request)
    attempts = dict(Notification.objects.values_list("recipient", "attempts"))
    # Each wait is at least the policy's (measured at the fake, so it includes the worker's own delays) and
    # at most its jittered bound plus the sweep's tick and the worker's queue.
    slack = 5.0
    lateness = 0.0
    for number, seen in requests.items():
        *failures, success = sorted(seen, key=lambda r: r["at"])
        assert all(r["status"] == 503 and r["at"] < recovered_at for r in failures), failures
        assert success["status"] == 201 and success["at"] >= recovered_at
        assert 2 <= len(seen) == attempts[number] <= MAX_ATTEMPTS
        for attempt, (before, after) in enumerate(zip(seen, seen[1:], strict=False), start=1):
            wait = RETRY_BASE_SECONDS * 2 ** (attempt - 1)
            gap = after["at"] - before["at"]
            assert wait <= gap <= wait * (1 + RETRY_JITTER) + slack, (number, attempt, gap)
            lateness = max(lateness, gap - wait * (1 + RETRY_JITTER))
    last_arrival = max(r["at"] for seen in requests.values() for r in seen)
    print(
        f"\n[503 for {OUTAGE_SECONDS} s] notices={count} delivered={count} sent twice={duplicates} "
        f"requests={sum(len(s) for s in requests.values())} attempts={_attempts_histogram()} "
        f"retries at most {lateness:.1f} s after their jittered wait; "
        f"last delivered {last_arrival - recovered_at:.1f} s after the provider recovered; "
        f"drained in {drained:.1f} s"
    )


def test_a_redis_restart_mid_delivery_loses_no_notice(own_redis, celery_processes, twilio, host):
    count, concurrency = 400, 2
    broker = own_redis.url
    celery_processes.start_workers(twilio=twilio, concurrency=concurrency, broker_url=broker, env=POLICY)
    celery_processes.start_beat(twilio=twilio, broker_url=broker, env=POLICY)
    numbers = _due_sms_notices(host, count)
    started = time.monotonic()

    assert _wait_for(lambda: len(twilio.messages) >= count // 5, timeout=30, interval=0.02)
    queued = own_redis.queue_length()
    own_redis.kill()
    accepted_at_restart = len(twilio.messages)
    restarted_after = time.monotonic() - started
    # The sweep had handed every row at once: what the workers had not taken yet is lost with Redis.
    assert queued > 0 and accepted_at_restart < count, (queued, accepted_at_restart)
    time.sleep(1)
    own_redis.start()

    # A Celery worker can die on a lost Redis connection (kombu's Redis transport fails while restoring
    # unacknowledged messages); in production the process manager restarts it, as this supervisor does.
    # Nothing was only in the broker, so the restarted worker and beat's sweep deliver the rest.
    all_sent = _all_sent(count)

    def supervised_all_sent() -> bool:
        celery_processes.restart_exited_workers()
        return all_sent()

    assert _wait_for(supervised_all_sent, timeout=DRAIN_TIMEOUT), _status_summary()
    drained = time.monotonic() - started
    duplicates = _check_every_notice_delivered(twilio, numbers)
    print(
        f"\n[Redis restart] notices={count} accepted before the restart={accepted_at_restart} "
        f"messages lost with Redis={queued} delivered={count} sent twice={duplicates} "
        f"attempts={_attempts_histogram()} restarted at {restarted_after:.1f} s, drained in {drained:.1f} s, "
        f"workers restarted by the supervisor={celery_processes.restarts}"
    )
    assert duplicates <= concurrency


def test_a_reminder_goes_out_within_a_minute_of_its_time(celery_processes, twilio, host):
    # The production policy and sweep interval: nothing hands a reminder over but beat's sweep.
    celery_processes.start_workers(twilio=twilio)
    celery_processes.start_beat(twilio=twilio, sweep_seconds=10)
    send_at = timezone.now() + timedelta(seconds=3)
    _due_sms_notices(host, 1, kind=Notification.Kind.REMINDER, send_at=send_at)

    assert _wait_for(_all_sent(1), timeout=60), _status_summary()
    [message] = twilio.requests
    late = message["at"] - send_at.timestamp()
    print(f"\n[reminder] sent {late:.1f} s after its send_at (beat sweeping every 10 s)")
    assert 0 <= late < 60
