"""What every browser test uses: Playwright's expect, logging in through the real login page, and axe-core's
accessibility check of a page."""

from pathlib import Path
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


# axe-core is a devDependency (package.json), installed into node_modules by `make test`; it is never copied
# into static/, so no page of the product can load it.
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_RULE_SETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page: "Page", impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """What axe-core finds on the page as it stands, at the given impacts: id, impact, help and the CSS
    targets of the offending elements.

    axe is put into the page with page.evaluate (a DevTools evaluation, which the page's CSP does not
    govern) rather than add_script_tag, whose inline <script> our `script-src 'self'` refuses. Not
    bypass_csp: the page under test keeps its real policy, so axe sees what a visitor's browser renders."""
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: run `make assets` (npm ci installs axe-core)"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async (ruleSets) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: ruleSets}});
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map((node) => node.target.join(" ")),
                why: v.nodes[0].failureSummary,
            }));
        }""",
        AXE_RULE_SETS,
    )
    return [violation for violation in violations if violation["impact"] in impacts]


def describe_violations(violations: list[dict]) -> str:
    return "\n".join(
        f"  [{v['impact']}] {v['id']}: {v['help']} -> {', '.join(v['targets'][:5])}\n    {v['why']}"
        for v in violations
    )
