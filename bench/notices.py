"""Benchmark of notice delivery through the outbox (DESIGN.md rule 2) on PostgreSQL and Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
        python -m bench.notices            # or: make bench-notices

It drops and recreates its own database (bench_notices) on the server of DATABASE_URL, migrates it, and
purges the queue of CELERY_BROKER_URL, so point that at a Redis database nothing else uses. Celery workers
(--workers processes, each --pool and --concurrency: by default the production settings of
docker-compose.yml) and beat run as subprocesses and send, through the real twilio SDK, to the local fake of
Twilio's API (tests.support.fake_twilio, its own process). Then, each section chosen with --sections:

1. throughput: 10,000 due SMS notices are inserted, beat sweeping every second; the fake answers at once.
   Printed: notices per second end to end, the same for a plain loop calling the fake with the same SDK
   (the limit; run just before and just after, the ratio is to their mean), and the ratio; also
   notice_deliver in one process without a broker.
2. latency: the same with the fake taking --latency-ms (150 ms, as real providers do) to answer each
   message: notices per second, where the workers mostly wait for the provider.
3. reminders: 10,000 reminders due at the same moment, a minute after they are written (a clinic chain's
   09:00 reminders), with the production sweep interval (10 s) and the slow fake: how late each was sent
   (sent_at - send_at), its p50, p99 and maximum, and how many went out within 60 s.
4. claim: the sweep's select-and-mark of 1,000 due rows and the claim of one row, with 10,000 and then
   1,000,000 future pending reminders in the table, and the plan PostgreSQL uses (the partial index
   notification_due_idx), so the time can be seen not to grow with the table.

The settings are config.settings.test (DEBUG off, the fakes) with the production delivery policy and the
database's clock; the sweep interval is the production one in section 3 and one second elsewhere.
"""

import argparse
import itertools
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60
STOP_TIMEOUT = 30
SECTIONS = ("throughput", "latency", "reminders", "claim")
SMS_BODY = (
    "Reminder: Consultation with Dr Ada Host on Mon 3 Mar, 10:00 (Europe/London). Join from 5 minutes "
    "before the start: http://127.0.0.1:8000/join/0123456789abcdef0123456789abcdef01234567 - reply STOP to "
    "opt out"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--pool", default="threads", help="each worker's pool (threads, prefork)")
    parser.add_argument("--concurrency", type=int, default=32, help="threads or processes per worker")
    parser.add_argument("--notices", type=int, default=10_000, help="due notices for the throughput run")
    parser.add_argument("--loop", type=int, default=2_000, help="messages in the plain SDK loop")
    parser.add_argument("--in-process", type=int, default=1_000, help="notices for notice_deliver in-process")
    parser.add_argument("--latency-ms", type=float, default=150, help="the slow fake's answer time")
    parser.add_argument("--latency-notices", type=int, default=10_000, help="due notices, slow fake")
    parser.add_argument("--reminders", type=int, default=10_000, help="reminders due at the same moment")
    parser.add_argument("--reminder-lead", type=float, default=60, help="seconds from writing to send_at")
    parser.add_argument(
        "--reminder-wait", type=float, default=240, help="seconds after send_at to wait for the last one"
    )
    parser.add_argument("--due", type=int, default=1_000, help="due rows in the claim-time run")
    parser.add_argument(
        "--future", type=int, nargs="+", default=[10_000, 1_000_000], help="future reminders, per step"
    )
    parser.add_argument("--repeats", type=int, default=25, help="timed repetitions of each claim query")
    parser.add_argument("--database", default="bench_notices", help="the database this script recreates")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not broker_url.startswith("redis://"):
        sys.exit(
            "Set DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... (a Redis database nothing "
            "else uses: its queue is purged)."
        )
    _recreate_database(database_url, args.database)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-notices-"))
    fakes: list[FakeTwilioProcess] = []
    try:
        instant = FakeTwilioProcess(work_dir / "sms.jsonl")
        fakes.append(instant)
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=_with_database(database_url, args.database),
            VAR_DIR=str(work_dir / "var"),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            # The production clock: due-ness and leases by the database's (notifications.clock).
            NOTIFICATION_CLOCK="database",
            **instant.env(),
        )
        for name in ("TWILIO_EDGE", "TWILIO_REGION"):
            os.environ.pop(name, None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        report = Report(args)
        report.environment(broker_url)
        if "throughput" in args.sections:
            # The plain loop just before and just after the outbox, on the same fake: the ratio is to their
            # mean, so a moment when a neighbour of this shared machine is busy weighs on both sides alike.
            report.loops = [_plain_sdk_loop(args.loop)]
            report.pipeline = _pipeline(args, work_dir, instant, count=args.notices, label="throughput")
            report.loops.append(_plain_sdk_loop(args.loop))
            report.loop_count = args.loop
            report.in_process_rate = _in_process(args.in_process)
        if {"latency", "reminders"} & set(args.sections):
            slow = FakeTwilioProcess(work_dir / "sms-slow.jsonl", latency_ms=args.latency_ms)
            fakes.append(slow)
            if "latency" in args.sections:
                report.latency = _pipeline(args, work_dir, slow, count=args.latency_notices, label="latency")
            if "reminders" in args.sections:
                report.reminders = _reminders(args, work_dir, slow)
        if "claim" in args.sections:
            report.claims = _claim_times(args)
        report.print()
    finally:
        for fake in fakes:
            fake.stop()
        if not args.keep:
            _drop_database(database_url, args.database)
    return 0


def _load() -> str:
    """The machine's load average (1, 5, 15 minutes): the VM is shared, so every figure comes with it."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class CpuShare:
    """How the machine's CPUs spent a stretch of time: working (for anything on this VM), idle, or stolen
    (the host ran another VM on them while this one had work). The outbox needs both cores and the plain
    loop one, so time stolen weighs on the outbox more than on the loop it is compared with."""

    busy: float
    idle: float
    stolen: float

    def __str__(self) -> str:
        return f"{self.busy:.0%} busy, {self.idle:.0%} idle, {self.stolen:.1%} stolen by the host"


def _cpu_ticks() -> list[int] | None:
    # /proc/stat's first line: user nice system idle iowait irq softirq steal, summed over the CPUs.
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    return [int(value) for value in fields[1:9]]


def _cpu_share(before: list[int] | None, after: list[int] | None) -> CpuShare | None:
    if before is None or after is None:
        return None
    spent = [b - a for a, b in zip(before, after, strict=True)]
    user, nice, system, idle, iowait, irq, softirq, steal = spent
    total = (user + nice + system + idle + iowait + irq + softirq + steal) or 1
    busy = user + nice + system + irq + softirq
    return CpuShare(busy=busy / total, idle=(idle + iowait) / total, stolen=steal / total)


# --- services around the run --------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _admin_connection(database_url: str):
    import psycopg

    parts = urlsplit(database_url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


def _recreate_database(database_url: str, name: str) -> None:
    from psycopg import sql

    with _admin_connection(database_url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(database_url: str, name: str) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with _admin_connection(database_url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class FakeTwilioProcess:
    """The local fake of Twilio's API in its own process, recording every message it accepts to a file."""

    def __init__(self, record_path: Path, *, latency_ms: float = 0):
        from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, WHATSAPP_FROM

        self.record_path = record_path
        self.latency_ms = latency_ms
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "tests.support.fake_twilio",
                "--port",
                "0",
                "--record",
                str(record_path),
                "--latency-ms",
                str(latency_ms),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("fake-twilio listening on "):
            self.stop()
            raise RuntimeError(f"The fake Twilio did not start: {line!r}")
        self.settings = {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
            "TWILIO_API_BASE_URL": line.rsplit(" ", 1)[1],
        }

    def env(self) -> dict[str, str]:
        return dict(self.settings)

    def recipients(self) -> list[str]:
        from tests.support.fake_twilio import read_records

        return [message["to"] for message in read_records(self.record_path)]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class CeleryProcess:
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _celery(command: list[str], *, log_path: Path, env: dict[str, str]) -> CeleryProcess:
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, arguments from this module
            [sys.executable, "-m", "celery", "-A", "config", *command],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return CeleryProcess(process=process, log_path=log_path)


class Workers:
    """--workers Celery worker processes and beat, pointed at one fake, for the length of a `with`."""

    def __init__(self, args, work_dir: Path, fake: FakeTwilioProcess, *, sweep_seconds: float, label: str):
        self.args, self.work_dir, self.label = args, work_dir, label
        self.env = {"NOTIFICATION_SWEEP_SECONDS": str(sweep_seconds), **fake.env()}
        self.processes: list[CeleryProcess] = []

    def __enter__(self) -> "Workers":
        from config.celery import app

        app.control.purge()
        hostname = socket.gethostname()
        names = [f"bench-{os.getpid()}-{self.label}-{n}@{hostname}" for n in range(self.args.workers)]
        self.processes = [
            _celery(
                [
                    "worker",
                    "--loglevel=WARNING",
                    f"--pool={self.args.pool}",
                    f"--concurrency={self.args.concurrency}",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    name,
                ],
                log_path=self.work_dir / f"{self.label}-worker-{n}.log",
                env=self.env,
            )
            for n, name in enumerate(names)
        ]
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while len(app.control.ping(destination=names, timeout=1.0)) < len(names):
                if time.monotonic() > deadline or any(p.process.poll() is not None for p in self.processes):
                    raise RuntimeError(f"The workers did not start; see the logs in {self.work_dir}")
            self.processes.append(
                _celery(
                    ["beat", "--loglevel=WARNING", "--schedule", str(self.work_dir / f"{self.label}-beat")],
                    log_path=self.work_dir / f"{self.label}-beat.log",
                    env=self.env,
                )
            )
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        for process in reversed(self.processes):
            process.stop()


# --- 1 and 2. throughput --------------------------------------------------------------------------------


def _plain_sdk_loop(count: int) -> tuple[float, CpuShare | None]:
    """The limit: one process sending to the fake with the twilio SDK, as notifications.channels does.
    Returns messages per second, and how the machine's CPUs spent the time."""
    from notifications import channels

    channels.send_text(channel="sms", to="+447700900000", body=SMS_BODY)  # warm up imports and the fake
    ticks, started = _cpu_ticks(), time.perf_counter()
    for n in range(count):
        channels.send_text(channel="sms", to=f"+4477009{n:05d}", body=SMS_BODY)
    return count / (time.perf_counter() - started), _cpu_share(ticks, _cpu_ticks())


def _bench_host():
    from accounts.models import Membership, Organization, User

    organization, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench practice"})
    host = User.objects.filter(email="host@bench.test").first()
    if host is None:
        host = User.objects.create_user("host@bench.test", full_name="Dr Ada Host", time_zone="Europe/London")
        Membership.objects.create(user=host, organization=organization, role=Membership.Role.HOST)
    return organization, host


_offsets = itertools.count(0, 1_000_000)


def _due_notices(count: int, *, kind: str = "invite", send_at=None) -> list:
    """Unsaved SMS notices (due invites by default), one per new participant with its own number (rendered
    at delivery), numbered from a fresh offset so each section's recipients are its own.

    Written with bulk_create rather than through session_schedule: the benchmark measures delivery, and ten
    thousand scheduling requests would only make it slow to set up."""
    from django.utils import timezone

    from contacts.models import InviteMethod
    from notifications.models import Notification
    from sessions_app.models import Participant, Session

    offset = next(_offsets)
    organization, host = _bench_host()
    per_session = 50
    first_day = Session.objects.filter(host=host).count() + 1
    sessions = Session.objects.bulk_create(
        Session(
            organization=organization,
            host=host,
            title="Consultation",
            start_at=timezone.now() + timedelta(days=first_day + n),
            end_at=timezone.now() + timedelta(days=first_day + n, minutes=50),
            duration_minutes=50,
        )
        for n in range((count + per_session - 1) // per_session)
    )
    participants = Participant.objects.bulk_create(
        Participant(
            session=sessions[n // per_session],
            name=f"Participant {offset + n}",
            invite_method=InviteMethod.SMS,
            phone=f"+4479{offset + n:09d}",
            time_zone="Europe/London",
        )
        for n in range(count)
    )
    return [
        Notification(
            organization=organization,
            session=participant.session,
            participant=participant,
            kind=kind,
            channel=Notification.Channel.SMS,
            recipient=str(participant.phone),
            dedupe_key=f"bench:{participant.pk}",
            send_at=send_at or timezone.now(),
        )
        for participant in participants
    ]


@dataclass
class PipelineResult:
    notices: int
    elapsed: float
    first_sent_after: float
    sent: int
    failed: int
    messages: int
    sent_twice: int
    load_before: str
    load_after: str
    cpu: CpuShare | None

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed


def _status_counts(ids: list[int]) -> dict[str, int]:
    """How many of the run's notices are in each status. Polled while the workers run, so it must cost them
    little: the run's rows were written together (consecutive ids, nothing else writes to this database),
    so a range of ids finds them; a list of 10,000 ids polled ten times a second took 0.4 of a core."""
    from django.db.models import Count

    from notifications.models import Notification

    counts = dict(
        Notification.objects.filter(pk__gte=min(ids), pk__lte=max(ids))
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    if sum(counts.values()) != len(ids):
        raise RuntimeError(f"The run's ids are not one range: {sum(counts.values())} rows for {len(ids)} ids")
    return counts


def _done(counts: dict[str, int]) -> int:
    return counts.get("sent", 0) + counts.get("failed", 0) + counts.get("withdrawn", 0)


def _delivery_check(fake: FakeTwilioProcess, notices: list) -> tuple[int, int]:
    """How many messages for these notices the fake accepted, and how many of them were a second copy."""
    numbers = {n.recipient for n in notices}
    ours = [to for to in fake.recipients() if to in numbers]
    return len(ours), len(ours) - len(set(ours))


def _pipeline(args, work_dir: Path, fake: FakeTwilioProcess, *, count: int, label: str) -> PipelineResult:
    """`count` due notices written at once while the workers and beat (sweeping every second) run: the time
    from the commit until the last one was sent."""
    from django.db import transaction

    from notifications.models import Notification

    notices = _due_notices(count)
    with Workers(args, work_dir, fake, sweep_seconds=1, label=label):
        load_before = _load()
        with transaction.atomic():
            Notification.objects.bulk_create(notices, batch_size=2_000)
        ids = [n.pk for n in notices]
        ticks, started = _cpu_ticks(), time.perf_counter()
        first_sent_after = None
        while True:
            counts = _status_counts(ids)
            if first_sent_after is None and _done(counts):
                first_sent_after = time.perf_counter() - started
            if _done(counts) >= len(notices):
                break
            if time.perf_counter() - started > 1800:
                raise RuntimeError(f"Not delivered after 30 minutes: {counts}")
            # Four times a second: the count reads every row of the run, and the end is known to 0.25 s.
            time.sleep(0.25)
        elapsed, cpu = time.perf_counter() - started, _cpu_share(ticks, _cpu_ticks())
        load_after = _load()
    messages, sent_twice = _delivery_check(fake, notices)
    return PipelineResult(
        notices=len(notices),
        elapsed=elapsed,
        first_sent_after=first_sent_after or 0.0,
        sent=counts.get(Notification.Status.SENT, 0),
        failed=counts.get(Notification.Status.FAILED, 0),
        messages=messages,
        sent_twice=sent_twice,
        load_before=load_before,
        load_after=load_after,
        cpu=cpu,
    )


def _in_process(count: int) -> float:
    """notice_deliver called in a loop in this process: the database and rendering work of a delivery,
    without the broker or Celery."""
    from notifications.models import Notification
    from notifications.services import notices_deliver_due

    Notification.objects.bulk_create(_due_notices(count))
    started = time.perf_counter()
    delivered = 0
    while batch := notices_deliver_due():
        delivered += batch
    return delivered / (time.perf_counter() - started)


# --- 3. reminders due at the same moment -------------------------------------------------------------------


@dataclass
class ReminderResult:
    reminders: int
    sent: int
    late_p50: float | None
    late_p99: float | None
    late_max: float | None
    within_60: int
    not_sent: int
    waited: float
    load_before: str
    load_after: str


def _reminders(args, work_dir: Path, fake: FakeTwilioProcess) -> ReminderResult:
    """--reminders reminders all due --reminder-lead seconds after they are written, beat sweeping at the
    production interval; waits until every one was sent or --reminder-wait seconds after their send_at."""
    from django.db import connection, transaction
    from django.utils import timezone

    from notifications.models import Notification

    with Workers(args, work_dir, fake, sweep_seconds=10, label="reminders"):
        load_before = _load()
        send_at = timezone.now() + timedelta(seconds=args.reminder_lead)
        notices = _due_notices(args.reminders, kind=Notification.Kind.REMINDER, send_at=send_at)
        with transaction.atomic():
            Notification.objects.bulk_create(notices, batch_size=2_000)
        ids = [n.pk for n in notices]
        wait_until = send_at + timedelta(seconds=args.reminder_wait)
        while _done(_status_counts(ids)) < len(ids) and timezone.now() < wait_until:
            time.sleep(0.5)
        waited = (timezone.now() - send_at).total_seconds()
        load_after = _load()
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        late = "extract(epoch FROM sent_at - send_at)"
        cursor.execute(
            f"SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY {late}), "  # noqa: S608 - fixed
            f"percentile_cont(0.99) WITHIN GROUP (ORDER BY {late}), max({late}), "
            f"count(*) FILTER (WHERE {late} <= 60) "
            f'FROM "{table}" WHERE status = %s AND id = ANY(%s)',
            [Notification.Status.SENT, ids],
        )
        sent, p50, p99, worst, within_60 = cursor.fetchone()
    return ReminderResult(
        reminders=len(ids),
        sent=sent,
        late_p50=p50,
        late_p99=p99,
        late_max=float(worst) if worst is not None else None,
        within_60=within_60,
        not_sent=len(ids) - sent,
        waited=waited,
        load_before=load_before,
        load_after=load_after,
    )


# --- 4. claim time ------------------------------------------------------------------------------------


@dataclass
class ClaimResult:
    future: int
    due: int
    table_rows: int
    table_size: str
    sweep_ms: list[float]
    claim_ms: list[float]
    sweep_plan: list[str]
    claim_plan: list[str]


def _copy_rows(template_id: int, *, first: int, last: int, send_at_sql: str, key: str) -> None:
    """Insert rows first..last as copies of the template row, with generate_series: a million in seconds.
    Every column is copied except the id, the key, send_at and the status, so the rows stay valid whatever
    columns the model gains."""
    from django.db import connection

    from notifications.models import Notification

    table = Notification._meta.db_table
    overrides = {"send_at": send_at_sql, "dedupe_key": "%s::text || g::text", "status": "'pending'"}
    columns = [f.column for f in Notification._meta.concrete_fields if not f.primary_key]
    names = ", ".join(f'"{column}"' for column in columns)
    values = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {values} '  # noqa: S608 - names from the model
            f'FROM "{table}" t CROSS JOIN generate_series(%s, %s) g WHERE t.id = %s',
            [key, first, last, template_id],
        )


def _timed(function, repeats: int) -> tuple[list[float], object]:
    """Milliseconds of each call, each inside a transaction that is rolled back, so every call finds the
    same table."""
    from django.db import transaction

    times, result = [], None
    for _ in range(repeats):
        with transaction.atomic():
            started = time.perf_counter()
            result = function()
            times.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    return times, result


def _explain(sql: str) -> list[str]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql)
        plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    return plan


def _claim_times(args) -> list[ClaimResult]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from notifications import services
    from notifications.models import Notification

    organization, _host = _bench_host()
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{table}" CASCADE')  # noqa: S608 - the model's own table name
    # The template is cancelled, so it is neither due nor a future reminder itself.
    template = Notification.objects.create(
        organization=organization,
        kind=Notification.Kind.REMINDER,
        channel=Notification.Channel.SMS,
        recipient="+447911000000",
        send_at=timezone.now(),
        status=Notification.Status.WITHDRAWN,
        dedupe_key="bench:template",
    )
    _copy_rows(
        template.pk,
        first=1,
        last=args.due,
        send_at_sql="now() - interval '10 minutes' + g * interval '1 millisecond'",
        key="bench:due:",
    )
    due_ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING).values_list("pk", flat=True)
    )
    # The sweep's own code, minus publishing to the broker: the figure is the database's part.
    services._publish = lambda ids: True
    results, future = [], 0
    claims = itertools.cycle(due_ids)
    for target in sorted(args.future):
        _copy_rows(
            template.pk,
            first=future + 1,
            last=target,
            send_at_sql="now() + interval '1 hour' + g * interval '1 second'",
            key="bench:future:",
        )
        future = target
        with connection.cursor() as cursor:
            cursor.execute(f'VACUUM ANALYZE "{table}"')  # noqa: S608 - the model's own table name
            cursor.execute(
                f'SELECT count(*), pg_size_pretty(pg_total_relation_size(%s)) FROM "{table}"',  # noqa: S608
                [table],
            )
            table_rows, table_size = cursor.fetchone()
        with CaptureQueriesContext(connection) as queries:
            _timed(services.notices_hand_over_due, 1)
        # The first chunk's select (a sweep that filled its chunk looks once more, and finds nothing).
        sweep_sql = next(q["sql"] for q in queries if "SKIP LOCKED" in q["sql"])
        sweep_ms, handed = _timed(services.notices_hand_over_due, args.repeats)
        if len(handed) != args.due:
            raise RuntimeError(f"The sweep handed {len(handed)} rows, expected {args.due}")
        with CaptureQueriesContext(connection) as queries:
            _timed(lambda: services._claim([due_ids[0]]), 1)
        # The claim's own statements (the UPDATE and the read of the row), without the savepoints of _timed.
        claim_sql = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "SELECT"))]
        claim_ms, claimed = _timed(lambda: services._claim([next(claims)]), args.repeats)
        if not claimed:
            raise RuntimeError("The claim found no due row")
        results.append(
            ClaimResult(
                future=future,
                due=args.due,
                table_rows=table_rows,
                table_size=table_size,
                sweep_ms=sweep_ms,
                claim_ms=claim_ms,
                sweep_plan=_explain(sweep_sql),
                claim_plan=[line for sql in claim_sql for line in _explain(sql)],
            )
        )
    return results


# --- the report -------------------------------------------------------------------------------------------


class Report:
    def __init__(self, args):
        self.args = args
        self.loops: list[tuple[float, CpuShare | None]] = []
        self.loop_count = self.in_process_rate = None
        self.pipeline: PipelineResult | None = None
        self.latency: PipelineResult | None = None
        self.reminders: ReminderResult | None = None
        self.claims: list[ClaimResult] = []

    def environment(self, broker_url: str) -> None:
        from django.db import connection
        from redis import Redis

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            postgres = cursor.fetchone()[0]
        parts = urlsplit(broker_url)
        with Redis(host=parts.hostname, port=parts.port or 6379, password=parts.password) as client:
            redis = client.info("server")["redis_version"]
        self.machine = (
            f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, PostgreSQL {postgres}, Redis {redis}"
        )

    def print(self) -> None:
        a = self.args
        workers = f"{a.workers} worker process(es) x --pool={a.pool} --concurrency={a.concurrency}"
        out = [f"Machine: {self.machine}", f"Workers: {workers}", ""]
        if self.pipeline is not None:
            p = self.pipeline
            (before, before_cpu), (after, after_cpu) = self.loops
            loop_rate = statistics.mean([before, after])
            out += [
                f"1. Throughput: {p.notices} due SMS notices, beat sweeping every 1 s, the fake answering at "
                "once (its own process)",
                "",
                f"   {'':44} {'notices/s':>10}",
                f"   {'outbox: sweep + workers (end to end)':44} {p.rate:>10.1f}",
                f"   {f'plain loop, twilio SDK -> fake ({self.loop_count} msgs)':44} {loop_rate:>10.1f}"
                f"   (before {before:.1f}, after {after:.1f})",
                f"   {'ratio outbox / plain loop':44} {p.rate / loop_rate:>10.2f}",
                f"   {'notice_deliver in one process, no broker':44} {self.in_process_rate:>10.1f}",
                "",
                *_pipeline_facts(p),
                f"   the CPUs during the plain loop: before {before_cpu}; after {after_cpu}",
                "",
            ]
        if self.latency is not None:
            p = self.latency
            out += [
                f"2. Latency: {p.notices} due SMS notices, beat sweeping every 1 s, the fake answering each "
                f"message after {a.latency_ms:.0f} ms",
                "",
                f"   outbox end to end: {p.rate:.1f} notices/s",
                "",
                *_pipeline_facts(p),
                "",
            ]
        if self.reminders is not None:
            r = self.reminders
            out += [
                f"3. Reminders: {r.reminders} due at the same moment, {a.reminder_lead:.0f} s after they "
                f"were written; beat sweeping every 10 s, the fake answering after {a.latency_ms:.0f} ms",
                "",
                f"   sent - send_at: p50 {_late(r, r.late_p50, 0.5)}, p99 {_late(r, r.late_p99, 0.99)}, "
                f"max {_late(r, r.late_max, 1.0)}",
                f"   sent within 60 s of send_at: {r.within_60} of {r.reminders}; not sent "
                f"{r.waited:.0f} s after send_at: {r.not_sent}",
                f"   load average before / after: {r.load_before} / {r.load_after}",
                "",
            ]
        if self.claims:
            due = self.claims[0].due
            out += [
                f"4. Claim time with {due} due rows (median / p95 of the repeats, each rolled back)",
                "",
                f"   {'future reminders':>16} {'table rows':>11} {'table size':>11} "
                f"{'sweep: select+mark 1000':>24} {'claim one row':>15}",
            ]
            for c in self.claims:
                out.append(
                    f"   {c.future:>16,} {c.table_rows:>11,} {c.table_size:>11} "
                    f"{_ms(c.sweep_ms):>24} {_ms(c.claim_ms):>15}"
                )
            last = self.claims[-1]
            out += ["", f"   The sweep's select with {last.future:,} future reminders:", ""]
            out += [f"     {line}" for line in last.sweep_plan]
            out += ["", "   The claim's two queries:", ""]
            out += [f"     {line}" for line in last.claim_plan]
        print("\n".join(out))


def _pipeline_facts(p: PipelineResult) -> list[str]:
    return [
        f"   sent {p.sent}, failed {p.failed}, in {p.elapsed:.1f} s (first sent after "
        f"{p.first_sent_after:.1f} s); the fake accepted {p.messages} messages, {p.sent_twice} of them twice",
        f"   load average before / after: {p.load_before} / {p.load_after}",
        f"   the CPUs during the outbox: {p.cpu}",
    ]


def _late(r: ReminderResult, seconds: float | None, quantile: float) -> str:
    # Reminders still unsent when the wait ended are later than any that went out.
    if r.not_sent > r.reminders * (1 - quantile) or seconds is None:
        return f"> {r.waited:.0f} s"
    return f"{seconds:.1f} s"


def _ms(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
