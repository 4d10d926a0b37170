"""The host's pages work out what their rows show once per page, not once per row (docs/benchmarks.md,
Pages): the addresses come from one reverse() per route, and an organisation without a required document
spares the dashboard the per-session documents test."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.urls.resolvers import URLResolver
from django.utils import timezone

from documents.models import Document
from sessions_app.models import Session
from sessions_app.templatetags.session_actions import SessionUrls
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _reverse_calls(client, url: str) -> tuple[int, str]:
    """How many times reverse() ran while the page was served, and the page."""
    with mock.patch.object(
        URLResolver, "_reverse_with_prefix", autospec=True, side_effect=URLResolver._reverse_with_prefix
    ) as reversing:
        response = client.get(url)
    assert response.status_code == 200
    return reversing.call_count, response.content.decode()


def _sessions(host, count: int, *, first: timedelta, step: timedelta = timedelta(hours=2), index: int = 0):
    for n in range(count):
        start = timezone.now() + first + n * step
        session = SessionFactory(host=host, start_at=start, title=f"Session {index + n}")
        for _ in range(3):
            ParticipantFactory(session=session)


def test_session_urls_are_the_addresses_reverse_gives():
    urls = SessionUrls("/?view=week")
    for pk in (1, 9, 98765, 987654321, 12345678901):
        assert urls("detail", pk) == reverse("sessions:detail", kwargs={"pk": pk})
        for participant_pk in (1, 987654322, 42):
            assert urls("participant_remind", pk, participant_pk) == reverse(
                "sessions:participant_remind", kwargs={"pk": pk, "participant_pk": participant_pk}
            )
    assert urls.next_query == "?next=/%3Fview%3Dweek"


def test_the_dashboard_reverses_each_route_once_however_many_sessions_and_participants(client, host):
    client.force_login(host)
    _sessions(host, 2, first=timedelta(hours=3))
    few, page = _reverse_calls(client, reverse("sessions:dashboard"))
    assert page.count("data-session-id=") == 2

    _sessions(host, 10, first=timedelta(hours=7), index=2)
    many, page = _reverse_calls(client, reverse("sessions:dashboard"))
    assert page.count("data-session-id=") == 12
    assert page.count('class="participant-actions') == 36
    assert many == few
    session = Session.objects.get(title="Session 11")
    participant = session.participants.order_by("id").first()
    add = reverse("sessions:participant_add", kwargs={"pk": session.pk})
    assert f'href="{add}?next=/"' in page
    assert f'hx-get="{reverse("sessions:manage_menu", kwargs={"pk": session.pk})}"' in page
    edit = reverse("sessions:participant_edit", kwargs={"pk": session.pk, "participant_pk": participant.pk})
    assert f'href="{edit}?next=/"' in page


def test_the_calendar_and_history_reverse_each_route_once_however_many_sessions(client, host):
    client.force_login(host)
    day = (timezone.now() + timedelta(days=2)).astimezone(host.zone).date()
    calendar = f"{reverse('sessions:calendar')}?view=week&date={day.isoformat()}"
    _sessions(host, 2, first=timedelta(days=2), step=timedelta(minutes=55))
    _sessions(host, 2, first=-timedelta(days=30), step=timedelta(days=1), index=100)
    few_calendar, _ = _reverse_calls(client, calendar)
    few_history, _ = _reverse_calls(client, reverse("sessions:history"))

    _sessions(host, 6, first=timedelta(days=2, hours=2), step=timedelta(minutes=55), index=2)
    _sessions(host, 10, first=-timedelta(days=20), step=timedelta(days=1), index=102)
    many_calendar, _ = _reverse_calls(client, calendar)
    many_history, history = _reverse_calls(client, reverse("sessions:history"))
    assert history.count("data-session-id=") == 12
    assert many_history == few_history
    # The week grid's empty half hours link to the Schedule form: fewer of them once sessions fill the day.
    assert many_calendar <= few_calendar


def test_without_a_required_document_the_dashboard_leaves_out_the_documents_test(client, host):
    client.force_login(host)
    _sessions(host, 2, first=timedelta(hours=3))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("sessions:dashboard")).status_code == 200
    assert not any("documents_submission" in query["sql"] for query in queries.captured_queries)

    Document.objects.create(organization=host.organization, title="Consent", is_required=True)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("sessions:dashboard")).status_code == 200
    assert any("documents_submission" in query["sql"] for query in queries.captured_queries)
