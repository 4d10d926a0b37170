"""Shared fixtures, and the rule for tests that need real services.

Tests marked `integration` need PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL); tests marked
`browser` need Chromium at /usr/bin/chromium. When one is missing they skip and say why, except with
REQUIRE_SERVICES=1 (CI), where a missing service fails the test instead.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

from accounts.models import Membership
from config import fragments
from notifications import services as notification_services
from tests.factories import OrganizationFactory, member
from tests.support.fake_stripe import FakeStripe

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def _missing_for_integration() -> str | None:
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        return "needs PostgreSQL: set DATABASE_URL=postgres://… (as .ci/run does)"
    if not _reachable(database_url, 5432):
        return f"PostgreSQL at {urlparse(database_url).hostname} is not reachable"
    if not broker_url.startswith("redis://"):
        return "needs Redis: set CELERY_BROKER_URL=redis://… (as .ci/run does)"
    if not _reachable(broker_url, 6379):
        return f"Redis at {urlparse(broker_url).hostname} is not reachable"
    return None


def _missing_for_browser() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (make test installs it)"
    return None


def pytest_collection_modifyitems(config, items):
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    checks = {"integration": _missing_for_integration, "browser": _missing_for_browser}
    reasons: dict[str, str | None] = {}
    for item in items:
        for marker, check in checks.items():
            if marker not in item.keywords:
                continue
            if marker not in reasons:
                reasons[marker] = check()
            reason = reasons[marker]
            if reason is None:
                continue
            if required:
                item.user_properties.append(("missing_service", reason))
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item):
    for name, reason in item.user_properties:
        if name == "missing_service":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)


@pytest.fixture(autouse=True)
def _fresh_page_fragments():
    """Each test starts with no page rendered before: a database rolled back can give a new row an old id."""
    fragments.store.clear()


@pytest.fixture(autouse=True)
def _no_delivery_pace():
    """Each test's first batch in a thread reads all its rows, whatever pace an earlier test's batches set."""
    notification_services._pace.__dict__.clear()


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def host(organization):
    return member(role=Membership.Role.HOST, organization=organization, full_name="Dr Ada Host")


@pytest.fixture
def other_host(organization):
    return member(role=Membership.Role.HOST, organization=organization, full_name="Dr Ben Colleague")


@pytest.fixture
def scheduler(organization):
    return member(role=Membership.Role.SCHEDULER, organization=organization, full_name="Sue Scheduler")


@pytest.fixture
def outsider_scheduler(db):
    return member(role=Membership.Role.SCHEDULER, full_name="Olly Outsider")


@pytest.fixture
def fake_stripe(settings, monkeypatch):
    """The real stripe SDK, answered by a local fake of Stripe's API in a thread (tests.support.fake_stripe).
    A browser test sets `fake_stripe.webhook_url` to its live server's /webhooks/stripe/ for the fake's
    Pay button to deliver the signed event there."""
    # Nothing may leave the machine: no proxy between the SDK and the fake.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with FakeStripe() as fake:
        for name, value in fake.settings().items():
            setattr(settings, name, value)
        yield fake
