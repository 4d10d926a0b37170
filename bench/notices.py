"""Benchmark of notice delivery through the outbox (DESIGN.md rule 2) on PostgreSQL and Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
        python -m bench.notices            # or: make bench-notices

It drops and recreates its own database (bench_notices) on the server of DATABASE_URL, migrates it, and
purges the queue of CELERY_BROKER_URL, so point that at a Redis database nothing else uses. Then:

1. Throughput: 10,000 due SMS notices are inserted while 2 Celery worker processes and beat (sweeping every
   second) run as subprocesses; beat's sweep hands them over and the workers send them, through the real
   twilio SDK, to the local fake of Twilio's API (tests.support.fake_twilio, its own process). Printed:
   notices per second, the same for a plain loop calling the fake with the same SDK (the limit), and the
   ratio; also notice_deliver in one process without a broker, to show where the time goes.
2. Claim time: the sweep's select-and-mark of 1,000 due rows and the claim of one row, with 10,000 and then
   1,000,000 future pending reminders in the table, and the plan PostgreSQL uses (the partial index
   notification_due_idx), so the time can be seen not to grow with the table.

The settings are config.settings.test (DEBUG off, the fakes), with the production delivery policy except
the sweep interval (NOTIFICATION_SWEEP_SECONDS=1).
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
SMS_BODY = (
    "Reminder: Consultation with Dr Ada Host on Mon 3 Mar, 10:00 (Europe/London). Join from 5 minutes "
    "before the start: http://127.0.0.1:8000/join/0123456789abcdef0123456789abcdef01234567 - reply STOP to "
    "opt out"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=10_000, help="due notices for the throughput run")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--loop", type=int, default=2_000, help="messages in the plain SDK loop")
    parser.add_argument("--in-process", type=int, default=1_000, help="notices for notice_deliver in-process")
    parser.add_argument("--due", type=int, default=1_000, help="due rows in the claim-time run")
    parser.add_argument(
        "--future", type=int, nargs="+", default=[10_000, 1_000_000], help="future reminders, per step"
    )
    parser.add_argument("--repeats", type=int, default=25, help="timed repetitions of each claim query")
    parser.add_argument("--database", default="bench_notices", help="the database this script recreates")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-claim", action="store_true")
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
    twilio = FakeTwilioProcess(work_dir / "sms.jsonl")
    try:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=_with_database(database_url, args.database),
            VAR_DIR=str(work_dir / "var"),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            **twilio.env(),
        )
        for name in ("TWILIO_EDGE", "TWILIO_REGION"):
            os.environ.pop(name, None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        report = Report()
        report.environment(broker_url)
        if not args.skip_throughput:
            report.loop_rate, report.loop_count = _plain_sdk_loop(args.loop)
            report.pipeline = _pipeline(args, work_dir, twilio)
            report.in_process_rate = _in_process(args.in_process)
        if not args.skip_claim:
            report.claims = _claim_times(args)
        report.print()
    finally:
        twilio.stop()
        if not args.keep:
            _drop_database(database_url, args.database)
    return 0


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

    def __init__(self, record_path: Path):
        from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, WHATSAPP_FROM

        self.record_path = record_path
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "tests.support.fake_twilio", "--port", "0", "--record", str(record_path)],
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


# --- 1. throughput ------------------------------------------------------------------------------------


def _plain_sdk_loop(count: int) -> tuple[float, int]:
    """The limit: one process sending to the fake with the twilio SDK, as notifications.channels does."""
    from notifications import channels

    channels.send_text(channel="sms", to="+447700900000", body=SMS_BODY)  # warm up imports and the fake
    started = time.perf_counter()
    for n in range(count):
        channels.send_text(channel="sms", to=f"+4477009{n:05d}", body=SMS_BODY)
    return count / (time.perf_counter() - started), count


def _bench_host():
    from accounts.models import Membership, Organization, User

    organization, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench practice"})
    host = User.objects.filter(email="host@bench.test").first()
    if host is None:
        host = User.objects.create_user("host@bench.test", full_name="Dr Ada Host", time_zone="Europe/London")
        Membership.objects.create(user=host, organization=organization, role=Membership.Role.HOST)
    return organization, host


def _due_notices(count: int, *, offset: int) -> list:
    """Unsaved due SMS invites, one per new participant with its own number (rendered at delivery).

    Written with bulk_create rather than through session_schedule: the benchmark measures delivery, and ten
    thousand scheduling requests would only make it slow to set up."""
    from django.utils import timezone

    from contacts.models import InviteMethod
    from notifications.models import Notification
    from sessions_app.models import Participant, Session

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
            phone=f"+44791{offset + n:07d}",
            time_zone="Europe/London",
        )
        for n in range(count)
    )
    return [
        Notification(
            organization=organization,
            session=participant.session,
            participant=participant,
            kind=Notification.Kind.INVITE,
            channel=Notification.Channel.SMS,
            recipient=str(participant.phone),
            dedupe_key=f"bench:{participant.pk}",
        )
        for participant in participants
    ]


@dataclass
class PipelineResult:
    notices: int
    workers: int
    concurrency: int
    elapsed: float
    first_sent_after: float
    sent: int
    failed: int
    messages: int
    sent_twice: int

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed


def _pipeline(args, work_dir: Path, twilio: FakeTwilioProcess) -> PipelineResult:
    from django.db import transaction
    from django.db.models import Count

    from config.celery import app
    from notifications.models import Notification

    notices = _due_notices(args.notices, offset=0)
    app.control.purge()
    env = {"NOTIFICATION_SWEEP_SECONDS": "1"}
    hostname = socket.gethostname()
    names = [f"bench-{os.getpid()}-{n}@{hostname}" for n in range(args.workers)]
    processes = [
        _celery(
            [
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={args.concurrency}",
                "--pool=prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                name,
            ],
            log_path=work_dir / f"worker-{n}.log",
            env=env,
        )
        for n, name in enumerate(names)
    ]
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while len(app.control.ping(destination=names, timeout=1.0)) < len(names):
            if time.monotonic() > deadline or any(p.process.poll() is not None for p in processes):
                raise RuntimeError(f"The workers did not start; see the logs in {work_dir}")
        processes.append(
            _celery(
                ["beat", "--loglevel=WARNING", "--schedule", str(work_dir / "celerybeat-schedule")],
                log_path=work_dir / "beat.log",
                env=env,
            )
        )
        with transaction.atomic():
            Notification.objects.bulk_create(notices, batch_size=2_000)
        started = time.perf_counter()
        first_sent_after = None
        while True:
            counts = dict(
                Notification.objects.order_by()
                .values_list("status")
                .annotate(n=Count("id"))
                .values_list("status", "n")
            )
            done = counts.get(Notification.Status.SENT, 0) + counts.get(Notification.Status.FAILED, 0)
            if first_sent_after is None and done:
                first_sent_after = time.perf_counter() - started
            if done >= len(notices):
                break
            if time.perf_counter() - started > 1800:
                raise RuntimeError(f"Not delivered after 30 minutes: {counts}")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        for process in reversed(processes):
            process.stop()
    recipients = twilio.recipients()
    ours = [to for to in recipients if to.startswith("+44791")]
    return PipelineResult(
        notices=len(notices),
        workers=args.workers,
        concurrency=args.concurrency,
        elapsed=elapsed,
        first_sent_after=first_sent_after or 0.0,
        sent=counts.get(Notification.Status.SENT, 0),
        failed=counts.get(Notification.Status.FAILED, 0),
        messages=len(ours),
        sent_twice=len(ours) - len(set(ours)),
    )


def _in_process(count: int) -> float:
    """notice_deliver called in a loop in this process: the database and rendering work of a delivery,
    without the broker or Celery."""
    from notifications.models import Notification
    from notifications.services import notices_deliver_due

    Notification.objects.bulk_create(_due_notices(count, offset=1_000_000))
    started = time.perf_counter()
    delivered = 0
    while batch := notices_deliver_due():
        delivered += batch
    return delivered / (time.perf_counter() - started)


# --- 2. claim time ------------------------------------------------------------------------------------


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
    services._publish = lambda ids: None
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
        [sweep_sql] = [q["sql"] for q in queries if "SKIP LOCKED" in q["sql"]]
        sweep_ms, handed = _timed(services.notices_hand_over_due, args.repeats)
        if len(handed) != min(args.due, services.SWEEP_BATCH):
            raise RuntimeError(f"The sweep handed {len(handed)} rows, expected {args.due}")
        with CaptureQueriesContext(connection) as queries:
            _timed(lambda: services._claim(due_ids[0]), 1)
        [claim_sql] = [q["sql"] for q in queries if "SKIP LOCKED" in q["sql"]]
        claim_ms, claimed = _timed(lambda: services._claim(next(claims)), args.repeats)
        if claimed is None:
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
                claim_plan=_explain(claim_sql),
            )
        )
    return results


# --- the report -------------------------------------------------------------------------------------------


class Report:
    def __init__(self):
        self.lines: list[str] = []
        self.loop_rate = self.loop_count = self.in_process_rate = None
        self.pipeline: PipelineResult | None = None
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
        out = [f"Machine: {self.machine}", ""]
        if self.pipeline is not None:
            p = self.pipeline
            out += [
                f"1. Throughput: {p.notices} due SMS notices, beat sweeping every 1 s, {p.workers} worker "
                f"processes x concurrency {p.concurrency}, fake Twilio in its own process",
                "",
                f"   {'':44} {'notices/s':>10}",
                f"   {'outbox: sweep + workers (end to end)':44} {p.rate:>10.1f}",
                f"   {f'plain loop, twilio SDK -> fake ({self.loop_count} msgs)':44} {self.loop_rate:>10.1f}",
                f"   {'ratio outbox / plain loop':44} {p.rate / self.loop_rate:>10.2f}",
                f"   {'notice_deliver in one process, no broker':44} {self.in_process_rate:>10.1f}",
                "",
                f"   sent {p.sent}, failed {p.failed}, in {p.elapsed:.1f} s (first sent after "
                f"{p.first_sent_after:.1f} s); the fake accepted {p.messages} messages, {p.sent_twice} "
                "of them twice",
                "",
            ]
        if self.claims:
            due = self.claims[0].due
            out += [
                f"2. Claim time with {due} due rows (median / p95 of the repeats, each rolled back)",
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
            out += ["", "   The claim's select:", ""]
            out += [f"     {line}" for line in last.claim_plan]
        print("\n".join(out))


def _ms(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
