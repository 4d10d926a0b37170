from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _make_sessions(host, count, first_index=0):
    start = timezone.now() + timedelta(hours=1)
    for index in range(first_index, first_index + count):
        session = SessionFactory(host=host, start_at=start + timedelta(hours=index), title=f"Session {index}")
        for _ in range(4):
            participant = ParticipantFactory(session=session)
            Notification.objects.create(
                organization=session.organization,
                session=session,
                participant=participant,
                kind="invite",
                channel="email",
                recipient=participant.email,
                dedupe_key=f"test:{participant.pk}",
                status="sent",
            )


def _dashboard_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("sessions:dashboard"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_dashboard_query_count_does_not_grow_with_sessions_and_participants(
    client, host, django_assert_num_queries
):
    client.force_login(host)
    _make_sessions(host, 5)
    small, content = _dashboard_queries(client)
    assert content.count("data-session-id=") == 5

    _make_sessions(host, 95, first_index=5)
    with django_assert_num_queries(small):
        response = client.get(reverse("sessions:dashboard"))
    assert response.content.decode().count("data-session-id=") == 100
    assert response.content.decode().count("Invite sent") == 400
