"""A host changes their time zone on the profile and every page follows; an admin filters the audit log and
exports it (issue 12, items 4 and 6), clicked through in Chromium."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Membership
from tests.browser.support import expect, log_in
from tests.factories import member

pytestmark = pytest.mark.browser


def test_a_host_changes_their_time_zone_and_the_dashboard_follows(page, live_server, host, screenshot):
    log_in(page, live_server, host)
    page.goto(live_server.url + "/")
    expect(page.get_by_text("Times in Europe/London.")).to_be_visible()

    page.goto(live_server.url + "/profile/")
    page.get_by_label("Your time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save profile").click()

    expect(page.get_by_role("status")).to_contain_text("Profile saved. Times are shown in America/New_York.")
    screenshot(page, "profile-saved")
    page.goto(live_server.url + "/")
    expect(page.get_by_text("Times in America/New_York.")).to_be_visible()
    assert AuditEvent.objects.filter(action=AuditAction.PROFILE_UPDATE.value, actor=host).exists()


def test_an_admin_filters_the_audit_log_by_action_and_exports_it(
    page, live_server, host, organization, screenshot
):
    admin = member(role=Membership.Role.ADMIN, organization=organization, full_name="Ann Admin")
    for action, details in (
        (AuditAction.ROOM_ADD, {"name": "Blue room"}),
        (AuditAction.REMINDERS_UPDATE, {"reminder_lead_minutes": [1440, 60]}),
    ):
        AuditEvent.objects.create(
            organization=organization,
            actor=host,
            acting_for=host,
            action=action.value,
            object_type="accounts.organization",
            object_id=str(organization.pk),
            details=details,
            created_at=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        )
    log_in(page, live_server, admin)
    page.goto(live_server.url + "/audit/")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(2)

    page.locator("#audit-filters").get_by_label("Action").select_option(label="Reminder times changed")
    page.get_by_role("button", name="Filter").click()

    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Dr Ada Host")
    expect(rows.nth(0)).to_contain_text("Thu 15 Jan 2026, 09:30 GMT")
    expect(rows.nth(0)).to_contain_text("Reminders: 1d, 1h")
    screenshot(page, "audit-log-filtered")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"audit-log-[\w-]+-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "Reminder times changed" in content and "Blue room" not in content
    export = AuditEvent.objects.get(action=AuditAction.AUDIT_LOG_EXPORT.value)
    assert export.actor == admin and export.details == {"filters": {"action": "reminders.update"}}


def test_the_profile_settings_audit_and_sign_up_pages_pass_axe(
    page, live_server, host, organization, settings
):
    from tests.browser.test_accessibility import AxeReport

    settings.ALLOW_SIGNUP = True
    admin = member(role=Membership.Role.ADMIN, organization=organization, full_name="Ann Admin")
    AuditEvent.objects.create(
        organization=organization,
        actor=admin,
        action=AuditAction.ROOM_ADD.value,
        object_type="accounts.organization",
        object_id=str(organization.pk),
        details={"name": "Blue room"},
    )
    report = AxeReport(page, live_server)
    report.visit("Sign up", "/signup/")
    report.submit_with_errors("Sign up", "#signup-form", "Create the organisation")
    report.visit("Email confirmation, link not valid", "/profile/email/confirm/not-a-token/")
    log_in(page, live_server, admin)
    report.visit("Profile", "/profile/")
    page.get_by_label("Your name").fill("")
    report.submit_with_errors("Profile", "#profile-form", "Save profile")
    report.visit("Change password", "/profile/password/")
    report.visit("Organisation settings", "/organisation/settings/")
    page.get_by_label("Cancellation window (hours)").fill("-1")
    report.submit_with_errors("Organisation settings", "#organization-settings-form", "Save settings")
    report.visit("Audit log", "/audit/")
    report.visit("Audit log, filters refused", "/audit/?start=2026-10-12&end=2026-10-01")
    report.assert_clean()
