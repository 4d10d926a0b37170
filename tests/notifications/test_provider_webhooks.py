"""What providers report after a notice left: Twilio's signed status callbacks and STOP/START replies, and
the email services' tracking events through anymail. SMS go through the real twilio SDK to the local fake;
emails through anymail's test backend. Nothing here talks to anything but 127.0.0.1."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from accounts.models import AuditEvent
from contacts.models import Contact, InviteMethod
from notifications import checks
from notifications.models import Notification
from notifications.services import notice_deliver
from sessions_app.services import ParticipantDetails, session_schedule
from tests.factories import ContactFactory, OrganizationFactory
from tests.support.fake_twilio import AUTH_TOKEN

PHONE = "+447911123456"
STOP_REASON = (
    "Not sent: Pat Patient replied STOP to our text messages. "
    "Ask them to text START, or switch them to email."
)


def _schedule(
    host, *, method: str = InviteMethod.SMS, title: str = "Follow-up", start_in: int = 30
) -> Notification:
    # By default thirty minutes ahead: no reminder is planned, so the invite is the participant's latest
    # notice. A host's sessions may not overlap, so a second one starts later.
    session = session_schedule(
        actor=host,
        host=host,
        title=title,
        start_at=timezone.now() + timedelta(minutes=start_in),
        duration_minutes=30,
        participants=[
            ParticipantDetails(
                name="Pat Patient",
                invite_method=method,
                phone=PHONE,
                email="pat@example.test",
                time_zone="Europe/London",
            )
        ],
    )
    return Notification.objects.get(session=session, kind=Notification.Kind.INVITE)


def _sent_notice(host, **kwargs) -> Notification:
    notification = _schedule(host, **kwargs)
    notice_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.provider_message_id != ""
    return notification


def _post_twilio(client, name: str, params: dict, *, signed_url: str | None = None, token: str = AUTH_TOKEN):
    path = reverse(f"notifications:{name}")
    # SITE_URL is http://testserver in the test settings: the URL Twilio would have called.
    signature = RequestValidator(token).compute_signature(signed_url or f"http://testserver{path}", params)
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


def _status_params(notification: Notification, status: str, error_code: str = "") -> dict:
    params = {
        "MessageSid": notification.provider_message_id,
        "SmsSid": notification.provider_message_id,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC" + "0123456789abcdef" * 2,
        "From": "+15005550006",
        "To": PHONE,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def _provider_audits(notification: Notification):
    return AuditEvent.objects.filter(action="notice.provider_status", object_id=str(notification.pk))


# --- Twilio status callbacks -------------------------------------------------------------------------------


def test_signed_delivered_callback_marks_the_sms_notice_delivered(client, host, fake_twilio):
    notification = _sent_notice(host)

    response = _post_twilio(client, "twilio_status", _status_params(notification, "delivered"))

    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.provider_status == "delivered"
    assert notification.delivered_at is not None
    [audit] = _provider_audits(notification)
    assert audit.actor is None
    assert audit.acting_for == host
    assert audit.organization_id == notification.organization_id
    assert audit.details["provider_status"] == "delivered"
    client.force_login(host)
    detail = client.get(reverse("sessions:detail", kwargs={"pk": notification.session_id})).content.decode()
    assert "Sent · delivered" in detail


def test_undelivered_callback_fails_the_notice_with_a_readable_reason_on_the_dashboard(
    client, host, fake_twilio
):
    notification = _sent_notice(host)

    response = _post_twilio(client, "twilio_status", _status_params(notification, "undelivered", "30003"))

    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.provider_status == "undelivered"
    assert notification.delivered_at is None
    assert notification.last_error == (
        "Not delivered: Unreachable destination handset (the phone may be off or out of coverage) "
        "(Twilio error 30003)."
    )
    client.force_login(host)
    dashboard = client.get(reverse("sessions:dashboard")).content.decode()
    assert "Invite failed" in dashboard
    assert "Unreachable destination handset" in dashboard


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("failed", "30005", "Not sent: Unknown destination handset"),
        ("undelivered", "30006", "Not delivered: Landline or unreachable carrier"),
        ("undelivered", "21610", "Not delivered: The recipient replied STOP to our text messages"),
        ("undelivered", "30034", "Not delivered: Twilio error 30034."),
    ],
)
def test_failure_callbacks_explain_the_twilio_error_code(client, host, fake_twilio, status, code, expected):
    notification = _sent_notice(host)

    _post_twilio(client, "twilio_status", _status_params(notification, status, code))

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.last_error.startswith(expected)
    assert code in notification.last_error


def test_repeated_and_late_callbacks_change_nothing(client, host, fake_twilio):
    notification = _sent_notice(host)
    _post_twilio(client, "twilio_status", _status_params(notification, "delivered"))
    notification.refresh_from_db()
    delivered_at = notification.delivered_at

    # Twilio may repeat a callback, and a "sent" may arrive after the "delivered".
    for status in ("delivered", "sent", "queued"):
        assert _post_twilio(client, "twilio_status", _status_params(notification, status)).status_code == 200

    notification.refresh_from_db()
    assert notification.provider_status == "delivered"
    assert notification.delivered_at == delivered_at
    assert _provider_audits(notification).count() == 1


def _snapshot(notification: Notification) -> tuple:
    notification.refresh_from_db()
    return (
        notification.status,
        notification.provider_status,
        notification.delivered_at,
        notification.last_error,
        notification.updated_at,
    )


def test_unsigned_status_callback_is_refused_and_changes_nothing(client, host, fake_twilio):
    notification = _sent_notice(host)
    before = _snapshot(notification)

    response = client.post(
        reverse("notifications:twilio_status"), _status_params(notification, "undelivered", "30003")
    )

    assert response.status_code == 403
    assert _snapshot(notification) == before
    assert not _provider_audits(notification).exists()


def test_wrongly_signed_status_callback_is_refused_and_changes_nothing(client, host, fake_twilio):
    notification = _sent_notice(host)
    before = _snapshot(notification)

    response = _post_twilio(
        client, "twilio_status", _status_params(notification, "undelivered", "30003"), token="not-our-token"
    )

    assert response.status_code == 403
    assert _snapshot(notification) == before
    assert not _provider_audits(notification).exists()


def test_tampered_parameters_break_the_signature(client, host, fake_twilio):
    notification = _sent_notice(host)
    before = _snapshot(notification)
    params = _status_params(notification, "delivered")
    path = reverse("notifications:twilio_status")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://testserver{path}", params)

    response = client.post(
        path, {**params, "MessageStatus": "undelivered"}, headers={"X-Twilio-Signature": signature}
    )

    assert response.status_code == 403
    assert _snapshot(notification) == before


def test_signature_for_a_different_url_is_refused(client, host, fake_twilio):
    notification = _sent_notice(host)
    before = _snapshot(notification)

    response = _post_twilio(
        client,
        "twilio_status",
        _status_params(notification, "undelivered", "30003"),
        signed_url="http://testserver/webhooks/twilio/inbound/",
    )

    assert response.status_code == 403
    assert _snapshot(notification) == before


def test_the_signature_is_checked_against_the_public_site_url(client, settings, host, fake_twilio):
    # Behind the proxy Django sees http://testserver, but Twilio called (and signed) the public https URL.
    settings.SITE_URL = "https://consultations.example.com"
    notification = _sent_notice(host)
    params = _status_params(notification, "delivered")

    refused = _post_twilio(client, "twilio_status", params)
    accepted = _post_twilio(
        client,
        "twilio_status",
        params,
        signed_url="https://consultations.example.com/webhooks/twilio/status/",
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200
    notification.refresh_from_db()
    assert notification.provider_status == "delivered"


def test_callbacks_are_refused_when_no_auth_token_is_configured(client, settings, host, fake_twilio):
    notification = _sent_notice(host)
    before = _snapshot(notification)
    settings.TWILIO_AUTH_TOKEN = ""

    response = _post_twilio(client, "twilio_status", _status_params(notification, "delivered"), token="")

    assert response.status_code == 403
    assert _snapshot(notification) == before


def test_a_status_callback_for_an_unknown_message_is_acknowledged_and_changes_nothing(
    client, host, fake_twilio
):
    notification = _sent_notice(host)
    before = _snapshot(notification)
    params = {**_status_params(notification, "undelivered", "30003"), "MessageSid": "SM" + "f" * 32}

    response = _post_twilio(client, "twilio_status", params)

    assert response.status_code == 200
    assert _snapshot(notification) == before
    assert not AuditEvent.objects.filter(action="notice.provider_status").exists()


def test_status_callbacks_accept_only_post(client, fake_twilio):
    assert client.get(reverse("notifications:twilio_status")).status_code == 405


def test_a_status_callback_is_requested_only_for_a_public_https_site(settings, host, fake_twilio):
    _sent_notice(host, title="Local")
    settings.SITE_URL = "https://consultations.example.com"
    _sent_notice(host, title="Public", start_in=120)

    local, public = fake_twilio.requests
    assert local["status_callback"] == ""
    assert public["status_callback"] == "https://consultations.example.com/webhooks/twilio/status/"


# --- STOP and START ----------------------------------------------------------------------------------------


def _inbound(client, body: str, *, sender: str = PHONE, **kwargs):
    params = {
        # Every message people send has its own sid; one is acted on once.
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0123456789abcdef" * 2,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }
    return _post_twilio(client, "twilio_inbound", params, **kwargs)


def test_stop_reply_opts_the_contact_out_and_later_sms_is_not_sent(client, host, fake_twilio):
    first = _sent_notice(host)
    contact = first.participant.contact
    fake_twilio.reset()

    response = _inbound(client, "  stop ")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert "<Response" in response.content.decode()
    contact.refresh_from_db()
    assert contact.sms_opted_out_at is not None
    [audit] = AuditEvent.objects.filter(action="contact.sms_opt_out", object_id=str(contact.pk))
    assert audit.actor is None
    assert audit.details == {"opted_out": True}

    later = _schedule(host, title="Second visit", start_in=120)
    assert later.participant.contact == contact
    notice_deliver(notification_id=later.pk)

    later.refresh_from_db()
    assert later.status == Notification.Status.FAILED
    assert later.last_error == STOP_REASON
    assert later.provider_message_id == ""
    assert fake_twilio.requests == []
    assert fake_twilio.messages == []
    # Failed for good: handed to a worker again, it is not attempted.
    Notification.objects.filter(pk=later.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    assert notice_deliver(notification_id=later.pk) is None
    assert fake_twilio.requests == []

    client.force_login(host)
    detail = client.get(reverse("sessions:detail", kwargs={"pk": later.session_id})).content.decode()
    assert "SMS opted out" in detail
    assert "replied STOP to our text messages" in detail


def test_start_reply_clears_the_opt_out_and_the_next_sms_goes_out(client, host, fake_twilio):
    contact = _sent_notice(host).participant.contact
    _inbound(client, "STOP")
    fake_twilio.reset()

    response = _inbound(client, "Start")

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.sms_opted_out_at is None
    later = _schedule(host, title="Second visit", start_in=120)
    notice_deliver(notification_id=later.pk)
    later.refresh_from_db()
    [message] = fake_twilio.messages
    assert later.status == Notification.Status.SENT
    assert later.provider_message_id == message["sid"]
    assert message["to"] == PHONE
    assert [a.details for a in AuditEvent.objects.filter(action="contact.sms_opt_out").order_by("id")] == [
        {"opted_out": True},
        {"opted_out": False},
    ]


@pytest.mark.parametrize("keyword", ["STOP", "stopall", "Unsubscribe", "cancel", "END", " quit\n", "OPTOUT"])
def test_every_opt_out_keyword_from_sms_or_whatsapp_marks_every_contact_with_that_number(
    client, organization, fake_twilio, keyword
):
    here = ContactFactory(organization=organization, phone=PHONE)
    elsewhere = ContactFactory(organization=OrganizationFactory(), phone=PHONE)
    other_number = ContactFactory(organization=organization, phone="+447911999999")

    _inbound(client, keyword, sender=f"whatsapp:{PHONE}")

    opted_out = set(Contact.objects.filter(sms_opted_out_at__isnull=False).values_list("pk", flat=True))
    assert opted_out == {here.pk, elsewhere.pk}
    assert other_number.pk not in opted_out
    assert set(
        AuditEvent.objects.filter(action="contact.sms_opt_out").values_list("organization_id", flat=True)
    ) == {organization.pk, elsewhere.organization_id}


def test_other_replies_and_repeated_stops_change_nothing(client, organization, fake_twilio):
    contact = ContactFactory(organization=organization, phone=PHONE)

    _inbound(client, "stop texting me please")
    contact.refresh_from_db()
    assert contact.sms_opted_out_at is None

    _inbound(client, "STOP")
    contact.refresh_from_db()
    first_stop = contact.sms_opted_out_at
    _inbound(client, "STOP")
    contact.refresh_from_db()

    assert contact.sms_opted_out_at == first_stop
    assert AuditEvent.objects.filter(action="contact.sms_opt_out").count() == 1


def test_unsigned_or_wrongly_signed_stop_is_refused_and_changes_nothing(client, organization, fake_twilio):
    contact = ContactFactory(organization=organization, phone=PHONE)
    path = reverse("notifications:twilio_inbound")

    unsigned = client.post(path, {"From": PHONE, "Body": "STOP"})
    wrongly_signed = _inbound(client, "STOP", token="not-our-token")

    assert unsigned.status_code == 403
    assert wrongly_signed.status_code == 403
    contact.refresh_from_db()
    assert contact.sms_opted_out_at is None
    assert not AuditEvent.objects.filter(action="contact.sms_opt_out").exists()


def test_an_opt_out_does_not_stop_emails(client, host, fake_twilio):
    contact = _sent_notice(host).participant.contact
    _inbound(client, "STOP")
    contact.refresh_from_db()
    assert contact.sms_opted_out_at is not None

    email_notice = _schedule(host, method=InviteMethod.EMAIL, title="By email", start_in=120)
    notice_deliver(notification_id=email_notice.pk)

    email_notice.refresh_from_db()
    assert email_notice.participant.contact == contact
    assert email_notice.status == Notification.Status.SENT
    assert len(mail.outbox) == 1


# --- email tracking (anymail) -------------------------------------------------------------------------------


def _send_tracking(notification: Notification, event_type: str, **fields) -> None:
    event = AnymailTrackingEvent(
        event_type=event_type,
        message_id=notification.provider_message_id,
        recipient=notification.recipient,
        timestamp=timezone.now(),
        **fields,
    )
    tracking.send(sender=object, event=event, esp_name="Test")


def test_email_delivered_event_is_recorded(host):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)

    _send_tracking(notification, EventType.DELIVERED)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.provider_status == "delivered"
    assert notification.delivered_at is not None
    assert _provider_audits(notification).get().acting_for == host


def test_email_bounce_fails_the_notice_with_the_reason(client, host):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)

    _send_tracking(
        notification,
        EventType.BOUNCED,
        reject_reason=RejectReason.BOUNCED,
        description="The mailbox does not exist.",
    )

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.provider_status == "bounced"
    assert notification.last_error == "The email bounced: The mailbox does not exist."
    client.force_login(host)
    dashboard = client.get(reverse("sessions:dashboard")).content.decode()
    assert "The email bounced: The mailbox does not exist." in dashboard


def test_email_rejection_without_a_description_gives_the_reject_reason(host):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)

    _send_tracking(notification, EventType.REJECTED, reject_reason=RejectReason.BLOCKED)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.last_error == "The email service refused it: blocked."


def test_email_complaint_is_recorded_without_failing_the_notice(client, host):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)
    _send_tracking(notification, EventType.DELIVERED)

    _send_tracking(notification, EventType.COMPLAINED, reject_reason=RejectReason.SPAM)

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.provider_status == "complained"
    assert notification.delivered_at is not None
    assert notification.last_error == "pat@example.test marked the email as spam: spam."
    client.force_login(host)
    detail = client.get(reverse("sessions:detail", kwargs={"pk": notification.session_id})).content.decode()
    assert "Sent · complained" in detail
    assert "marked the email as spam" in detail


def test_email_opens_and_events_for_unknown_messages_change_nothing(host):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)

    _send_tracking(notification, EventType.OPENED)
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(event_type=EventType.BOUNCED, message_id="not-ours"),
        esp_name="Test",
    )

    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT
    assert notification.provider_status == ""
    assert not AuditEvent.objects.filter(action="notice.provider_status").exists()


# --- a real ESP webhook end to end: Postmark, through anymail's view ----------------------------------------

WEBHOOK_SECRET = "postmark-hooks:a-long-webhook-password"


def _postmark(client, payload: dict, *, credentials: str | None = WEBHOOK_SECRET):
    headers = {}
    if credentials is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    # Only the ESP that sends our mail has its tracking webhook served; the notice itself went out through
    # anymail's test backend before.
    with override_settings(EMAIL_BACKEND="anymail.backends.postmark.EmailBackend"):
        return client.post(
            "/anymail/postmark/tracking/",
            json.dumps(payload),
            content_type="application/json",
            headers=headers,
        )


def _postmark_bounce(notification: Notification) -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": notification.provider_message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": notification.recipient,
        "From": "no-reply@consultations.test",
        "BouncedAt": "2026-03-02T16:33:54.9070259Z",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Invitation",
        "Metadata": {},
    }


@pytest.fixture
def anymail_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}


def test_postmark_delivery_webhook_records_delivery(client, host, anymail_secret):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)

    response = _postmark(
        client,
        {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": notification.provider_message_id,
            "Recipient": notification.recipient,
            "Tag": "",
            "DeliveredAt": "2026-03-02T16:33:54.9070259Z",
            "Details": "Test delivery webhook details",
            "Metadata": {},
        },
    )

    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.provider_status == "delivered"
    assert notification.delivered_at.year == 2026


def test_postmark_bounce_webhook_fails_the_notice(client, host, anymail_secret):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)

    response = _postmark(client, _postmark_bounce(notification))

    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.status == Notification.Status.FAILED
    assert notification.provider_status == "bounced"
    assert notification.last_error.startswith(
        "The email bounced: The server was unable to deliver your message"
    )


@pytest.mark.parametrize("credentials", [None, "postmark-hooks:wrong-password"])
def test_anymail_webhook_without_the_right_credentials_is_refused(client, host, anymail_secret, credentials):
    notification = _sent_notice(host, method=InviteMethod.EMAIL)
    before = _snapshot(notification)

    response = _postmark(client, _postmark_bounce(notification), credentials=credentials)

    assert response.status_code in (400, 403)
    assert _snapshot(notification) == before
    assert not _provider_audits(notification).exists()


def test_deploy_check_warns_when_a_real_esp_has_no_webhook_secret(settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token"}

    [warning] = checks.anymail_webhooks_have_a_secret(None)
    assert warning.id == "notifications.W001"

    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "WEBHOOK_SECRET": WEBHOOK_SECRET}
    assert checks.anymail_webhooks_have_a_secret(None) == []
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {}
    assert checks.anymail_webhooks_have_a_secret(None) == []
