"""Scheduling a session delivers its invites through the real stack: the web request commits, its on_commit
hook publishes to Redis, a real Celery worker process claims each row in PostgreSQL and sends the email
(recorded by tests.support.recording_email) and the SMS (to the local fake of Twilio's API)."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import InviteMethod
from notifications.models import Notification
from sessions_app.join.links import join_url
from sessions_app.models import Participant, Session

pytestmark = pytest.mark.integration

DELIVERY_TIMEOUT = 30

EMAIL = "robin.participant@example.test"
PHONE = "+447911123456"


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
