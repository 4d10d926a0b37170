from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from config import fragments
from tests.factories import ParticipantFactory, SessionFactory, sessions_with_invites

pytestmark = pytest.mark.django_db


def _make_sessions(host, count, first_index=0):
    start = timezone.now() + timedelta(hours=1)
    sessions_with_invites(host, count, start=start, first=first_index, participants=4, status="sent")


def _dashboard_queries(client):
    fragments.store.clear()  # the page rendered, not served again (tests/test_page_fragments.py)
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
    fragments.store.clear()
    with django_assert_num_queries(small):
        response = client.get(reverse("sessions:dashboard"))
    assert response.content.decode().count("data-session-id=") == 100
    assert response.content.decode().count("Invite sent") == 400


def test_session_page_query_count_does_not_grow_with_participants(client, host):
    from tests.factories import ContactFactory

    client.force_login(host)
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1))

    def page_queries() -> int:
        fragments.store.clear()  # the page rendered, not served again (tests/test_page_fragments.py)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("sessions:detail", kwargs={"pk": session.pk})).status_code == 200
        return len(queries)

    ParticipantFactory(session=session, contact=ContactFactory(organization=host.organization))
    one = page_queries()
    for _ in range(5):
        ParticipantFactory(session=session, contact=ContactFactory(organization=host.organization))
    assert page_queries() == one
