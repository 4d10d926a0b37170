import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-0123456789-xyz",
    "DJANGO_ALLOWED_HOSTS": "consultations.example.com",
    "SITE_URL": "https://consultations.example.com",
    "DATABASE_URL": "sqlite:////tmp/consultations-deploy-check.sqlite3",
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


def test_compose_file_runs_web_worker_beat_postgres_and_redis():
    compose = (ROOT / "docker-compose.yml").read_text()
    for service in ("web:", "worker:", "beat:", "db:", "redis:"):
        assert f"\n  {service}" in compose
    assert "gunicorn" in compose and "celery" in compose


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_broker(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] != "ok"


def test_every_provider_call_has_a_timeout(settings):
    assert settings.ANYMAIL["REQUESTS_TIMEOUT"] == settings.PROVIDER_TIMEOUT_SECONDS
    assert settings.EMAIL_TIMEOUT == settings.PROVIDER_TIMEOUT_SECONDS
    from notifications.channels import twilio_client

    assert twilio_client().http_client.timeout == settings.PROVIDER_TIMEOUT_SECONDS
