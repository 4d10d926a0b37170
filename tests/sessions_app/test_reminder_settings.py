from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from notifications.models import HostNoticeSettings, Notification
from sessions_app.services import ParticipantDetails, session_schedule

pytestmark = pytest.mark.django_db


def _book(host, days=5):
    return session_schedule(
        actor=host,
        host=host,
        title="Therapy",
        start_at=timezone.now() + timedelta(days=days),
        duration_minutes=50,
        participants=[ParticipantDetails(name="Ana", invite_method="email", email="ana@example.test")],
    )


def _pending_leads(session):
    reminders = Notification.objects.filter(session=session, kind="reminder", status="pending")
    return sorted(((session.start_at - n.send_at) for n in reminders), reverse=True)


def test_host_sets_reminder_lead_times_and_upcoming_sessions_are_replanned(client, host):
    session = _book(host)
    assert _pending_leads(session) == [timedelta(hours=24), timedelta(hours=1)]
    client.force_login(host)
    page = client.get(reverse("sessions:reminder_settings"))
    assert 'value="1d, 1h"' in page.content.decode()

    response = client.post(reverse("sessions:reminder_settings"), {"reminders": "2d, 3h, 30m"})

    assert response.status_code == 302
    assert HostNoticeSettings.objects.get(host=host).reminder_lead_minutes == [2880, 180, 30]
    assert _pending_leads(session) == [timedelta(days=2), timedelta(hours=3), timedelta(minutes=30)]
    event = AuditEvent.objects.get(action="reminders.update")
    assert (event.actor, event.acting_for) == (host, host)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5m", "between 10 minutes and 14 days"),
        ("15d", "between 10 minutes and 14 days"),
        ("tomorrow", "is not a time before the start"),
    ],
)
def test_reminder_lead_times_outside_the_limits_are_refused_and_kept_in_the_form(
    client, host, value, message
):
    client.force_login(host)
    response = client.post(reverse("sessions:reminder_settings"), {"reminders": value})
    assert response.status_code == 200
    content = response.content.decode()
    assert message in content and f'value="{value}"' in content
    assert not HostNoticeSettings.objects.filter(host=host).exists()


def test_no_reminders_at_all_withdraws_pending_ones(client, host):
    session = _book(host)
    client.force_login(host)
    client.post(reverse("sessions:reminder_settings"), {"reminders": ""})
    assert _pending_leads(session) == []


def test_scheduler_sets_reminders_for_the_host_they_act_for(client, scheduler, host):
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    client.post(reverse("sessions:reminder_settings"), {"reminders": "1h"})
    assert HostNoticeSettings.objects.get(host=host).reminder_lead_minutes == [60]
    event = AuditEvent.objects.get(action="reminders.update")
    assert (event.actor, event.acting_for) == (scheduler, host)


def test_reminder_settings_need_a_login(client):
    response = client.get(reverse("sessions:reminder_settings"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
