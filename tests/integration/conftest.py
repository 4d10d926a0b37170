"""Real Celery processes for the integration tier: workers and beat started as subprocesses against the
PostgreSQL database pytest-django created for this run and a real Redis, talking to the local fakes.

* ``celery_worker``: one worker (concurrency 1) shared by a module, with a clean slate for each test.
* ``celery_processes``: a per-test manager that starts any number of workers with a given concurrency and a
  beat, on the test broker or another Redis, with extra environment (a short claim lease, a fast sweep), and
  stops them all afterwards, printing their logs when the test failed.
"""

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from config.celery import app as celery_app
from tests.support.fake_twilio import FakeTwilio
from tests.support.recording_email import RECORDED_EMAIL_PATH_ENV, read_recorded

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_TIMEOUT = 60
WORKER_STOP_TIMEOUT = 20
# Unique per worker in this run, so a ping cannot be answered by another run's worker on the same Redis.
_worker_numbers = itertools.count(1)


def database_url_for_workers() -> str:
    """The URL of the database pytest-django created for this run (test_<name>), for another process."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError(f"Integration tests need PostgreSQL, not {db['ENGINE']}")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{credentials}{'@' if credentials else ''}{host}:{port}/{quote(db['NAME'], safe='')}"


def broker_url_for_tests() -> str:
    return os.environ["CELERY_BROKER_URL"]


def purge_broker() -> None:
    # Messages left by an earlier, interrupted run would otherwise be delivered to this run's workers.
    celery_app.control.purge()


def _is_ready(worker: "CeleryWorker") -> bool:
    if worker.broker_url == broker_url_for_tests():
        return bool(celery_app.control.ping(destination=[worker.node_name], timeout=1.0))
    # Remote control goes through the app's producer pool, which is bound to the test broker (Celery lets
    # CELERY_BROKER_URL in the environment override any app's broker): trust the worker's own word.
    time.sleep(0.2)
    return f"{worker.node_name} ready." in worker.log()


def _read_log(path: Path, offset: int = 0) -> str:
    try:
        with path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def stop_process(process: subprocess.Popen) -> None:
    """Warm shutdown (finish the current task, then exit); SIGKILL to the process group if that hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_process_group(process)


def kill_process_group(process: subprocess.Popen) -> None:
    """kill -9 the process and everything in its group: a worker's pool children die with it, mid-task."""
    # Each process is started in its own session (start_new_session), so its group id is its pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@dataclass
class CeleryWorker:
    """A real `celery worker` process, its log, and the fakes it talks to."""

    process: subprocess.Popen
    node_name: str
    log_path: Path
    email_path: Path
    twilio: FakeTwilio
    broker_url: str
    concurrency: int
    env: dict[str, str] = field(repr=False)

    def log(self, offset: int = 0) -> str:
        return _read_log(self.log_path, offset)

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    @property
    def emails(self) -> list[dict]:
        return read_recorded(self.email_path)

    def reset(self) -> None:
        """Forget what earlier tests sent: scripted failures, recorded SMS and email."""
        self.twilio.reset()
        self.email_path.write_text("", encoding="utf-8")

    def stop(self) -> None:
        stop_process(self.process)

    def kill(self) -> None:
        kill_process_group(self.process)


@dataclass
class CeleryBeat:
    """A real `celery beat` process and its log."""

    process: subprocess.Popen
    log_path: Path

    def log(self, offset: int = 0) -> str:
        return _read_log(self.log_path, offset)

    def stop(self) -> None:
        stop_process(self.process)


def celery_env(
    *, tmp_dir: Path, twilio: FakeTwilio, broker_url: str, email_path: Path, extra: dict | None = None
) -> dict[str, str]:
    """The environment of a worker or beat: test settings, this run's database, the broker and the fakes."""
    var_dir = tmp_dir / "var"
    var_dir.mkdir(exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        # A Twilio edge or region would send the SDK past the fake, to the real Twilio.
        if key not in ("TWILIO_EDGE", "TWILIO_REGION", "PYTEST_CURRENT_TEST")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url_for_workers(),
        CELERY_BROKER_URL=broker_url,
        TEST_EMAIL_BACKEND="tests.support.recording_email.EmailBackend",
        VAR_DIR=str(var_dir),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        NOTIFICATION_CLOCK="database",
        **{RECORDED_EMAIL_PATH_ENV: str(email_path)},
        **twilio.env(),
    )
    env.update({key: str(value) for key, value in (extra or {}).items()})
    return env


def _spawn(command: list[str], *, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *command],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, so kill_process_group reaches the pool children too.
            start_new_session=True,
        )


def _wait_until_ready(worker: CeleryWorker) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(
                f"The Celery worker exited with {worker.process.returncode} before it was ready:\n"
                + worker.log()
            )
        if _is_ready(worker):
            return
        time.sleep(0.2)
    raise RuntimeError(f"The Celery worker was not ready after {WORKER_READY_TIMEOUT} s:\n{worker.log()}")


def start_celery_worker(
    *,
    tmp_dir: Path,
    twilio: FakeTwilio,
    broker_url: str | None = None,
    concurrency: int = 1,
    env: dict | None = None,
    wait: bool = True,
) -> CeleryWorker:
    """Start a prefork worker on the test database and `broker_url` (the test broker by default); returns
    once it answers a ping, or at once with wait=False (then call wait_until_ready)."""
    broker_url = broker_url or broker_url_for_tests()
    number = next(_worker_numbers)
    email_path = tmp_dir / "emails.jsonl"
    if not email_path.exists():
        email_path.write_text("", encoding="utf-8")
    log_path = tmp_dir / f"worker-{number}.log"
    node_name = f"itest-{os.getpid()}-{number}@{socket.gethostname()}"
    worker_env = celery_env(
        tmp_dir=tmp_dir, twilio=twilio, broker_url=broker_url, email_path=email_path, extra=env
    )
    process = _spawn(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            node_name,
        ],
        env=worker_env,
        log_path=log_path,
    )
    worker = CeleryWorker(
        process=process,
        node_name=node_name,
        log_path=log_path,
        email_path=email_path,
        twilio=twilio,
        broker_url=broker_url,
        concurrency=concurrency,
        env=worker_env,
    )
    if wait:
        wait_until_ready(worker)
    return worker


def wait_until_ready(worker: CeleryWorker) -> None:
    try:
        _wait_until_ready(worker)
    except BaseException:
        stop_process(worker.process)
        raise


def start_celery_beat(
    *,
    tmp_dir: Path,
    twilio: FakeTwilio,
    broker_url: str | None = None,
    sweep_seconds: float = 1.0,
    env: dict | None = None,
) -> CeleryBeat:
    """Start beat, whose only entry is the sweep of due notices, every `sweep_seconds`."""
    broker_url = broker_url or broker_url_for_tests()
    log_path = tmp_dir / "beat.log"
    beat_env = celery_env(
        tmp_dir=tmp_dir,
        twilio=twilio,
        broker_url=broker_url,
        email_path=tmp_dir / "emails.jsonl",
        extra={**(env or {}), "NOTIFICATION_SWEEP_SECONDS": sweep_seconds},
    )
    process = _spawn(
        ["beat", "--loglevel=INFO", "--schedule", str(tmp_dir / "celerybeat-schedule")],
        env=beat_env,
        log_path=log_path,
    )
    return CeleryBeat(process=process, log_path=log_path)


class CeleryProcesses:
    """Workers and beats started for one test; stop_all() ends the ones still running."""

    def __init__(self, tmp_dir: Path):
        self.tmp_dir = tmp_dir
        self.workers: list[CeleryWorker] = []
        self.beats: list[CeleryBeat] = []
        self._worker_options: dict = {}
        self._replaced: set[int] = set()
        self.restarts = 0

    def start_workers(
        self,
        count: int = 1,
        *,
        twilio: FakeTwilio,
        concurrency: int = 1,
        broker_url: str | None = None,
        env: dict | None = None,
    ) -> list[CeleryWorker]:
        """Start `count` workers side by side (they boot in parallel) and wait until each answers a ping."""
        self._worker_options = {
            "twilio": twilio,
            "broker_url": broker_url,
            "concurrency": concurrency,
            "env": env,
        }
        started = [
            start_celery_worker(
                tmp_dir=self.tmp_dir,
                twilio=twilio,
                broker_url=broker_url,
                concurrency=concurrency,
                env=env,
                wait=False,
            )
            for _ in range(count)
        ]
        self.workers.extend(started)
        for worker in started:
            wait_until_ready(worker)
        return started

    def restart_exited_workers(self) -> int:
        """Do what the deployment's process manager does (docker-compose's `restart: unless-stopped`):
        start a fresh worker in place of each one that has exited. Returns how many were restarted."""
        restarted = 0
        for worker in list(self.workers):
            if worker.process.poll() is None or id(worker) in self._replaced:
                continue
            self._replaced.add(id(worker))
            self.workers.append(start_celery_worker(tmp_dir=self.tmp_dir, wait=False, **self._worker_options))
            restarted += 1
        self.restarts += restarted
        return restarted

    def start_beat(
        self,
        *,
        twilio: FakeTwilio,
        sweep_seconds: float = 1.0,
        broker_url: str | None = None,
        env: dict | None = None,
    ) -> CeleryBeat:
        beat = start_celery_beat(
            tmp_dir=self.tmp_dir, twilio=twilio, broker_url=broker_url, sweep_seconds=sweep_seconds, env=env
        )
        self.beats.append(beat)
        return beat

    def stop_all(self) -> None:
        # Beat first, so it queues nothing more; then every worker, all at once.
        for beat in self.beats:
            beat.stop()
        for process in [w.process for w in self.workers if w.process.poll() is None]:
            process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.stop()

    def logs(self) -> str:
        parts = [f"----- {w.node_name} (exit {w.process.poll()}) -----\n{w.log()}" for w in self.workers]
        parts += [f"----- beat (exit {b.process.poll()}) -----\n{b.log()}" for b in self.beats]
        return "\n".join(parts)


@pytest.fixture(scope="module")
def _celery_worker_process(django_db_setup, tmp_path_factory):
    """One worker (and one fake Twilio) for the module: starting a worker takes seconds."""
    with FakeTwilio() as twilio:
        purge_broker()
        worker = start_celery_worker(tmp_dir=tmp_path_factory.mktemp("celery-worker"), twilio=twilio)
        try:
            yield worker
        finally:
            worker.stop()


@pytest.fixture
def celery_worker(_celery_worker_process, transactional_db, request):
    """A running Celery worker with a clean slate; its log is printed when the test fails."""
    worker = _celery_worker_process
    if worker.process.poll() is not None:
        pytest.fail(f"The Celery worker died (exit {worker.process.returncode}):\n{worker.log()}")
    purge_broker()
    worker.reset()
    offset = worker.log_size()
    failed_before = request.session.testsfailed
    yield worker
    if request.session.testsfailed > failed_before:
        print(f"----- Celery worker log ({worker.node_name}) -----\n{worker.log(offset)}")


@pytest.fixture
def celery_processes(transactional_db, tmp_path, request):
    """Start workers and beat for this test (see CeleryProcesses); all are stopped before the database is
    flushed, and their logs are printed when the test failed."""
    purge_broker()
    processes = CeleryProcesses(tmp_path)
    failed_before = request.session.testsfailed
    try:
        yield processes
    finally:
        processes.stop_all()
        if request.session.testsfailed > failed_before:
            print(processes.logs())
