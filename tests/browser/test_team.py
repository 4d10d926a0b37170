"""The Team page in a real browser (issue 12): an admin invites a scheduler for one host, who accepts from
the invitation email in a browser of their own and books for that host; an admin deactivates a host and
hands their upcoming session to a colleague in the same step."""

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership, User
from notifications.services import notices_deliver_due
from sessions_app.models import Session
from tests.browser.support import expect, log_in
from tests.factories import ParticipantFactory, SessionFactory, member

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

INVITATION_LINK = re.compile(r"http://testserver(/welcome/[A-Za-z0-9_-]+/)")
PASSWORD = "a-long-fresh-password-42"


@pytest.fixture
def admin(organization):
    return member(role=Membership.Role.ADMIN, organization=organization, full_name="Morgan Admin")


def _status(page: "Page"):
    return page.get_by_role("status").filter(has_not=page.locator("#acting-for-banner"))


def test_an_invited_scheduler_accepts_in_their_own_browser_and_books_for_their_one_host(
    page, new_context, live_server, admin, host, other_host, screenshot
):
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(error))
    log_in(page, live_server, admin)
    page.goto(live_server.url + "/team/")

    form = page.locator("#invite-form")
    form.get_by_label("Email").fill("sue.new@example.test")
    form.get_by_label("Role").select_option("scheduler")
    # The fields of other roles step aside (static/js/team_forms.js).
    expect(form.get_by_label("Also hosts sessions")).to_be_hidden()
    expect(form.get_by_label(host.full_name)).to_be_hidden()
    form.get_by_label("Only these hosts").check()
    form.get_by_label(host.full_name).check()
    screenshot(page, "team-invite")
    form.get_by_role("button", name="Send invitation").click()

    expect(_status(page)).to_contain_text("Invitation sent to sue.new@example.test")
    expect(page.locator("#invitations-table")).to_contain_text("Pending")
    assert not script_errors

    notices_deliver_due()
    (email,) = [m for m in mail.outbox if m.to == ["sue.new@example.test"]]
    assert email.subject == f"You're invited to join {admin.organization.name} on Consultations"
    path = INVITATION_LINK.search(email.body).group(1)

    invited = new_context().new_page()
    invited.goto(live_server.url + path)
    # The token was traded for a cookie: the address bar no longer holds it.
    expect(invited).to_have_url(live_server.url + "/welcome/")
    expect(invited.get_by_role("heading", name=f"Join {admin.organization.name}")).to_be_visible()
    expect(invited.get_by_text("as a scheduler")).to_be_visible()
    invited.get_by_label("Your name").fill("Sue New")
    invited.get_by_label("Your time zone").select_option("Asia/Tokyo")
    invited.locator("#id_password").fill(PASSWORD)
    invited.get_by_label("Password again").fill(PASSWORD)
    invited.get_by_role("button", name=f"Join {admin.organization.name}").click()

    expect(invited).to_have_url(live_server.url + "/scheduling/")
    expect(invited.get_by_role("status")).to_contain_text("Welcome to")
    expect(invited.get_by_role("button", name="Log out")).to_be_visible()
    expect(invited.get_by_role("button", name=f"Schedule for {host.full_name}")).to_be_visible()
    expect(invited.get_by_role("button", name=f"Schedule for {other_host.full_name}")).to_have_count(0)
    screenshot(invited, "scheduling-one-host")

    invited.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    invited.get_by_role("link", name="Schedule session", exact=True).click()
    start = (timezone.now() + timedelta(days=1)).astimezone(host.zone)
    invited.locator("#id_title").fill("Intake call")
    invited.locator("#id_date").fill(f"{start:%Y-%m-%d}")
    invited.locator("#id_time").fill("11:00")
    participant = invited.locator("#participant-forms .participant-form").nth(0)
    participant.get_by_label("Name or initials").fill("Kim Client")
    participant.get_by_label("Session invite and reminders").select_option("email")
    participant.get_by_label("Email").fill("kim@example.test")
    participant.get_by_label("Time zone").select_option("Europe/Berlin")
    invited.get_by_role("button", name="Schedule and send invites").click()

    expect(invited).to_have_url(re.compile(r"/sessions/\d+/$"))
    sue = User.objects.get(email="sue.new@example.test")
    session = Session.objects.get(title="Intake call")
    assert (session.host, session.created_by) == (host, sue)
    assert (sue.full_name, sue.time_zone) == ("Sue New", "Asia/Tokyo")


def test_an_admin_deactivates_a_host_and_reassigns_their_upcoming_session_in_one_step(
    page, live_server, admin, host, other_host, screenshot
):
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    session = SessionFactory(host=host, title="Weekly review", start_at=start)
    ParticipantFactory(session=session, name="Pat", email="pat@example.test")
    log_in(page, live_server, admin)
    page.goto(live_server.url + "/team/")

    page.get_by_role("link", name=f"Deactivate {host.full_name}").click()
    expect(page.locator("#upcoming-sessions")).to_contain_text("Weekly review")
    expect(page.locator("#upcoming-sessions")).to_contain_text("(Europe/London)")
    page.get_by_label("Reassign them all to").check()
    expect(page.get_by_label("Reason for the cancellation (optional)")).to_be_hidden()
    page.get_by_label("New host").select_option(label=other_host.full_name)
    screenshot(page, "deactivate-reassign")
    page.get_by_role("button", name=f"Deactivate {host.full_name}").click()

    expect(page).to_have_url(live_server.url + "/team/")
    expect(_status(page)).to_contain_text(f"{host.full_name} is deactivated and can no longer log in.")
    expect(_status(page)).to_contain_text(f"now with {other_host.full_name}")
    row = page.locator(f"[data-member-id='{Membership.objects.get(user=host).pk}']")
    expect(row).to_contain_text("Deactivated")
    expect(row.get_by_role("button", name=f"Reactivate {host.full_name}")).to_be_visible()
    session.refresh_from_db()
    assert session.host == other_host and session.status == Session.Status.SCHEDULED
    assert not User.objects.get(pk=host.pk).is_active


def test_the_team_pages_and_the_welcome_page_pass_axe(page, new_context, live_server, admin, host, scheduler):
    from accounts.models import Membership
    from accounts.services import InvitationDetails, invitation_create
    from accounts.tokens import invitation_token
    from tests.browser.test_accessibility import AxeReport
    from tests.factories import SessionFactory

    SessionFactory(host=host, start_at=timezone.now() + timedelta(days=2))
    invitation = invitation_create(
        actor=admin, details=InvitationDetails(email="new.host@example.test", role=Membership.Role.HOST)
    )
    membership = Membership.objects.get(user=host)
    report = AxeReport(page, live_server)
    log_in(page, live_server, admin)
    report.visit("Team", "/team/")
    page.locator("#invite-form").get_by_label("Email").fill("not an address")
    report.submit_with_errors("Team, invitation refused", "#invite-form", "Send invitation")
    report.visit("Change role", f"/team/members/{membership.pk}/role/")
    report.visit("Deactivate, with upcoming sessions", f"/team/members/{membership.pk}/deactivate/")
    report.visit("A scheduler's hosts", f"/team/members/{Membership.objects.get(user=scheduler).pk}/hosts/")

    guest = new_context().new_page()
    report.use(guest)
    report.visit("Welcome form", f"/welcome/{invitation_token(invitation)}/")
    report.visit("Welcome link not valid", "/welcome/not-a-token/")
    report.assert_clean()
