"""What every browser test uses: Playwright's expect, and logging in through the real login page."""

from typing import TYPE_CHECKING

from tests.factories import PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # the root conftest.py skips (or, in CI, fails) browser tests and says why
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Page


def log_in(page: "Page", live_server, user) -> None:
    page.goto(live_server.url + "/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
