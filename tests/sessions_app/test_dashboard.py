from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_dashboard_shows_times_in_the_viewers_zone_grouped_by_local_day(client, host):
    host.time_zone = "America/New_York"
    host.save(update_fields=["time_zone"])
    # 02:30 UTC on 2 Dec is 21:30 EST on 1 Dec: the session belongs under Tuesday 1 December.
    session = SessionFactory(host=host, start_at=datetime(2026, 12, 2, 2, 30, tzinfo=UTC), title="Late call")
    ParticipantFactory(session=session, name="Maria")
    client.force_login(host)
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False):
        content = client.get(reverse("sessions:dashboard")).content.decode()
    assert "Tuesday 1 December 2026" in content
    assert "21:30–22:20 EST" in content


def test_ended_sessions_leave_the_dashboard_a_day_after_their_end(client, host):
    SessionFactory(host=host, start_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC), title="Morning")
    client.force_login(host)
    with time_machine.travel(datetime(2026, 12, 1, 10, 49, tzinfo=UTC), tick=False):
        assert "Morning" in client.get(reverse("sessions:dashboard")).content.decode()
    with time_machine.travel(datetime(2026, 12, 2, 10, 49, tzinfo=UTC), tick=False):
        assert "Morning" in client.get(reverse("sessions:dashboard")).content.decode()
    with time_machine.travel(datetime(2026, 12, 2, 10, 51, tzinfo=UTC), tick=False):
        assert "Morning" not in client.get(reverse("sessions:dashboard")).content.decode()


def test_outcome_of_a_past_session_is_completed_unless_cancelled_removed_or_no_show(host):
    past = SessionFactory(host=host, start_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    assert past.outcome == "Completed"
    past.no_show = True
    assert past.outcome == "No-show"
    past.status = "cancelled"
    assert past.outcome == "Cancelled"
    future = SessionFactory(host=host, start_at=datetime(2027, 1, 5, 10, 0, tzinfo=UTC))
    assert future.outcome == "Scheduled"


def test_dashboard_shows_a_failed_invite_even_when_reminders_are_planned(client, host):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.models import Notification
    from sessions_app.services import ParticipantDetails, session_schedule

    session = session_schedule(
        actor=host,
        host=host,
        title="Weekly",
        start_at=timezone.now() + timedelta(days=3),
        duration_minutes=50,
        participants=[
            ParticipantDetails(name="Ana", invite_method="email", email="ana@example.test"),
            ParticipantDetails(name="Bo", invite_method="email", email="bo@example.test"),
        ],
    )
    ana, bo = session.participants.order_by("id")
    Notification.objects.filter(participant=ana, kind="invite").update(
        status="failed", last_error="Mailbox full"
    )
    Notification.objects.filter(participant=bo, kind="invite").update(status="sent")
    client.force_login(host)
    content = client.get(reverse("sessions:dashboard")).content.decode()
    assert "Invite failed" in content and "Mailbox full" in content
    assert "Invite sent" in content
    assert "Reminder sending" not in content and "Reminder sent" not in content


def test_removed_participants_leave_the_dashboard(client, host):
    from django.utils import timezone

    from sessions_app.services import participant_remove

    session = SessionFactory(host=host, start_at=timezone.now() + timezone.timedelta(days=1))
    ParticipantFactory(session=session, name="Stays Here")
    leaving = ParticipantFactory(session=session, name="Gone Away")
    participant_remove(actor=host, participant=leaving)
    client.force_login(host)
    content = client.get(reverse("sessions:dashboard")).content.decode()
    assert "Stays Here" in content and "Gone Away" not in content
