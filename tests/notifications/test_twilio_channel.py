"""SMS and WhatsApp through the real twilio SDK, against the local fake of Twilio's Messages API."""

import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from contacts.models import InviteMethod
from notifications import channels
from notifications.models import Notification
from notifications.services import MAX_ATTEMPTS, RETRY_BASE_SECONDS, notice_deliver
from sessions_app.join.links import join_url
from sessions_app.services import ParticipantDetails, session_schedule
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    WHATSAPP_FROM,
    RemoteFakeTwilio,
    read_records,
)

PHONE = "+447911123456"
SMS_SID = re.compile(r"^SM[0-9a-f]{32}$")


def _schedule_sms_invite(host, *, method: str = InviteMethod.SMS) -> Notification:
    session = session_schedule(
        actor=host,
        host=host,
        title="Follow-up",
        start_at=timezone.now() + timedelta(hours=2),
        duration_minutes=30,
        participants=[
            ParticipantDetails(
                name="Pat Patient", invite_method=method, phone=PHONE, time_zone="Europe/London"
            )
        ],
    )
    return Notification.objects.get(session=session, kind=Notification.Kind.INVITE)


def _make_due(notification: Notification) -> None:
    Notification.objects.filter(pk=notification.pk).update(send_at=timezone.now() - timedelta(seconds=1))


# --- channels.send_text --------------------------------------------------------------------------------


def test_sms_is_sent_through_twilio_and_returns_its_sid(fake_twilio):
    sid = channels.send_text(channel="sms", to=PHONE, body="Your link: http://testserver/join/abc")

    assert SMS_SID.match(sid)
    [message] = fake_twilio.messages
    assert message["sid"] == sid
    assert message["to"] == PHONE
    assert message["from"] == FROM_NUMBER
    assert message["body"] == "Your link: http://testserver/join/abc"
    [request] = fake_twilio.requests
    assert request["auth_user"] == ACCOUNT_SID
    assert request["account_sid"] == ACCOUNT_SID


def test_whatsapp_prefixes_both_numbers(fake_twilio):
    sid = channels.send_text(channel="whatsapp", to=PHONE, body="Hello")

    [message] = fake_twilio.messages
    assert message["sid"] == sid
    assert message["to"] == f"whatsapp:{PHONE}"
    assert message["from"] == f"whatsapp:{WHATSAPP_FROM}"


def test_service_unavailable_is_transient(fake_twilio):
    fake_twilio.fail_next(status=503)

    with pytest.raises(channels.TransientDeliveryError, match="503"):
        channels.send_text(channel="sms", to=PHONE, body="Hello")

    assert fake_twilio.messages == []
    # The failure was for one request only: the next one goes through.
    assert SMS_SID.match(channels.send_text(channel="sms", to=PHONE, body="Hello"))


def test_invalid_number_is_permanent(fake_twilio):
    fake_twilio.reject_next(code=21211)

    with pytest.raises(channels.PermanentDeliveryError, match="21211"):
        channels.send_text(channel="sms", to=PHONE, body="Hello")

    assert fake_twilio.messages == []


def test_unreachable_twilio_is_transient(settings, fake_twilio):
    port = fake_twilio.port
    fake_twilio.stop()  # nothing listens on the port any more
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"

    with pytest.raises(channels.TransientDeliveryError, match="Could not reach Twilio"):
        channels.send_text(channel="sms", to=PHONE, body="Hello")


def test_the_fake_refuses_requests_without_basic_auth(fake_twilio):
    request = urllib.request.Request(
        f"{fake_twilio.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data=urllib.parse.urlencode({"To": PHONE, "From": FROM_NUMBER, "Body": "Hello"}).encode(),
        method="POST",
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)

    assert refused.value.code == 401
    assert json.loads(refused.value.read())["code"] == 20003
    refused.value.close()
    assert fake_twilio.messages == []


# --- notice_deliver outcomes -----------------------------------------------------------------------------


def test_successful_send_stores_the_twilio_sid(host, fake_twilio):
    notification = _schedule_sms_invite(host)

    notice_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    [message] = fake_twilio.messages
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 1
    assert notification.provider_message_id == message["sid"]
    assert notification.sent_at is not None
    assert notification.last_error == ""
    assert message["to"] == PHONE
    assert join_url(notification.participant) in message["body"]
    # The log keeps what was sent with the join link cut out (it is a bearer secret).
    assert notification.body == message["body"].replace(join_url(notification.participant), "[join link]")


def test_transient_failure_leaves_the_notice_pending_for_a_retry(host, fake_twilio):
    notification = _schedule_sms_invite(host)
    fake_twilio.fail_next(status=503)
    before = timezone.now()

    notice_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 1
    assert notification.send_at > before + timedelta(seconds=RETRY_BASE_SECONDS - 1)
    assert notification.send_at < timezone.now() + timedelta(seconds=RETRY_BASE_SECONDS * 1.2 + 1)
    assert "503" in notification.last_error
    assert notification.provider_message_id == ""
    assert fake_twilio.messages == []


def test_a_retry_after_a_transient_failure_sends_the_notice(host, fake_twilio):
    notification = _schedule_sms_invite(host)
    fake_twilio.fail_next(status=503)
    notice_deliver(notification_id=notification.pk)

    # Not due yet: a worker handed the id now does nothing.
    assert notice_deliver(notification_id=notification.pk) is None
    _make_due(notification)
    notice_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    [message] = fake_twilio.messages
    assert notification.status == Notification.Status.SENT
    assert notification.attempts == 2
    assert notification.provider_message_id == message["sid"]
    assert notification.last_error == ""
    assert len(fake_twilio.requests) == 2


def test_permanent_failure_fails_the_notice_at_once(host, fake_twilio):
    notification = _schedule_sms_invite(host)
    fake_twilio.reject_next(code=21211)

    notice_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == 1
    assert "21211" in notification.last_error
    assert "not a valid phone number" in notification.last_error
    assert notification.provider_message_id == ""
    # A failed notice is not attempted again, even when handed to a worker once more.
    _make_due(notification)
    assert notice_deliver(notification_id=notification.pk) is None
    assert len(fake_twilio.requests) == 1


def test_gives_up_after_max_attempts_of_transient_failures(host, fake_twilio):
    notification = _schedule_sms_invite(host, method=InviteMethod.WHATSAPP)
    fake_twilio.fail_next(times=None, status=503)

    for attempt in range(1, MAX_ATTEMPTS + 1):
        _make_due(notification)
        notice_deliver(notification_id=notification.pk)
        notification.refresh_from_db()
        assert notification.attempts == attempt
        expected = Notification.Status.PENDING if attempt < MAX_ATTEMPTS else Notification.Status.FAILED
        assert notification.status == expected, f"after attempt {attempt}"

    assert notification.last_error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")
    assert "503" in notification.last_error
    assert len(fake_twilio.requests) == MAX_ATTEMPTS
    assert all(r["to"] == f"whatsapp:{PHONE}" for r in fake_twilio.requests)
    assert fake_twilio.messages == []
    _make_due(notification)
    assert notice_deliver(notification_id=notification.pk) is None


# --- the fake as its own process, as later tests run it ---------------------------------------------------


@pytest.fixture
def fake_twilio_process(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    record = tmp_path / "sms.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_twilio", "--port", "0", "--record", str(record)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("fake-twilio listening on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1].strip()
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
        settings.TWILIO_FROM_NUMBER = FROM_NUMBER
        settings.TWILIO_API_BASE_URL = url
        yield RemoteFakeTwilio(url), record
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def test_fake_runs_as_a_separate_process(fake_twilio_process):
    remote, record = fake_twilio_process

    sid = channels.send_text(channel="sms", to=PHONE, body="First")
    remote.fail_next(times=1)
    with pytest.raises(channels.TransientDeliveryError):
        channels.send_text(channel="sms", to=PHONE, body="Second")
    remote.reject_next(times=None, code=21610)
    for _ in range(2):
        with pytest.raises(channels.PermanentDeliveryError, match="21610"):
            channels.send_text(channel="sms", to=PHONE, body="Third")
    remote.reset()
    assert remote.messages == []  # reset forgets what is held in memory...
    second_sid = channels.send_text(channel="sms", to=PHONE, body="Fourth")

    # ...but the record file keeps every accepted message.
    assert [(m["sid"], m["body"]) for m in read_records(record)] == [(sid, "First"), (second_sid, "Fourth")]
    assert [r["status"] for r in remote.requests] == [201]


def test_a_thread_keeps_its_twilio_client_and_its_connection(fake_twilio):
    assert channels.twilio_client() is channels.twilio_client()
    other = []
    worker = threading.Thread(target=lambda: other.append(channels.twilio_client()))
    worker.start()
    worker.join()
    assert other[0] is not channels.twilio_client()
