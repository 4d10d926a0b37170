"""A session's life: live only while it runs, completed once it ends (on every page at once, and in the
database after beat's step), and what can still be done to it then."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from config.errors import ValidationFailedError
from sessions_app.models import Outcome, Session
from sessions_app.services import (
    session_connect,
    session_mark_no_show,
    session_reschedule,
    sessions_complete_ended,
)
from sessions_app.tasks import complete_ended_sessions
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_session(host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=5))
    ParticipantFactory(session=session)
    with time_machine.travel(session.start_at, tick=False):
        session_connect(actor=host, session=session)
    session.refresh_from_db()
    return session


def test_a_connected_session_is_live_only_until_its_end(live_session):
    with time_machine.travel(live_session.start_at + timedelta(minutes=10), tick=False):
        assert live_session.state == Session.Status.LIVE and live_session.is_open
    with time_machine.travel(live_session.end_at, tick=False):
        assert live_session.state == Session.Status.COMPLETED
        assert not live_session.is_open
        assert live_session.outcome == "Completed"


def test_beat_writes_down_that_ended_sessions_are_completed(host, live_session):
    upcoming = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=2))
    with time_machine.travel(live_session.end_at + timedelta(seconds=1), tick=False):
        assert complete_ended_sessions() == 1
        assert sessions_complete_ended() == 0
    live_session.refresh_from_db()
    upcoming.refresh_from_db()
    assert live_session.status == Session.Status.COMPLETED
    assert upcoming.status == Session.Status.SCHEDULED
    event = AuditEvent.objects.get(action="session.complete")
    assert event.object_id == str(live_session.pk) and event.actor is None and event.acting_for == host


def test_an_ended_session_reads_completed_on_its_page_before_beat_runs(client, host, live_session):
    client.force_login(host)
    with time_machine.travel(live_session.end_at + timedelta(minutes=1), tick=False):
        page = client.get(reverse("sessions:detail", kwargs={"pk": live_session.pk})).content.decode()
        dashboard = client.get(reverse("sessions:dashboard")).content.decode()
        history = client.get(reverse("sessions:history"), {"outcome": Outcome.COMPLETED}).content.decode()
    assert 'id="session-status">Completed<' in page and 'id="session-status">Live<' not in page
    # It stays on the dashboard for a day after its end (test_auto_removal), as ended.
    assert f'data-session-id="{live_session.pk}"' in dashboard and "Ended</span>" in dashboard
    assert f'data-session-id="{live_session.pk}"' in history


def test_a_completed_session_cannot_move_but_can_be_marked_no_show(host, live_session):
    with time_machine.travel(live_session.end_at + timedelta(minutes=1), tick=False):
        sessions_complete_ended()
        with pytest.raises(ValidationFailedError, match="has ended"):
            session_reschedule(actor=host, session=live_session, start_at=timezone.now() + timedelta(days=1))
        session_mark_no_show(actor=host, session=live_session, whole_session=True)
    live_session.refresh_from_db()
    assert live_session.status == Session.Status.COMPLETED and live_session.no_show
    assert live_session.outcome == "No-show"
    assert Session.objects.with_outcome().get(pk=live_session.pk).outcome_value == Outcome.NO_SHOW


def test_open_sessions_are_those_not_ended_nor_cancelled(host):
    now = timezone.now()
    ahead = SessionFactory(host=host, start_at=now + timedelta(hours=1))
    SessionFactory(host=host, start_at=now - timedelta(hours=3))
    SessionFactory(host=host, start_at=now + timedelta(hours=3), status=Session.Status.CANCELLED)
    assert list(Session.objects.open()) == [ahead]
