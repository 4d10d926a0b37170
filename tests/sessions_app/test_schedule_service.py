from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from contacts.models import Contact
from notifications.models import Notification
from notifications.services import notices_deliver_due
from sessions_app.models import Participant, Session
from sessions_app.services import ParticipantDetails, session_schedule

pytestmark = pytest.mark.django_db


def _details(**overrides):
    values = {
        "name": "Maria Garcia",
        "invite_method": "email",
        "email": "maria@example.test",
        "time_zone": "Europe/Madrid",
    }
    values.update(overrides)
    return ParticipantDetails(**values)


def _schedule(actor, host, participants=None, start_at=None):
    return session_schedule(
        actor=actor,
        host=host,
        title="Initial consultation",
        start_at=start_at or timezone.now() + timedelta(days=1),
        duration_minutes=50,
        participants=participants or [_details()],
    )


def test_schedule_creates_session_participants_contacts_audit_and_invites(host):
    session = _schedule(
        host,
        host,
        [
            _details(),
            _details(name="Priya Shah", invite_method="sms", email="", phone="+447911123456"),
            _details(name="Kim", invite_method="none", email=""),
        ],
        start_at=timezone.now() + timedelta(days=2),
    )

    assert session.host == host
    assert session.organization == host.organization
    assert session.status == Session.Status.SCHEDULED
    assert list(session.participants.values_list("name", flat=True)) == ["Maria Garcia", "Priya Shah", "Kim"]
    assert Contact.objects.filter(organization=host.organization).count() == 3
    notices = Notification.objects.filter(session=session, kind="invite").order_by("id")
    assert [(n.kind, n.channel, n.recipient) for n in notices] == [
        ("invite", "email", "maria@example.test"),
        ("invite", "sms", "+447911123456"),
    ]
    event = AuditEvent.objects.get(action="session.schedule")
    assert (event.actor, event.acting_for, event.object_id) == (host, host, str(session.pk))
    # Reminders 24 hours and 1 hour ahead for each participant who receives messages.
    reminders = Notification.objects.filter(session=session, kind="reminder")
    assert sorted(n.send_at for n in reminders) == sorted(
        [session.start_at - timedelta(hours=24)] * 2 + [session.start_at - timedelta(hours=1)] * 2
    )


def test_schedule_reuses_an_existing_contact_with_the_same_email(host):
    Contact.objects.create(organization=host.organization, name="Maria G.", email="MARIA@example.test")
    session = _schedule(host, host)
    assert Contact.objects.filter(organization=host.organization).count() == 1
    assert session.participants.get().contact.name == "Maria G."


def test_scheduler_schedules_for_a_host_of_their_organisation(scheduler, host):
    session = _schedule(scheduler, host)
    event = AuditEvent.objects.get(action="session.schedule")
    assert session.host == host
    assert (event.actor, event.acting_for) == (scheduler, host)


def test_scheduler_of_another_organisation_cannot_schedule_for_a_host(outsider_scheduler, host):
    with pytest.raises(PermissionDeniedError):
        _schedule(outsider_scheduler, host)
    assert not Session.objects.exists()


def test_a_host_cannot_schedule_for_a_colleague(host, other_host):
    with pytest.raises(PermissionDeniedError):
        _schedule(host, other_host)


def test_schedule_in_the_past_is_refused_and_writes_nothing(host):
    with pytest.raises(ValidationFailedError):
        _schedule(host, host, start_at=timezone.now() - timedelta(hours=2))
    assert not Session.objects.exists()
    assert not Notification.objects.exists()


def test_participant_name_needs_two_characters(host):
    with pytest.raises(ValidationFailedError, match="2 characters"):
        _schedule(host, host, [_details(name="A")])
    assert not Participant.objects.exists()


def test_sms_participant_needs_a_phone_number(host):
    with pytest.raises(ValidationFailedError, match="mobile number"):
        _schedule(host, host, [_details(invite_method="sms", phone="")])


def test_invite_email_shows_time_in_participant_zone_with_link_and_calendar(host):
    start = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
    session = _schedule(host, host, [_details(time_zone="America/New_York")], start_at=start)

    assert notices_deliver_due() == 1

    [email] = mail.outbox
    assert email.to == ["maria@example.test"]
    assert "Wednesday 10 March 2027, 10:00 EST (America/New York)" in email.body
    participant = session.participants.get()
    from sessions_app.join.links import join_url

    assert join_url(participant) in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and join_url(participant) in html
    [(filename, ics, ics_type)] = email.attachments
    assert filename == "session.ics" and ics_type.startswith("text/calendar")
    text = ics.decode() if isinstance(ics, bytes) else ics
    assert f"UID:{session.uid}@consultations" in text
    assert "METHOD:REQUEST" in text
    assert "TZID=America/New_York" in text
    assert "BEGIN:VTIMEZONE" in text


def test_sms_invite_is_short_with_time_and_link(host, settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path
    _schedule(
        host, host, [_details(invite_method="sms", email="", phone="+447911123456", time_zone="Asia/Kolkata")]
    )
    notices_deliver_due()
    notice = Notification.objects.get(kind="invite")
    assert notice.status == Notification.Status.SENT
    assert notice.provider_message_id.startswith("local-")
    assert "IST" in notice.body and "[join link]" in notice.body and "/join/" not in notice.body
    assert len(notice.body) <= 306
    [written] = list(tmp_path.glob("*.json"))
    assert "+447911123456" in written.read_text()


def test_delivering_twice_sends_once(host):
    _schedule(host, host)
    assert notices_deliver_due() == 1
    assert notices_deliver_due() == 0
    assert len(mail.outbox) == 1
    assert Notification.objects.get(kind="invite").attempts == 1
