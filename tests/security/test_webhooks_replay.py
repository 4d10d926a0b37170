"""A signed Twilio callback is acted on once: a captured START sent again after a STOP does not opt the
person back in, and a status report sent again records nothing (issue 8, item 11)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from accounts.models import AuditEvent
from contacts.models import Contact, InviteMethod
from notifications import provider_events
from notifications.models import Notification, TwilioCallback
from notifications.services import notice_deliver
from sessions_app.services import ParticipantDetails, session_schedule
from tests.factories import ContactFactory

PHONE = "+447911123456"
AUTH_TOKEN = "replay-test-auth-token"
START_SID = "SM" + "5" * 32


@pytest.fixture
def twilio_token(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN


def _post(client, name: str, params: dict):
    path = reverse(f"notifications:{name}")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://testserver{path}", params)
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


def _reply(client, sid: str, body: str):
    params = {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": PHONE,
        "To": "+15005550006",
        "Body": body,
    }
    response = _post(client, "twilio_inbound", params)
    assert response.status_code == 200
    return response


def _opted_out(contact: Contact) -> bool:
    contact.refresh_from_db()
    return contact.sms_opted_out_at is not None


def test_a_start_replayed_after_a_stop_does_not_opt_the_person_back_in(client, organization, twilio_token):
    contact = ContactFactory(organization=organization, phone=PHONE)
    _reply(client, "SM" + "1" * 32, "STOP")
    _reply(client, START_SID, "START")
    assert not _opted_out(contact)
    _reply(client, "SM" + "2" * 32, "STOP")

    # Whoever captured the signed START sends it again, byte for byte.
    _reply(client, START_SID, "START")

    assert _opted_out(contact)
    assert [e.details for e in AuditEvent.objects.filter(action="contact.sms_opt_out").order_by("id")] == [
        {"opted_out": True},
        {"opted_out": False},
        {"opted_out": True},
    ]


def test_a_status_report_is_acted_on_once_per_message_and_status(
    client, settings, host, twilio_token, tmp_path
):
    settings.SMS_FILE_PATH = tmp_path
    settings.TWILIO_ACCOUNT_SID = ""  # sent by the local provider; only the callbacks are signed
    session = session_schedule(
        actor=host,
        host=host,
        title="Follow-up",
        start_at=timezone.now() + timedelta(minutes=30),
        duration_minutes=30,
        participants=[ParticipantDetails(name="Pat Patient", invite_method=InviteMethod.SMS, phone=PHONE)],
    )
    notice = Notification.objects.get(session=session, kind=Notification.Kind.INVITE)
    notice_deliver(notification_id=notice.pk)
    notice.refresh_from_db()
    sid = notice.provider_message_id

    for status in ("sent", "delivered", "sent", "delivered"):
        assert _post(client, "twilio_status", {"MessageSid": sid, "MessageStatus": status}).status_code == 200

    assert sorted(
        TwilioCallback.objects.filter(message_sid=sid).values_list("message_status", flat=True)
    ) == [
        "delivered",
        "sent",
    ]
    notice.refresh_from_db()
    assert notice.provider_status == "delivered"
    audits = AuditEvent.objects.filter(action="notice.provider_status", object_id=str(notice.pk))
    assert list(audits.order_by("id").values_list("details__provider_status", flat=True)) == [
        "sent",
        "delivered",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_database_not_a_lookup_decides_which_copy_of_a_callback_acts():
    TwilioCallback.objects.create(message_sid=START_SID)

    with pytest.raises(IntegrityError), transaction.atomic():
        TwilioCallback.objects.create(message_sid=START_SID)


def test_a_callback_whose_handling_failed_is_acted_on_when_twilio_retries(
    client, organization, twilio_token, monkeypatch
):
    contact = ContactFactory(organization=organization, phone=PHONE)
    real = provider_events.sms_opt_out_record

    def failing(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(provider_events, "sms_opt_out_record", failing)
    with pytest.raises(RuntimeError):
        _reply(client, START_SID, "STOP")
    assert not TwilioCallback.objects.exists()

    monkeypatch.setattr(provider_events, "sms_opt_out_record", real)
    _reply(client, START_SID, "STOP")
    assert _opted_out(contact)
