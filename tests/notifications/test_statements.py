"""The delivery's per-notice statements (notifications.statements) give what the ORM gives: the same instances
with the same related objects for the read, the same row for the update, on SQLite and on PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import InviteMethod
from notifications import statements
from notifications.clock import db_now
from notifications.models import Notification
from notifications.services import _DELIVERY_RELATED
from tests.factories import ContactFactory, ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _notice(session, key: str, **fields) -> Notification:
    return Notification.objects.create(
        organization_id=session.organization_id,
        session=session,
        kind=Notification.Kind.REMINDER,
        channel=Notification.Channel.SMS,
        recipient="+447911000001",
        dedupe_key=key,
        context={"reason": "Moved & shortened", "occurrences": []},
        **fields,
    )


@pytest.fixture
def notices(host, organization):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=2))
    contact = ContactFactory(organization=organization, phone="+447911000001")
    with_contact = ParticipantFactory(
        session=session, contact=contact, invite_method=InviteMethod.SMS, phone="+447911000001"
    )
    without_contact = ParticipantFactory(session=session, contact=None)
    return [
        _notice(session, "a", participant=with_contact),
        _notice(session, "b", participant=without_contact),
        # A host's notice: no participant.
        _notice(session, "c", host=host),
        # An account's notice: no session either.
        Notification.objects.create(
            organization=organization,
            kind=Notification.Kind.EMAIL_CONFIRM,
            channel=Notification.Channel.EMAIL,
            recipient="new@example.test",
            dedupe_key="d",
        ),
    ]


def _related(notice) -> list:
    def fields(instance):
        return (
            None
            if instance is None
            else [getattr(instance, f.attname) for f in instance._meta.concrete_fields]
        )

    participant, session = notice.participant, notice.session
    return [
        fields(notice),
        fields(notice.organization),
        fields(participant),
        fields(participant.contact if participant else None),
        fields(session),
        fields(session.host if session else None),
        fields(session.organization if session else None),
    ]


def test_the_read_builds_what_the_orm_builds_with_no_query_left_for_delivery(notices):
    ids = [n.pk for n in notices]
    expected = {
        n.pk: _related(n) for n in Notification.objects.select_related(*_DELIVERY_RELATED).filter(pk__in=ids)
    }

    read = statements.read_with_related(Notification, _DELIVERY_RELATED, ids, using="default")

    with CaptureQueriesContext(connection) as queries:
        got = {n.pk: _related(n) for n in read}
    assert got == expected
    assert len(queries) == 0
    assert all(n._state.db == "default" and not n._state.adding for n in read)
    # The JSON and the phone number come back as the ORM converts them.
    assert read[0].context == {"reason": "Moved & shortened", "occurrences": []}


def test_the_read_is_compiled_once_for_each_number_of_ids(notices, monkeypatch):
    statements._reads.clear()
    compiled = []
    as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(
        SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or as_sql(self, *a, **k)
    )
    ids = [n.pk for n in notices]

    for _ in range(3):
        assert (
            len(statements.read_with_related(Notification, _DELIVERY_RELATED, ids[:2], using="default")) == 2
        )
    assert len(statements.read_with_related(Notification, _DELIVERY_RELATED, ids, using="default")) == 4

    assert len(compiled) == 2


def _twins(host) -> tuple[int, int]:
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=3))
    claimed = timezone.now() - timedelta(seconds=5)
    first, second = (
        _notice(session, key, status=Notification.Status.SENDING, claimed_at=claimed, provider_message_id="x")
        for key in ("twin-1", "twin-2")
    )
    return first, second


COMPARED = (
    "status",
    "last_error",
    "provider_message_id",
    "body",
    "sent_at",
    "send_at",
    "handed_at",
    "attempts",
)


@pytest.mark.parametrize("clock", ["process", "database"])
def test_the_update_writes_what_the_orm_writes(host, settings, clock):
    settings.NOTIFICATION_CLOCK = clock
    mine, orms = _twins(host)
    values = {
        "status": Notification.Status.PENDING,
        "last_error": "Twilio did not accept it yet (503): 'quoted' & %s",
        "provider_message_id": "",
        "body": "",
        "sent_at": db_now(),
        "send_at": db_now() + timedelta(seconds=90),
        "handed_at": None,
    }

    changed = statements.update_where(
        Notification,
        where={"pk": mine.pk, "status": Notification.Status.SENDING, "claimed_at": mine.claimed_at},
        values=values,
        using="default",
    )
    Notification.objects.filter(
        pk=orms.pk, status=Notification.Status.SENDING, claimed_at=orms.claimed_at
    ).update(**values)

    assert changed == 1
    mine.refresh_from_db()
    orms.refresh_from_db()
    assert [getattr(mine, name) is None for name in COMPARED] == [
        getattr(orms, name) is None for name in COMPARED
    ]
    assert mine.last_error == orms.last_error == values["last_error"]
    assert (mine.status, mine.provider_message_id, mine.handed_at) == (Notification.Status.PENDING, "", None)
    # Written by the same clock, moments apart.
    assert abs(mine.sent_at - orms.sent_at) < timedelta(seconds=5)
    assert abs((mine.send_at - mine.sent_at) - timedelta(seconds=90)) < timedelta(seconds=1)


def test_the_update_changes_nothing_where_the_claim_is_another_one(host):
    mine, _ = _twins(host)

    changed = statements.update_where(
        Notification,
        where={
            "pk": mine.pk,
            "status": Notification.Status.SENDING,
            "claimed_at": mine.claimed_at - timedelta(1),
        },
        values={"status": Notification.Status.SENT},
        using="default",
    )
    not_null = statements.update_where(
        Notification, where={"pk": mine.pk, "claimed_at": None}, values={"status": "sent"}, using="default"
    )

    assert (changed, not_null) == (0, 0)
    mine.refresh_from_db()
    assert mine.status == Notification.Status.SENDING
