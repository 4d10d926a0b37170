"""Who is told about a change: every participant on their own channel, even when two of them share one
contact, and a corrected address takes the notices not yet sent and revokes the old link."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from notifications.models import Notification
from notifications.services import notices_deliver_due
from sessions_app.join.links import join_token, participant_for_token
from sessions_app.services import (
    FOLLOWING,
    ParticipantDetails,
    RepeatRule,
    participant_update,
    session_cancel,
    session_reschedule,
    session_schedule,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def _parent_by_email_and_by_sms() -> list[ParticipantDetails]:
    # One person, invited twice: by email and by text. Both match one contact (the same email).
    common = {"name": "Sam Parent", "email": "sam@example.test", "time_zone": "Europe/London"}
    return [
        ParticipantDetails(invite_method="email", **common),
        ParticipantDetails(invite_method="sms", phone="+447911123456", **common),
    ]


def _book(host, *, people, repeat=None):
    return session_schedule(
        actor=host,
        host=host,
        title="Family session",
        start_at=NOW + timedelta(days=2),
        duration_minutes=50,
        participants=people,
        repeat=repeat,
    )


def _sent_to(kind: str) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(kind=kind).order_by("channel")
    return [(n.channel, n.recipient) for n in rows]


def test_two_participants_sharing_a_contact_each_get_the_cancellation(host):
    session = _book(host, people=_parent_by_email_and_by_sms())
    email_one, sms_one = session.participants.order_by("id")
    assert email_one.contact_id == sms_one.contact_id

    session_cancel(actor=host, session=session, reason="Unwell")

    assert _sent_to("invite") == [("email", "sam@example.test"), ("sms", "+447911123456")]
    assert _sent_to("cancellation") == [("email", "sam@example.test"), ("sms", "+447911123456")]


def test_two_participants_sharing_a_contact_each_get_the_reschedule(host):
    session = _book(host, people=_parent_by_email_and_by_sms())

    session_reschedule(actor=host, session=session, start_at=NOW + timedelta(days=3), reason="Clash")

    assert _sent_to("reschedule") == [("email", "sam@example.test"), ("sms", "+447911123456")]


def test_series_cancellation_tells_each_person_once_per_channel(host):
    session = _book(
        host, people=_parent_by_email_and_by_sms(), repeat=RepeatRule(frequency="weekly", count=4)
    )

    session_cancel(actor=host, session=session, reason="Moving away", scope=FOLLOWING)

    assert _sent_to("cancellation") == [("email", "sam@example.test"), ("sms", "+447911123456")]
    [by_email] = Notification.objects.filter(kind="cancellation", channel="email")
    assert len(by_email.context["occurrences"]) == 4


def test_corrected_email_takes_the_pending_invite_and_revokes_the_old_link(host, mailoutbox):
    session = _book(
        host,
        people=[ParticipantDetails(name="Maria Garcia", invite_method="email", email="maria@exmaple.test")],
    )
    participant = session.participants.get()
    old_token = join_token(participant)
    invite = Notification.objects.get(participant=participant, kind="invite")
    assert invite.status == Notification.Status.PENDING

    participant_update(
        actor=host,
        participant=participant,
        invite_method="email",
        email="maria@example.test",
        phone="",
        time_zone=participant.time_zone,
    )

    invite.refresh_from_db()
    participant.refresh_from_db()
    assert invite.recipient == "maria@example.test"
    assert participant_for_token(old_token) is None
    assert participant_for_token(join_token(participant)) == participant
    notices_deliver_due()
    [email] = mailoutbox
    assert email.to == ["maria@example.test"]
    assert join_token(participant) in email.body and old_token not in email.body


def test_corrected_phone_after_the_invite_was_sent_does_not_send_it_again(host):
    session = _book(
        host,
        people=[ParticipantDetails(name="Ann Lee", invite_method="sms", phone="+447911000001")],
    )
    participant = session.participants.get()
    notices_deliver_due()
    old_token = join_token(participant)

    participant_update(
        actor=host,
        participant=participant,
        invite_method="sms",
        email="",
        phone="+447911000002",
        time_zone=participant.time_zone,
    )

    invite = Notification.objects.get(participant=participant, kind="invite")
    assert (invite.status, invite.recipient) == ("sent", "+447911000001")
    assert Notification.objects.filter(participant=participant, kind__in=["invite", "remind"]).count() == 1
    assert participant_for_token(old_token) is None
    reminders = Notification.objects.filter(participant=participant, kind="reminder", status="pending")
    assert {r.recipient for r in reminders} == {"+447911000002"}


def test_changing_only_the_time_zone_keeps_the_link(host):
    session = _book(
        host, people=[ParticipantDetails(name="Ann Lee", invite_method="email", email="ann@example.test")]
    )
    participant = session.participants.get()
    token = join_token(participant)

    participant_update(
        actor=host,
        participant=participant,
        invite_method="email",
        email="ann@example.test",
        phone="",
        time_zone="Asia/Tokyo",
    )

    assert participant_for_token(token) == participant
