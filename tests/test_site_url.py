"""The site's address (SITE_URL), on which every join link is built: on one machine it follows the port the
server runs on (PORT, as scripts/run.sh passes it) unless SITE_URL says otherwise; production has no
default at all.

Each case imports the settings in a fresh interpreter, as the web server, the worker and beat do."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_SITE_URL = "from django.conf import settings; print(settings.SITE_URL)"


def _settings_site_url(settings_module: str, **environment: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL")) and k not in {"SITE_URL", "PORT"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": settings_module, **environment})
    return subprocess.run(
        [sys.executable, "-c", PRINT_SITE_URL], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_in_development_the_site_address_follows_the_port():
    result = _settings_site_url("config.settings.dev", PORT="8801")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8801"


def test_in_development_without_a_port_the_site_address_is_the_default_port():
    result = _settings_site_url("config.settings.dev")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8000"


def test_in_development_site_url_overrides_the_port():
    result = _settings_site_url("config.settings.dev", PORT="8801", SITE_URL="https://consult.example.test/")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://consult.example.test"


@pytest.mark.parametrize("site_url", [None, "https://consultations.example.com"])
def test_production_requires_site_url_itself(site_url):
    environment = {
        "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-0123456789-xyz",
        "DJANGO_ALLOWED_HOSTS": "consultations.example.com",
        # A port is no address in production: it must not stand in for SITE_URL.
        "PORT": "8000",
    }
    if site_url:
        environment["SITE_URL"] = site_url

    result = _settings_site_url("config.settings.production", **environment)

    if site_url:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == site_url
    else:
        assert result.returncode != 0
        assert "SITE_URL" in result.stderr
