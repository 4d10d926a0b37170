"""A booking, and the Reassign page, cost a fixed handful of queries however many occurrences,
participants or colleagues there are (one write transaction must not grow with the input)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from contacts.models import InviteMethod
from notifications.models import Notification
from sessions_app.models import Participant, Session, WorkingHours
from sessions_app.services import ParticipantDetails, RepeatRule, session_schedule
from tests.factories import ContactFactory, SessionFactory, member

pytestmark = pytest.mark.django_db


def _people(count: int) -> list[ParticipantDetails]:
    return [
        ParticipantDetails(
            name=f"Person {n}",
            invite_method=InviteMethod.SMS if n % 2 else InviteMethod.EMAIL,
            email=f"person{n}@example.test",
            phone=f"+4479111234{n:02d}",
            time_zone="Europe/Paris",
        )
        for n in range(count)
    ]


def _book(host, *, occurrences: int, people: int):
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    repeat = RepeatRule(frequency="weekly", count=occurrences) if occurrences > 1 else None
    with CaptureQueriesContext(connection) as queries:
        session_schedule(
            actor=host,
            host=host,
            title="Weekly check-in",
            start_at=start,
            duration_minutes=50,
            participants=_people(people),
            repeat=repeat,
        )
    return len(queries)


@pytest.fixture
def busy_host(host):
    """A host with working hours, other sessions and a known contact, so every check has rows to read."""
    for weekday in range(7):
        WorkingHours.objects.create(host=host, weekday=weekday, start_time="00:00", end_time="23:59")
    SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1))
    ContactFactory(organization=host.organization, email="person0@example.test")
    return host


def test_one_session_with_one_participant_takes_at_most_20_queries(busy_host):
    assert _book(busy_host, occurrences=1, people=1) <= 20
    participant = Participant.objects.get()
    assert participant.contact.email == "person0@example.test"
    assert Notification.objects.filter(kind="invite").count() == 1
    assert Notification.objects.filter(kind="reminder").count() == 2


def test_a_weekly_series_of_52_with_3_participants_takes_at_most_40_queries(busy_host):
    assert _book(busy_host, occurrences=52, people=3) <= 40
    assert Session.objects.filter(series__isnull=False).count() == 52
    assert Participant.objects.count() == 52 * 3
    # One invite per person listing every date, and two reminders per participant and occurrence.
    assert Notification.objects.filter(kind="invite").count() == 3
    assert Notification.objects.filter(kind="reminder").count() == 52 * 3 * 2
    assert Notification.objects.filter(kind="invite").first().context["occurrences"].__len__() == 52


def test_more_people_cost_a_contact_each_not_a_query_per_occurrence(busy_host):
    # New people are new contacts (an insert and an audit event each); occurrences add nothing but the
    # batches SQLite splits a long insert into.
    assert _book(busy_host, occurrences=30, people=5) <= 40
    assert Participant.objects.count() == 30 * 5


def test_reassign_page_queries_do_not_grow_with_colleagues(client, host, organization):
    client.force_login(host)
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1))

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("sessions:reassign", kwargs={"pk": session.pk}))
        assert response.status_code == 200
        return len(queries)

    member(role=Membership.Role.HOST, organization=organization)
    member(role=Membership.Role.HOST, organization=organization)
    two = page_queries()
    for _ in range(28):
        colleague = member(role=Membership.Role.HOST, organization=organization)
        SessionFactory(host=colleague, start_at=session.start_at)
        WorkingHours.objects.create(host=colleague, weekday=0, start_time="09:00", end_time="17:00")
    content = client.get(reverse("sessions:reassign", kwargs={"pk": session.pk})).content.decode()
    assert content.count('name="new_host"') == 30
    assert page_queries() == two
