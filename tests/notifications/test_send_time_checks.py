"""What a worker decides at the moment it sends: the notice still applies, it goes to the participant's
current address, the join link stays out of the database, and due-ness and leases follow the database's
clock whatever the worker's or beat's own clock says (issue: faults found when the product was attacked)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contacts.models import InviteMethod
from notifications.models import Notification
from notifications.services import _claim, notice_create, notice_deliver, notices_hand_over_due
from sessions_app.join.links import join_url
from sessions_app.models import Session
from sessions_app.services import ParticipantDetails, participant_remove, session_cancel, session_schedule

pytestmark = pytest.mark.django_db


def _book(host, *, start_in=timedelta(days=2), **person):
    details = {"name": "Maria Garcia", "invite_method": "email", "email": "maria@example.test"}
    session = session_schedule(
        actor=host,
        host=host,
        title="Therapy",
        start_at=timezone.now() + start_in,
        duration_minutes=50,
        participants=[ParticipantDetails(time_zone="Europe/Madrid", **{**details, **person})],
    )
    return session, session.participants.get()


def _orphan(notification: Notification) -> Notification:
    """A worker claimed the row and died before sending it; its lease has run out."""
    [claimed] = _claim([notification.pk])
    assert claimed.status == Notification.Status.SENDING
    Notification.objects.filter(pk=notification.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    return claimed


def test_orphaned_reminder_is_withdrawn_when_the_session_was_cancelled_meanwhile(host, mailoutbox):
    session, participant = _book(host)
    reminder = notice_create(participant=participant, kind=Notification.Kind.REMINDER, key="now")
    _orphan(reminder)
    # Cancelling withdraws pending notices only; the orphaned one is "sending" and escapes it.
    session_cancel(actor=host, session=session, reason="Unwell")
    notices_hand_over_due()  # the lapsed claim goes back to pending

    notice_deliver(notification_id=reminder.pk)

    reminder.refresh_from_db()
    assert reminder.status == Notification.Status.WITHDRAWN
    assert reminder.last_error == "Withdrawn: the session was cancelled."
    assert not [m for m in mailoutbox if "Reminder" in m.subject]


def test_invite_claimed_before_the_participant_was_removed_is_withdrawn(host, mailoutbox, client):
    session, participant = _book(host)
    invite = Notification.objects.get(participant=participant, kind=Notification.Kind.INVITE)
    [claimed] = _claim([invite.pk])
    participant_remove(actor=host, participant=participant)
    Notification.objects.filter(pk=invite.pk).update(status=Notification.Status.PENDING)
    Notification.objects.filter(pk=invite.pk).update(claimed_at=None)

    notice_deliver(notification_id=claimed.pk)

    invite.refresh_from_db()
    assert invite.status == Notification.Status.WITHDRAWN
    assert invite.last_error == "Withdrawn: Maria Garcia was removed from the session."
    assert [m.subject for m in mailoutbox if m.subject.startswith("Invitation")] == []
    client.force_login(host)
    page = client.get(reverse("sessions:detail", kwargs={"pk": session.pk})).content.decode()
    assert (
        'Withdrawn <span class="small text-body-secondary">(Maria Garcia was removed from the session.)'
        in page
    )


def test_the_removal_notice_itself_still_goes_to_the_removed_participant(host, mailoutbox):
    session, participant = _book(host)
    participant_remove(actor=host, participant=participant)
    removal = Notification.objects.get(participant=participant, kind=Notification.Kind.REMOVED)

    notice_deliver(notification_id=removal.pk)

    removal.refresh_from_db()
    assert removal.status == Notification.Status.SENT
    assert len(mailoutbox) == 1


def test_reminder_for_a_session_that_has_ended_is_withdrawn(host):
    session, participant = _book(host, start_in=timedelta(hours=2))
    reminder = notice_create(participant=participant, kind=Notification.Kind.REMINDER, key="late")
    with time_machine.travel(session.end_at + timedelta(minutes=1), tick=False):
        notice_deliver(notification_id=reminder.pk)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.last_error) == ("withdrawn", "Withdrawn: the session has ended.")


def test_sent_notice_keeps_no_working_join_link(host, mailoutbox):
    session, participant = _book(host)
    invite = Notification.objects.get(participant=participant, kind=Notification.Kind.INVITE)

    notice_deliver(notification_id=invite.pk)

    invite.refresh_from_db()
    link = join_url(participant)
    [email] = mailoutbox
    assert link in email.body  # the participant gets their link...
    assert link not in invite.body and "/join/" not in invite.body  # ...the database keeps none
    assert "[join link]" in invite.body


def test_join_links_already_kept_in_notice_bodies_are_redacted_by_the_migration(host):
    from importlib import import_module

    redact = import_module("notifications.migrations.0008_redact_join_links_in_bodies").redact_body
    body = "Join: http://testserver/join/Vt3x_-9aZ/ and again https://example.test/join/%56%74abc/ bye"
    assert redact(body) == "Join: [join link] and again [join link] bye"


# --- The database's clock -------------------------------------------------------------------------------


@pytest.fixture
def database_clock(settings):
    settings.NOTIFICATION_CLOCK = "database"


def _database_now() -> datetime:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT STATEMENT_TIMESTAMP()")
            return cursor.fetchone()[0]
        cursor.execute("SELECT STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')")
        return datetime.fromisoformat(cursor.fetchone()[0]).replace(tzinfo=UTC)


def test_immediate_notice_is_due_for_a_worker_whose_clock_runs_two_seconds_behind(host, database_clock):
    session, participant = _book(host, invite_method=InviteMethod.EMAIL)
    invite = Notification.objects.get(participant=participant, kind=Notification.Kind.INVITE)

    with time_machine.travel(_database_now() - timedelta(seconds=2), tick=True):
        delivered = notice_deliver(notification_id=invite.pk)

    assert delivered is not None
    invite.refresh_from_db()
    assert invite.status == Notification.Status.SENT


def test_beat_five_minutes_ahead_does_not_release_a_live_workers_claim(host, database_clock, settings):
    settings.NOTIFICATION_CLAIM_LEASE_SECONDS = 300
    session, participant = _book(host)
    invite = Notification.objects.get(participant=participant, kind=Notification.Kind.INVITE)
    [claimed] = _claim([invite.pk])

    with time_machine.travel(_database_now() + timedelta(minutes=5, seconds=30), tick=True):
        notices_hand_over_due()

    invite.refresh_from_db()
    assert invite.status == Notification.Status.SENDING
    assert invite.claimed_at == claimed.claimed_at


def test_a_retry_waits_by_the_database_clock(host, database_clock, fake_twilio):
    session, participant = _book(host, invite_method=InviteMethod.SMS, email="", phone="+447911123456")
    invite = Notification.objects.get(participant=participant, kind=Notification.Kind.INVITE)
    fake_twilio.fail_next(status=503)
    before = _database_now()

    with time_machine.travel(before + timedelta(hours=1), tick=True):
        notice_deliver(notification_id=invite.pk)

    invite.refresh_from_db()
    assert invite.status == Notification.Status.PENDING
    # Timed from the database's clock, not the worker's hour-fast one.
    assert before + timedelta(seconds=25) < invite.send_at < before + timedelta(minutes=5)


def test_session_status_is_read_again_at_send_time(host):
    session, participant = _book(host)
    reminder = notice_create(participant=participant, kind=Notification.Kind.REMINDER, key="now")
    Session.objects.filter(pk=session.pk).update(status=Session.Status.REMOVED)
    notice_deliver(notification_id=reminder.pk)
    reminder.refresh_from_db()
    assert reminder.last_error == "Withdrawn: the session was removed."
