"""Playwright fixtures for the browser tests: one Chromium per test run, a fresh context (cookies, storage)
per test, and more contexts on demand through `new_context` (e.g. a participant who is not logged in).

Every module here sets `pytestmark = pytest.mark.browser`; the root conftest.py turns that marker into a
skip when Chromium or Playwright is missing. Playwright is imported lazily for the same reason.

Set BROWSER_SCREENSHOT_DIR to a folder (outside the repository) to keep screenshots of the pages the tests
look at; a failing test always leaves a screenshot of its last page in its tmp_path.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread, which makes Django refuse database access from
# the test code ("You cannot call this from an async context") unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The same lookup as the root conftest.py's skip rule.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DEFAULT_TIMEOUT_MS = 10_000
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance):
    executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    browser = playwright_instance.chromium.launch(
        executable_path=executable, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser):
    """Open a fresh browser context (its own cookies): call it once per independent visitor."""
    from playwright.sync_api import expect

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("locale", "en-GB")
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        # The test database is an in-memory SQLite connection the live server shares with the test thread;
        # the browser's unprompted favicon request would otherwise hit Django (and the database, to load the
        # logged-in user) while the test itself may be querying.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(request, new_context, tmp_path):
    page = new_context().new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not page.is_closed():
        path = tmp_path / "failure.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            print(f"Screenshot of the last page: {path} ({page.url})")
        except Exception as exc:  # noqa: BLE001 - a failed screenshot must not hide the test's own failure
            print(f"Could not take a screenshot of the last page: {exc}")


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves a full-page PNG into BROWSER_SCREENSHOT_DIR when that is set."""
    folder = os.environ.get("BROWSER_SCREENSHOT_DIR")

    def take(page, name: str) -> Path | None:
        if not folder:
            return None
        path = Path(folder) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
