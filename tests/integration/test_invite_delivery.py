"""Scheduling a session delivers its invites through the real stack: the web request commits, its on_commit
hook publishes to Redis, a real Celery worker process claims each row in PostgreSQL and sends the email
(recorded by tests.support.recording_email) and the SMS (to the local fake of Twilio's API)."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from contacts.models import InviteMethod
from notifications.models import Notification
from sessions_app.join_links import join_url
from sessions_app.models import Participant, Session
from tests.support.fake_twilio import FakeTwilio
from tests.support.recording_email import RECORDED_EMAIL_PATH_ENV, read_recorded

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_TIMEOUT = 60
WORKER_STOP_TIMEOUT = 20
DELIVERY_TIMEOUT = 30

EMAIL = "robin.participant@example.test"
PHONE = "+447911123456"


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


@dataclass
class CeleryWorker:
    """A real `celery worker` process, its log, and the fakes it talks to."""

    process: subprocess.Popen
    node_name: str
    log_path: Path
    email_path: Path
    twilio: FakeTwilio
    env: dict[str, str] = field(repr=False)

    def log(self, offset: int = 0) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    @property
    def emails(self) -> list[dict]:
        return read_recorded(self.email_path)

    def reset(self) -> None:
        """Forget what earlier tests sent: scripted failures, recorded SMS and email."""
        self.twilio.reset()
        self.email_path.write_text("", encoding="utf-8")


def _purge_broker() -> None:
    # Messages left by an earlier, interrupted run would otherwise be delivered to this worker.
    celery_app.control.purge()


def _wait_until_ready(worker: CeleryWorker) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(
                f"The Celery worker exited with {worker.process.returncode} before it was ready:\n"
                + worker.log()
            )
        if celery_app.control.ping(destination=[worker.node_name], timeout=1.0):
            return
        time.sleep(0.2)
    raise RuntimeError(f"The Celery worker was not ready after {WORKER_READY_TIMEOUT} s:\n{worker.log()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task, then exit
    try:
        process.wait(timeout=WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # The worker is its own process group (start_new_session), so this reaches its pool children too.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def start_celery_worker(*, tmp_dir: Path, twilio: FakeTwilio) -> CeleryWorker:
    """Start a worker on the test database and the test broker; returns once it answers a ping."""
    broker_url = os.environ["CELERY_BROKER_URL"]
    email_path = tmp_dir / "emails.jsonl"
    email_path.write_text("", encoding="utf-8")
    log_path = tmp_dir / "worker.log"
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
        **{RECORDED_EMAIL_PATH_ENV: str(email_path)},
        **twilio.env(),
    )
    # Unique per test run, so a ping cannot be answered by another run's worker on the same Redis.
    node_name = f"itest-{os.getpid()}@{socket.gethostname()}"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
        "--pool=prefork",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        node_name,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = CeleryWorker(
        process=process,
        node_name=node_name,
        log_path=log_path,
        email_path=email_path,
        twilio=twilio,
        env=env,
    )
    try:
        _wait_until_ready(worker)
    except BaseException:
        _stop(process)
        raise
    return worker


@pytest.fixture(scope="module")
def _celery_worker_process(django_db_setup, tmp_path_factory):
    """One worker (and one fake Twilio) for the module: starting a worker takes seconds."""
    with FakeTwilio() as twilio:
        _purge_broker()
        worker = start_celery_worker(tmp_dir=tmp_path_factory.mktemp("celery-worker"), twilio=twilio)
        try:
            yield worker
        finally:
            _stop(worker.process)


@pytest.fixture
def celery_worker(_celery_worker_process, transactional_db, request):
    """A running Celery worker with a clean slate; its log is printed when the test fails."""
    worker = _celery_worker_process
    if worker.process.poll() is not None:
        pytest.fail(f"The Celery worker died (exit {worker.process.returncode}):\n{worker.log()}")
    _purge_broker()
    worker.reset()
    offset = worker.log_size()
    failed_before = request.session.testsfailed
    yield worker
    if request.session.testsfailed > failed_before:
        print(f"----- Celery worker log ({worker.node_name}) -----\n{worker.log(offset)}")


def _wait_for(predicate, *, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def _schedule_form(*, start_local) -> dict[str, str]:
    participants = [
        {"name": "Robin Email", "invite_method": InviteMethod.EMAIL, "email": EMAIL, "phone": ""},
        {"name": "Sam Sms", "invite_method": InviteMethod.SMS, "email": "", "phone": PHONE},
    ]
    data = {
        "title": "Integration consultation",
        "date": start_local.strftime("%Y-%m-%d"),
        "time": start_local.strftime("%H:%M"),
        "duration_minutes": "50",
        "participants-TOTAL_FORMS": str(len(participants)),
        "participants-INITIAL_FORMS": "0",
        "participants-MIN_NUM_FORMS": "1",
        "participants-MAX_NUM_FORMS": "20",
    }
    for index, participant in enumerate(participants):
        for name, value in {**participant, "time_zone": "Europe/London"}.items():
            data[f"participants-{index}-{name}"] = value
    return data


def test_scheduled_session_invites_are_delivered_by_the_worker(celery_worker, client, host):
    client.force_login(host)
    # About an hour ahead, as the host would type it on their wall clock. The extra minutes put the 1-hour
    # reminder a little in the future: it is planned but must not go out with the invites.
    start_local = timezone.localtime(timezone.now() + timedelta(minutes=65), host.zone)

    response = client.post(reverse("sessions:schedule"), _schedule_form(start_local=start_local))

    assert response.status_code == 302, response.content.decode()[:2000]
    session = Session.objects.get(host=host, title="Integration consultation")
    assert response["Location"] == reverse("sessions:detail", kwargs={"pk": session.pk})
    email_participant = Participant.objects.get(session=session, invite_method=InviteMethod.EMAIL)
    sms_participant = Participant.objects.get(session=session, invite_method=InviteMethod.SMS)

    invites = Notification.objects.filter(session=session, kind=Notification.Kind.INVITE)

    def all_sent():
        statuses = list(invites.values_list("status", flat=True))
        return len(statuses) == 2 and all(s == Notification.Status.SENT for s in statuses)

    assert _wait_for(all_sent, timeout=DELIVERY_TIMEOUT), list(
        Notification.objects.filter(session=session).values(
            "kind", "channel", "status", "attempts", "last_error", "send_at"
        )
    )

    [email] = celery_worker.emails
    assert email["to"] == [EMAIL]
    assert join_url(email_participant) in email["text"]
    assert email["has_ics"] is True

    [sms] = celery_worker.twilio.messages
    assert sms["to"] == PHONE
    assert sms["from"] == celery_worker.env["TWILIO_FROM_NUMBER"]
    assert join_url(sms_participant) in sms["body"]

    email_notice = invites.get(channel=Notification.Channel.EMAIL)
    sms_notice = invites.get(channel=Notification.Channel.SMS)
    assert email_notice.recipient == EMAIL
    assert sms_notice.recipient == PHONE
    for notice in (email_notice, sms_notice):
        assert notice.kind == Notification.Kind.INVITE
        assert notice.attempts == 1
        assert notice.provider_message_id
        assert notice.last_error == ""
        assert notice.sent_at is not None
    assert sms_notice.provider_message_id == sms["sid"]
    # Each was sent once: no duplicate from a second hand-over, and nothing planned for later went out.
    assert len(celery_worker.twilio.requests) == 1
    later = Notification.objects.filter(session=session).exclude(kind=Notification.Kind.INVITE)
    assert all(n.status == Notification.Status.PENDING and n.attempts == 0 for n in later)
