import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from notifications.models import SweepHeartbeat
from notifications.tasks import sweep_due_notices

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-0123456789-xyz",
    "DJANGO_ALLOWED_HOSTS": "consultations.example.com",
    "SITE_URL": "https://consultations.example.com",
    "DATABASE_URL": "sqlite:////tmp/consultations-deploy-check.sqlite3",
    # Without room tokens check --deploy warns (sessions_app.W001): a production room needs them.
    "JITSI_APP_ID": "consultations",
    "JITSI_APP_SECRET": "a-long-random-jitsi-app-secret-0123456789",
    # Notices must be deliverable: a real email service with its webhook secret, and Twilio for texts.
    "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
    "ANYMAIL_POSTMARK_SERVER_TOKEN": "postmark-server-token",
    "ANYMAIL_WEBHOOK_SECRET": "postmark-hooks:a-long-webhook-password",
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": "a-twilio-auth-token",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "TWILIO_WHATSAPP_FROM": "+15005550006",
}


def test_production_settings_pass_check_deploy_without_warnings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(PRODUCTION_ENV)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def _last_sweep(at):
    SweepHeartbeat.objects.update_or_create(pk=1, defaults={"at": at})


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_beat(client):
    _last_sweep(timezone.now())
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "beat": "ok"}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_broker(client, settings):
    _last_sweep(timezone.now())
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] != "ok"
    assert response.json()["status"] == "unhealthy"


@pytest.mark.django_db
def test_healthz_is_unhealthy_until_beat_has_swept_once(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "database": "ok", "broker": "ok", "beat": "never"}


@pytest.mark.django_db
def test_healthz_reports_beat_stale_after_three_missed_sweeps(client, settings):
    settings.NOTIFICATION_SWEEP_SECONDS = 10.0
    swept_at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    _last_sweep(swept_at)
    with time_machine.travel(swept_at + timedelta(seconds=30), tick=False):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["beat"] == "ok"
    with time_machine.travel(swept_at + timedelta(seconds=31), tick=False):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "database": "ok", "broker": "ok", "beat": "stale"}


@pytest.mark.django_db
def test_each_sweep_records_its_time_for_healthz():
    first, second = datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 1, 9, 0, 10, tzinfo=UTC)
    for moment in (first, second):
        with time_machine.travel(moment, tick=False):
            sweep_due_notices()
    assert list(SweepHeartbeat.objects.values_list("pk", "at")) == [(1, second)]


def test_task_time_limits_sit_between_the_provider_timeout_and_the_claim_lease(settings):
    # The hard limit must kill a stuck send before its claim lapses and another worker sends it again; the
    # soft limit must leave a provider call its whole time-out.
    assert (
        settings.PROVIDER_TIMEOUT_SECONDS
        < settings.CELERY_TASK_SOFT_TIME_LIMIT
        < settings.CELERY_TASK_TIME_LIMIT
        < settings.NOTIFICATION_CLAIM_LEASE_SECONDS
    )
    assert celery_app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert celery_app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT


def test_task_time_limits_follow_a_shorter_claim_lease():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_TASK_", "DATABASE_URL"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.test", "NOTIFICATION_CLAIM_LEASE_SECONDS": "100"})
    script = (
        "import django; django.setup(); from config.celery import app; "
        "print(app.conf.task_soft_time_limit, app.conf.task_time_limit)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["20.0", "40.0"]


def test_every_provider_call_has_a_timeout(settings):
    assert settings.ANYMAIL["REQUESTS_TIMEOUT"] == settings.PROVIDER_TIMEOUT_SECONDS
    assert settings.EMAIL_TIMEOUT == settings.PROVIDER_TIMEOUT_SECONDS
    from notifications.channels import twilio_client

    assert twilio_client().http_client.timeout == settings.PROVIDER_TIMEOUT_SECONDS
