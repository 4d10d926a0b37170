"""The email service's tracking webhook is served only for the ESP that sends our mail and only with a
webhook secret; nothing else anymail could mount answers, and nothing answers 500 (issue 8, item 10)."""

import base64
import json
from datetime import timedelta

import pytest
from anymail import urls as anymail_urls
from django.utils import timezone

from accounts.models import AuditEvent
from contacts.models import InviteMethod
from notifications import checks
from notifications.models import Notification
from notifications.services import notice_deliver
from sessions_app.services import ParticipantDetails, session_schedule

SECRET = "postmark-hooks:a-long-webhook-password"
POSTMARK = "anymail.backends.postmark.EmailBackend"


@pytest.fixture
def email_notice(host) -> Notification:
    session = session_schedule(
        actor=host,
        host=host,
        title="Follow-up",
        start_at=timezone.now() + timedelta(minutes=30),
        duration_minutes=30,
        participants=[
            ParticipantDetails(name="Pat Patient", invite_method=InviteMethod.EMAIL, email="pat@example.test")
        ],
    )
    notice = Notification.objects.get(session=session, kind=Notification.Kind.INVITE)
    notice_deliver(notification_id=notice.pk)
    notice.refresh_from_db()
    assert notice.status == Notification.Status.SENT
    return notice


def _bounce(notice: Notification) -> str:
    return json.dumps(
        {
            "RecordType": "Bounce",
            "ID": 4323372036854775807,
            "Type": "HardBounce",
            "TypeCode": 1,
            "MessageID": notice.provider_message_id,
            "Description": "Forged: the mailbox does not exist.",
            "Email": notice.recipient,
            "BouncedAt": "2026-03-02T16:33:54.9070259Z",
            "Inactive": True,
            "Metadata": {},
        }
    )


def _post(client, path: str, body: str = "{}", credentials: str | None = None):
    headers = {}
    if credentials is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    return client.post(path, body, content_type="application/json", headers=headers)


def _unchanged(notice: Notification) -> bool:
    before = (notice.status, notice.provider_status, notice.last_error)
    notice.refresh_from_db()
    after = (notice.status, notice.provider_status, notice.last_error)
    return before == after and not AuditEvent.objects.filter(action="notice.provider_status").exists()


def test_a_forged_bounce_without_a_webhook_secret_finds_nothing(client, settings, email_notice):
    settings.EMAIL_BACKEND = POSTMARK
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token"}

    response = _post(client, "/anymail/postmark/tracking/", _bounce(email_notice))

    assert response.status_code == 404
    assert _unchanged(email_notice)


@pytest.mark.parametrize("credentials", [None, "postmark-hooks:wrong-password"])
def test_a_forged_bounce_without_the_right_credentials_is_refused(
    client, settings, email_notice, credentials
):
    settings.EMAIL_BACKEND = POSTMARK
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "WEBHOOK_SECRET": SECRET}

    response = _post(client, "/anymail/postmark/tracking/", _bounce(email_notice), credentials)

    assert response.status_code in (400, 401, 403)
    assert _unchanged(email_notice)


def test_the_configured_esp_with_the_right_credentials_is_heard(client, settings, email_notice):
    settings.EMAIL_BACKEND = POSTMARK
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "WEBHOOK_SECRET": SECRET}

    response = _post(client, "/anymail/postmark/tracking/", _bounce(email_notice), SECRET)

    assert response.status_code == 200
    email_notice.refresh_from_db()
    assert email_notice.status == Notification.Status.FAILED


def _every_anymail_url() -> list[str]:
    paths = []
    for pattern in anymail_urls.urlpatterns:
        route = str(pattern.pattern)
        # The one regular expression: Mailgun's inbound, with or without "_mime".
        paths.append("/anymail/" + ("mailgun/inbound/" if route.startswith("^") else route))
    return paths


@pytest.mark.parametrize(
    ("backend", "secret"),
    [(POSTMARK, SECRET), (POSTMARK, None), ("anymail.backends.test.EmailBackend", SECRET)],
)
def test_no_other_anymail_url_answers_and_none_fails(client, settings, email_notice, backend, secret):
    settings.EMAIL_BACKEND = backend
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", **({"WEBHOOK_SECRET": secret} if secret else {})}
    paths = _every_anymail_url()
    assert len(paths) == 27

    answers = {path: _post(client, path, _bounce(email_notice), SECRET).status_code for path in paths}

    served = "/anymail/postmark/tracking/" if backend == POSTMARK and secret else None
    assert {path: status for path, status in answers.items() if path != served} == dict.fromkeys(
        set(paths) - {served}, 404
    )
    assert 500 not in answers.values()


def test_check_deploy_reports_an_esp_whose_webhook_cannot_check_signatures(settings):
    settings.EMAIL_BACKEND = "anymail.backends.postal.EmailBackend"
    settings.ANYMAIL = {"POSTAL_API_KEY": "key", "WEBHOOK_SECRET": SECRET}

    [error] = checks.anymail_webhooks_have_a_secret(None)

    assert error.id == "notifications.E003"
    assert "POSTAL_WEBHOOK_KEY" in error.msg
    settings.ANYMAIL["POSTAL_WEBHOOK_KEY"] = "a-public-key"
    assert checks.anymail_webhooks_have_a_secret(None) == []
