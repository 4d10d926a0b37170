"""A production deployment that could not deliver its notices refuses to start; the container's health
probe works under the production hosts; every page carries a Content-Security-Policy without inline scripts
and a Permissions-Policy that lends the camera and microphone to the video engine only; password-reset
emails are limited without telling who has an account (issue 8, items 5, 14 and 16)."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.errors import ValidationFailedError
from contacts.models import InviteMethod
from notifications import channels
from notifications.channels import PermanentDeliveryError, text_channels_available
from notifications.models import SweepHeartbeat
from sessions_app.forms.schedule import ParticipantForm
from sessions_app.join.links import join_token
from sessions_app.services import ParticipantDetails, session_schedule
from tests.factories import ParticipantFactory, SessionFactory

ROOT = Path(__file__).resolve().parent.parent.parent

TWILIO_KEYS = {
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": "a-twilio-auth-token",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "TWILIO_WHATSAPP_FROM": "+15005550006",
}
NO_TWILIO = dict.fromkeys(TWILIO_KEYS, "")


@pytest.fixture
def production_notices(settings, monkeypatch):
    """What production.py says about notices, with a real email service and no Twilio keys."""
    # The browser tests' conftest sets this for Playwright; a deployment never has it (async.E001).
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    settings.TEXT_FILE_PROVIDER = False
    settings.TEXT_CHANNELS = ["sms", "whatsapp"]
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "WEBHOOK_SECRET": "hooks:a-long-password"}
    for name, value in NO_TWILIO.items():
        setattr(settings, name, value)
    return settings


def _deploy_check_errors() -> str:
    try:
        call_command("check", "--deploy")
    except SystemCheckError as exc:
        return str(exc)
    return ""


# --- Item 5: production that cannot deliver must not start quietly ------------------------------------------


@pytest.mark.parametrize(
    "backend",
    [
        "",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    ],
)
def test_check_deploy_fails_when_email_would_not_leave_the_server(production_notices, backend):
    production_notices.TEXT_CHANNELS = []
    production_notices.EMAIL_BACKEND = backend

    assert "notifications.E001" in _deploy_check_errors()


def test_check_deploy_passes_with_a_real_email_service_and_email_only(production_notices):
    production_notices.TEXT_CHANNELS = []

    assert _deploy_check_errors() == ""


def test_check_deploy_fails_when_sms_or_whatsapp_is_offered_without_twilio(production_notices):
    errors = _deploy_check_errors()

    assert "notifications.E002" in errors
    assert "SMS is offered" in errors and "WhatsApp is offered" in errors


def test_check_deploy_names_the_text_channel_that_has_no_sending_number(production_notices):
    for name, value in {**TWILIO_KEYS, "TWILIO_WHATSAPP_FROM": ""}.items():
        setattr(production_notices, name, value)

    errors = _deploy_check_errors()

    assert "WhatsApp is offered" in errors
    assert "SMS is offered" not in errors


def test_compose_defaults_fail_check_deploy():
    # docker-compose passes EMAIL_BACKEND="" and empty Twilio keys unless the operator sets them.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "TEXT_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-0123456789-xyz",
            "DJANGO_ALLOWED_HOSTS": "consultations.example.com",
            "SITE_URL": "https://consultations.example.com",
            "DATABASE_URL": "sqlite:////tmp/consultations-deploy-check.sqlite3",
            "EMAIL_BACKEND": "",
            **NO_TWILIO,
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "notifications.E001" in result.stderr
    assert "notifications.E002" in result.stderr


def test_production_hides_sms_and_whatsapp_without_twilio(production_notices):
    assert text_channels_available() == frozenset()
    choices = [value for value, _ in ParticipantForm().fields["invite_method"].choices]
    assert choices == [InviteMethod.EMAIL, InviteMethod.NONE]

    for name, value in TWILIO_KEYS.items():
        setattr(production_notices, name, value)
    choices = [value for value, _ in ParticipantForm().fields["invite_method"].choices]
    assert choices == [InviteMethod.EMAIL, InviteMethod.SMS, InviteMethod.WHATSAPP, InviteMethod.NONE]


def test_in_development_the_local_file_provider_counts_as_configured(settings):
    for name, value in NO_TWILIO.items():
        setattr(settings, name, value)
    settings.TEXT_FILE_PROVIDER = True

    assert text_channels_available() == {"sms", "whatsapp"}


@pytest.mark.django_db
def test_the_schedule_page_offers_no_text_method_that_cannot_be_sent(client, host, production_notices):
    client.force_login(host)

    page = client.get(reverse("sessions:schedule")).content.decode()

    assert 'value="email"' in page
    assert 'value="sms"' not in page
    assert 'value="whatsapp"' not in page


@pytest.mark.django_db
def test_scheduling_refuses_a_text_method_that_cannot_be_sent(host, production_notices):
    with pytest.raises(ValidationFailedError, match="SMS messages cannot be sent from this site") as refused:
        session_schedule(
            actor=host,
            host=host,
            title="Follow-up",
            start_at=timezone.now() + timedelta(days=1),
            duration_minutes=30,
            participants=[
                ParticipantDetails(name="Pat Patient", invite_method=InviteMethod.SMS, phone="+447911123456")
            ],
        )
    assert refused.value.field == "invite_method"


def test_production_never_writes_text_messages_to_files(production_notices, tmp_path):
    production_notices.SMS_FILE_PATH = tmp_path

    with pytest.raises(PermanentDeliveryError, match="cannot send SMS messages"):
        channels.send_text(channel="sms", to="+447911123456", body="Your session")
    assert list(tmp_path.iterdir()) == []


# --- Item 14: the container's health probe ------------------------------------------------------------------


@pytest.fixture
def production_hosts(settings):
    settings.ALLOWED_HOSTS = ["consultations.example.com"]
    settings.SECURE_SSL_REDIRECT = True


@pytest.mark.django_db
def test_the_container_probe_of_healthz_on_loopback_passes_under_production_hosts(production_hosts):
    SweepHeartbeat.objects.update_or_create(pk=1, defaults={"at": timezone.now()})

    response = Client(HTTP_HOST="127.0.0.1:8000").get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_other_pages_still_refuse_a_host_that_is_not_allowed(production_hosts):
    assert Client(HTTP_HOST="127.0.0.1:8000").get(reverse("login")).status_code == 400


# --- Item 16: Content-Security-Policy and Permissions-Policy ------------------------------------------------

VIDEO_ORIGIN = "http://127.0.0.1:9"  # JITSI_BASE_URL in the test settings


def _directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";")}


def _assert_security_headers(response):
    directives = _directives(response)
    assert directives["script-src"] == "script-src 'self'"
    assert (
        "unsafe-inline" not in directives["style-src"]
        and "unsafe-eval" not in response["Content-Security-Policy"]
    )
    assert directives["frame-src"] == f"frame-src {VIDEO_ORIGIN}"
    assert directives["object-src"] == "object-src 'none'"
    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "display-capture", "fullscreen"):
        assert f'{feature}=(self "{VIDEO_ORIGIN}")' in policy


@pytest.mark.django_db
def test_a_normal_page_carries_the_content_security_and_permissions_policies(client, host):
    client.force_login(host)

    _assert_security_headers(client.get(reverse("sessions:dashboard")))
    _assert_security_headers(client.get(reverse("login")))


@pytest.mark.django_db
def test_the_video_room_lends_camera_and_microphone_to_the_video_engine_only(client, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=2))
    client.force_login(host)
    client.post(reverse("sessions:connect", kwargs={"pk": session.pk}))

    room = client.get(reverse("sessions:video_room", kwargs={"pk": session.pk}))

    assert room.status_code == 200
    _assert_security_headers(room)
    frame = re.search(r"<iframe[^>]*>", room.content.decode()).group(0)
    assert f'src="{VIDEO_ORIGIN}/' in frame
    assert 'allow="camera; microphone; display-capture; fullscreen' in frame


@pytest.mark.django_db
def test_the_participants_room_carries_the_same_policies(client, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=2))
    # Let in by the host already: the lobby leads straight into the room.
    now = timezone.now()
    participant = ParticipantFactory(session=session, waiting_since=now, admitted_at=now)

    lobby = client.get(reverse("join:enter", kwargs={"token": join_token(participant)}), follow=True)

    assert "sessions_app/video_room.html" in [t.name for t in lobby.templates]
    _assert_security_headers(lobby)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\s(on[a-z]+|hx-on[:-][^=\s]*)\s*=", re.IGNORECASE)


def _assert_no_inline_script(html: str, where: str):
    assert not INLINE_SCRIPT.search(html), f"inline <script> in {where}"
    assert not EVENT_HANDLER.search(html), f"inline event handler in {where}"
    assert "javascript:" not in html.lower(), f"javascript: URL in {where}"


def test_no_template_has_an_inline_script_or_event_handler():
    templates = [p for p in (ROOT / "templates").rglob("*.html") if "email" not in p.parts]
    assert len(templates) > 20
    for path in templates:
        _assert_no_inline_script(path.read_text(), str(path.relative_to(ROOT)))


@pytest.mark.django_db
def test_no_rendered_page_has_an_inline_script_or_event_handler(client, host, scheduler):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=1))
    participant = ParticipantFactory(session=session)
    pages = [reverse("login"), reverse("password_reset"), reverse("password_reset_done")]
    for page in pages:
        _assert_no_inline_script(client.get(page).content.decode(), page)

    client.force_login(host)
    names = ["dashboard", "schedule", "calendar", "history", "working_hours", "rooms", "reminder_settings"]
    pages = [reverse(f"sessions:{name}") for name in names]
    pages += [
        reverse(f"sessions:{name}", kwargs={"pk": session.pk})
        for name in ("detail", "participant_add", "reschedule", "cancel", "schedule_next", "change_end")
    ]
    pages.append(
        reverse("sessions:participant_edit", kwargs={"pk": session.pk, "participant_pk": participant.pk})
    )
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        _assert_no_inline_script(html, page)
    # htmx neither injects its indicator <style> nor evaluates code, both of which the policy refuses.
    assert (
        """<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>""" in html
    )

    client.force_login(scheduler)
    page = reverse("accounts:scheduling")
    _assert_no_inline_script(client.get(page).content.decode(), page)


# --- Item 16: password-reset emails are limited, and the answer never changes ------------------------------


@pytest.fixture(autouse=True)
def _fresh_counts():
    # The limits count in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


def _ask_for_reset(client, email: str, address: str):
    response = client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    return response


@pytest.mark.django_db
def test_password_reset_emails_to_one_account_stop_after_three_an_hour(client, host):
    for n in range(5):
        _ask_for_reset(client, host.email, f"203.0.113.{n}")

    assert len(mail.outbox) == 3
    assert {tuple(message.to) for message in mail.outbox} == {(host.email,)}


@pytest.mark.django_db
def test_password_reset_requests_from_one_address_stop_after_five_an_hour(client, host, other_host):
    for n in range(5):
        _ask_for_reset(client, f"nobody{n}@example.test", "203.0.113.9")

    _ask_for_reset(client, host.email, "203.0.113.9")
    assert mail.outbox == []
    _ask_for_reset(client, other_host.email, "203.0.113.10")
    assert [message.to for message in mail.outbox] == [[other_host.email]]


@pytest.mark.django_db
def test_password_reset_limits_open_again_after_an_hour(client, host):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(4):
            _ask_for_reset(client, host.email, "203.0.113.1")
        assert len(mail.outbox) == 3
        clock.shift(timedelta(hours=1, seconds=1))
        _ask_for_reset(client, host.email, "203.0.113.1")
    assert len(mail.outbox) == 4
