"""Participants answer a reminder by text (issue 13): C confirms, X cancels (under the same window as their
join link), anything else reaches the host as a message; STOP and START keep working, a number we never
texted is ignored, and a replayed message is acted on once. Through the signed webhook, with the invite
sent by the real twilio SDK to the local fake."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from accounts.models import AuditEvent
from contacts.models import InviteMethod
from notifications.models import Notification
from notifications.rendering import render_notice
from notifications.services import notice_deliver, notices_deliver_due
from sessions_app.models import Answer, Session
from sessions_app.services import ParticipantDetails, session_schedule
from tests.factories import ParticipantFactory, SessionFactory
from tests.support.fake_twilio import AUTH_TOKEN

pytestmark = pytest.mark.django_db

PHONE = "+447911123456"


def _sent_invite(host, *, start_in=timedelta(days=3), title="Follow-up", method=InviteMethod.SMS):
    session = session_schedule(
        actor=host,
        host=host,
        title=title,
        start_at=timezone.now() + start_in,
        duration_minutes=30,
        participants=[
            ParticipantDetails(
                name="Pat Patient", invite_method=method, phone=PHONE, time_zone="Europe/London"
            )
        ],
    )
    invite = Notification.objects.get(session=session, kind=Notification.Kind.INVITE)
    notice_deliver(notification_id=invite.pk)
    invite.refresh_from_db()
    assert invite.status == Notification.Status.SENT
    return invite.participant


def _reply(client, body: str, *, sender: str = PHONE, sid: str | None = None):
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0123456789abcdef" * 2,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }
    path = reverse("notifications:twilio_inbound")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://testserver{path}", params)
    response = client.post(path, params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return response.content.decode()


def _host_notices(kind):
    return list(Notification.objects.filter(host__isnull=False, kind=kind))


@pytest.mark.parametrize(("body", "sender"), [("C", PHONE), (" yes ", PHONE), ("Ok.", f"whatsapp:{PHONE}")])
def test_c_and_its_common_words_confirm_and_are_answered(client, host, fake_twilio, body, sender):
    pat = _sent_invite(host)

    answer = _reply(client, body, sender=sender)

    pat.refresh_from_db()
    assert pat.answer == Answer.CONFIRMED
    assert '<Message>Thank you: confirmed for "Follow-up" on' in answer
    [event] = AuditEvent.objects.filter(action="participant.confirm")
    assert event.actor is None and event.details["via"] == ("whatsapp" if "whatsapp" in sender else "sms")
    assert not _host_notices(Notification.Kind.PARTICIPANT_MESSAGE)


def test_x_cancels_outside_the_window_tells_the_host_and_answers_once(client, host, fake_twilio):
    pat = _sent_invite(host)

    answer = _reply(client, "x")

    session = Session.objects.get(pk=pat.session_id)
    pat.refresh_from_db()
    assert session.status == Session.Status.CANCELLED and session.cancelled_by_participant
    assert pat.answer == Answer.CANCELLED
    assert f"{host.full_name} has been told.</Message>" in answer
    # The text answer is their confirmation: the cancellation text is not sent as well.
    [own] = Notification.objects.filter(participant=pat, kind=Notification.Kind.CANCELLATION)
    assert own.status == Notification.Status.WITHDRAWN
    assert not Notification.objects.filter(
        participant=pat, kind=Notification.Kind.REMINDER, status=Notification.Status.PENDING
    ).exists()
    [told] = _host_notices(Notification.Kind.PARTICIPANT_CANCELLED)
    assert told.context["via"] == "sms" and told.context["stopped_texts"] is False
    [event] = AuditEvent.objects.filter(action="participant.cancel")
    assert event.actor is None and event.details["participant"] == pat.pk


def test_a_bare_cancel_cancels_records_the_opt_out_twilio_makes_of_it_and_tells_the_host(
    client, host, fake_twilio
):
    pat = _sent_invite(host)

    answer = _reply(client, "CANCEL")

    pat.refresh_from_db()
    assert pat.answer == Answer.CANCELLED
    assert pat.contact.sms_opted_out_at is not None
    # Twilio delivers nothing more to an opted-out number, so nothing is said back.
    assert "<Message>" not in answer
    [told] = _host_notices(Notification.Kind.PARTICIPANT_CANCELLED)
    assert told.context["stopped_texts"] is True
    notices_deliver_due()
    told.refresh_from_db()
    assert told.status == Notification.Status.SENT
    assert "Their reply CANCEL also stopped our text messages" in told.body


def test_x_inside_the_window_is_refused_and_reaches_the_host_as_a_message(client, host, fake_twilio):
    pat = _sent_invite(host, start_in=timedelta(hours=3))

    answer = _reply(client, "X")

    pat.refresh_from_db()
    assert Session.objects.get(pk=pat.session_id).status == Session.Status.SCHEDULED
    assert pat.answer == ""
    assert "Cancelling within 24 hours of the start is not possible here" in answer
    [message] = _host_notices(Notification.Kind.PARTICIPANT_MESSAGE)
    assert message.context["message"] == "X"
    assert "not possible here" in message.context["refused"]


def test_free_text_reaches_the_host_as_a_message_from_the_participant(client, host, fake_twilio):
    pat = _sent_invite(host)

    answer = _reply(client, "Running 10 minutes late, sorry!")

    assert "<Message>" not in answer
    pat.refresh_from_db()
    assert pat.answer == ""
    [message] = _host_notices(Notification.Kind.PARTICIPANT_MESSAGE)
    assert message.recipient == host.email
    assert message.context["participant_name"] == "Pat Patient"
    notices_deliver_due()
    message.refresh_from_db()
    assert message.status == Notification.Status.SENT
    assert message.subject.startswith("Message from Pat Patient: Follow-up")
    assert "Running 10 minutes late, sorry!" in message.body
    [event] = AuditEvent.objects.filter(action="participant.message")
    assert event.actor is None and event.details["participant"] == pat.pk


def test_a_number_we_never_texted_is_answered_200_and_changes_nothing(client, host, fake_twilio):
    pat = _sent_invite(host)
    before = Notification.objects.count()

    answer = _reply(client, "X", sender="+447700900123")
    _reply(client, "Hello?", sender="+447700900123")

    assert "<Message>" not in answer
    assert Notification.objects.count() == before
    pat.refresh_from_db()
    assert pat.answer == ""
    assert (
        not AuditEvent.objects.filter(action__startswith="participant.", actor__isnull=True)
        .exclude(action="participant.add")
        .exists()
    )


def test_a_replayed_message_is_acted_on_once(client, host, fake_twilio):
    _sent_invite(host)
    sid = "SM" + "7" * 32

    _reply(client, "Can we talk?", sid=sid)
    replay = _reply(client, "Can we talk?", sid=sid)

    assert "<Message>" not in replay
    assert len(_host_notices(Notification.Kind.PARTICIPANT_MESSAGE)) == 1
    assert AuditEvent.objects.filter(action="participant.message").count() == 1


def test_stop_and_start_still_work_and_are_not_messages_for_the_host(client, host, fake_twilio):
    pat = _sent_invite(host)

    _reply(client, "STOP")
    pat.contact.refresh_from_db()
    assert pat.contact.sms_opted_out_at is not None
    _reply(client, "start")
    pat.contact.refresh_from_db()
    assert pat.contact.sms_opted_out_at is None

    pat.refresh_from_db()
    assert pat.answer == ""
    assert not Notification.objects.filter(host__isnull=False).exists()


def test_the_reminder_text_offers_x_only_while_cancelling_is_possible(host, fake_twilio):
    far = _sent_invite(host)
    near = _sent_invite(host, start_in=timedelta(hours=5), title="Soon")

    def reminder_text(participant) -> str:
        notice = Notification.objects.create(
            organization=participant.session.organization,
            session=participant.session,
            participant=participant,
            kind=Notification.Kind.REMIND,
            channel=Notification.Channel.SMS,
            recipient=PHONE,
            dedupe_key=f"test-remind-{participant.pk}",
        )
        return render_notice(notice).text

    assert reminder_text(far).endswith("Reply C to confirm, X to cancel.")
    assert reminder_text(near).endswith("Reply C to confirm.")


def test_the_reminder_email_says_the_link_also_takes_the_answers(host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=3))
    pat = ParticipantFactory(session=session, name="Pat", email="pat@example.test", invite_method="email")
    notice = Notification.objects.create(
        organization=session.organization,
        session=session,
        participant=pat,
        kind=Notification.Kind.REMINDER,
        channel=Notification.Channel.EMAIL,
        recipient="pat@example.test",
        dedupe_key="test-reminder-email",
    )
    rendered = render_notice(notice)
    assert "confirm that you will come, cancel or ask for another time" in rendered.text
