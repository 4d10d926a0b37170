"""Every page of the product, checked by axe-core in Chromium (WCAG 2.1 A and AA, and axe's best practices):
as a host, as a scheduler acting for a host, as a participant following their join link, and logged out.
Forms are also checked with their errors shown. A serious or critical violation fails the test, which
lists every page's violations at once (rule, what it asks, where)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Payment, Service, StripeConnection
from documents.models import DocumentField, Packet
from documents.services import document_create, document_field_add
from sessions_app.join.links import join_url
from sessions_app.models import Participant, Room, Session
from tests.browser.support import axe_violations, describe_violations, expect, log_in
from tests.factories import ContactFactory, ParticipantFactory, SessionFactory

pytestmark = pytest.mark.browser


class AxeReport:
    """The violations found on each page visited, reported together at the end of a test."""

    def __init__(self, page, live_server):
        self.base = live_server.url
        self.found: dict[str, list[dict]] = {}
        self.visited: list[str] = []
        self.use(page)

    def use(self, page) -> None:
        """Checks this page (another visitor's, say) from now on."""
        # Bootstrap turns its transitions off for reduced motion, so a colour is never measured half-way
        # through one (an opened menu's button, a fading alert).
        page.emulate_media(reduced_motion="reduce")
        self.page = page

    def check(self, label: str) -> None:
        self.visited.append(label)
        # A live availability check greys its previous answer while it runs (the htmx indicator): that
        # answer is stale on purpose, so axe measures the page once the check has come back. A page asks
        # for its first answer as it loads, so first the network has to go quiet: a check not yet sent
        # has no .htmx-request to wait for.
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function("() => !document.querySelector('.htmx-request')")
        violations = axe_violations(self.page)
        if violations:
            self.found[f"{label} ({self.page.url})"] = violations

    def visit(self, label: str, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 500, f"{label}: {path} answered {response.status}"
        self.check(label)

    def submit_with_errors(self, label: str, form: str, button: str) -> None:
        """Sends the form as it is (empty or with what was filled) and checks the page with its errors."""
        self.page.locator(form).get_by_role("button", name=button).click()
        expect(self.page.locator(f"{form} .invalid-feedback, {form} .alert-danger").first).to_be_visible()
        self.check(f"{label}, with errors")

    def assert_clean(self) -> None:
        assert not self.found, "axe-core found serious or critical violations:\n" + "\n".join(
            f"{page}:\n{describe_violations(violations)}" for page, violations in self.found.items()
        )


@pytest.fixture
def practice(host, other_host):
    """A host's working world: sessions to come, held, cancelled and just ended; contacts, rooms,
    documents and a packet, a service and a payment."""
    now = timezone.now()
    contact = ContactFactory(organization=host.organization, name="Maria Lopez")
    Room.objects.create(organization=host.organization, name="Blue room")
    upcoming = SessionFactory(
        host=host,
        start_at=now + timedelta(days=1),
        title="Initial assessment and treatment planning with the whole family",
    )
    for name in ("Maria Lopez", "Jon Lopez", "Ana Lopez"):
        ParticipantFactory(session=upcoming, name=name, contact=contact if name == "Maria Lopez" else None)
    just_ended = SessionFactory(host=host, start_at=now - timedelta(minutes=80), title="Just ended")
    ParticipantFactory(session=just_ended, name="Pat Client")
    for days, title, extra in [
        (-20, "Intake", {}),
        (-13, "Follow-up", {"no_show": True}),
        (-6, "Check-in", {"status": Session.Status.CANCELLED, "cancel_reason": "Client travelling"}),
        (9, "Review", {"status": Session.Status.CANCELLED, "cancel_reason": "Host on leave"}),
    ]:
        session = SessionFactory(host=host, start_at=now + timedelta(days=days), title=title, **extra)
        ParticipantFactory(session=session, name=f"{title} client")
    consent = document_create(actor=host, title="Consent to treatment", is_required=True)
    field = document_field_add(
        actor=host, document=consent, kind=DocumentField.Kind.CONSENT, label="I agree", required=True
    )
    packet = Packet.objects.create(organization=host.organization, name="New client")
    packet.documents.add(consent)
    service = Service.objects.create(organization=host.organization, name="Consultation", price_amount=8000)
    Payment.objects.create(
        organization=host.organization,
        session=upcoming,
        participant=upcoming.participants.first(),
        amount=8000,
        currency="eur",
    )
    return {
        "upcoming": upcoming,
        "participant": upcoming.participants.order_by("id").first(),
        "just_ended": just_ended,
        "contact": contact,
        "document": consent,
        "field": field,
        "packet": packet,
        "service": service,
    }


def test_every_host_page_passes_axe(page, live_server, host, practice):
    report = AxeReport(page, live_server)
    session, participant = practice["upcoming"], practice["participant"]
    ended, contact, document = practice["just_ended"], practice["contact"], practice["document"]
    log_in(page, live_server, host)

    report.visit("Dashboard", reverse("sessions:dashboard"))
    page.get_by_role("button", name="Manage").first.click()
    report.check("Dashboard, Manage menu open")
    report.visit("Session page", reverse("sessions:detail", args=[session.pk]))
    report.visit("Schedule form", reverse("sessions:schedule"))
    report.submit_with_errors("Schedule form", "#schedule-form", "Schedule")
    report.visit("Add participant", reverse("sessions:participant_add", args=[session.pk]))
    report.submit_with_errors("Add participant", "#participant-add-form", "Add participant")
    report.visit("Edit participant", reverse("sessions:participant_edit", args=[session.pk, participant.pk]))
    report.visit(
        "Remove participant", reverse("sessions:participant_remove", args=[session.pk, participant.pk])
    )
    for name in ("reschedule", "cancel", "schedule_next", "change_end", "reassign"):
        report.visit(name.replace("_", " ").capitalize(), reverse(f"sessions:{name}", args=[session.pk]))
    report.visit("Reschedule", reverse("sessions:reschedule", args=[session.pk]))
    page.locator("#reschedule-form").get_by_label("Date").fill("")
    report.submit_with_errors("Reschedule", "#reschedule-form", "Reschedule")
    report.visit("No-show", reverse("sessions:no_show", args=[ended.pk]))
    report.visit("Remove session", reverse("sessions:remove", args=[ended.pk]))

    report.visit("Calendar week", reverse("sessions:calendar") + "?view=week")
    report.visit("Calendar month", reverse("sessions:calendar") + "?view=month")
    report.visit("History", reverse("sessions:history"))
    report.visit("History, filters refused", reverse("sessions:history") + "?start=2026-10-12&end=2026-10-01")
    report.visit("Working hours", reverse("sessions:working_hours"))
    report.submit_with_errors("Working hours", "#working-hours-form", "Add hours")
    report.visit("Rooms", reverse("sessions:rooms"))
    report.visit("Reminders", reverse("sessions:reminder_settings"))
    report.visit("Dev outbox", "/dev/outbox/")

    report.visit("Contacts", reverse("contacts:list"))
    report.visit("New contact", reverse("contacts:create"))
    report.submit_with_errors("New contact", "#contact-form", "Add contact")
    report.visit("Contact", reverse("contacts:detail", args=[contact.pk]))
    report.visit("Edit contact", reverse("contacts:edit", args=[contact.pk]))
    report.visit("Delete contact", reverse("contacts:delete", args=[contact.pk]))
    report.visit("Export a contact's data", reverse("contacts:export_data", args=[contact.pk]))
    report.visit("Erase contact", reverse("contacts:erase", args=[contact.pk]))
    report.visit("Import contacts", reverse("contacts:import"))

    report.visit("Documents", reverse("documents:list"))
    report.visit("New document", reverse("documents:document_create"))
    report.submit_with_errors("New document", "#document-form", "Create document")
    report.visit("Document editor", reverse("documents:document_edit", args=[document.pk]))
    report.visit("Edit field", reverse("documents:field_edit", args=[document.pk, practice["field"].pk]))
    report.visit("Delete document", reverse("documents:document_delete", args=[document.pk]))
    report.visit("New packet", reverse("documents:packet_create"))
    report.visit("Packet", reverse("documents:packet_edit", args=[practice["packet"].pk]))
    report.visit("Delete packet", reverse("documents:packet_delete", args=[practice["packet"].pk]))

    report.visit("Payments", reverse("billing:payments"))
    report.visit("Services", reverse("billing:services"))
    report.visit("New service", reverse("billing:service_create"))
    report.submit_with_errors("New service", "#service-form", "Add service")
    report.visit("Edit service", reverse("billing:service_edit", args=[practice["service"].pk]))
    report.visit("Payment settings", reverse("billing:settings"))

    report.visit("Not found", "/no-such-page/")
    assert len(report.visited) > 50
    report.assert_clean()


def test_every_scheduler_page_passes_axe(page, live_server, host, scheduler, practice):
    report = AxeReport(page, live_server)
    session = practice["upcoming"]
    log_in(page, live_server, scheduler)
    report.visit("Scheduling", reverse("accounts:scheduling"))
    page.get_by_role("button", name=f"Schedule for {host.full_name}").click()
    expect(page.locator("#acting-for-banner")).to_be_visible()
    report.check("Dashboard, acting for a host")
    report.visit("Session page, acting for a host", reverse("sessions:detail", args=[session.pk]))
    report.visit("Schedule form, acting for a host", reverse("sessions:schedule"))
    report.visit("Calendar week, acting for a host", reverse("sessions:calendar") + "?view=week")
    report.visit("Calendar month, acting for a host", reverse("sessions:calendar") + "?view=month")
    report.visit("History, acting for a host", reverse("sessions:history"))
    report.visit("Rooms, acting for a host", reverse("sessions:rooms"))
    report.submit_with_errors("Rooms", "#room-add-form", "Add room")
    report.visit("Contacts, as a scheduler", reverse("contacts:list"))
    report.visit("Documents, as a scheduler", reverse("documents:list"))
    report.visit("Payments, as a scheduler", reverse("billing:payments"))
    report.assert_clean()


def test_the_logged_out_pages_pass_axe(page, live_server, host):
    report = AxeReport(page, live_server)
    report.visit("Log in", reverse("login"))
    page.get_by_label("Email").fill(host.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".alert-danger, .invalid-feedback").first).to_be_visible()
    report.check("Log in, with a wrong password")
    report.visit("Password reset", reverse("password_reset"))
    page.get_by_label("Email").fill(host.email)
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(live_server.url + reverse("password_reset_done"))
    report.check("Password reset sent")
    report.visit(
        "Password reset, link not valid",
        reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "not-a-token"}),
    )
    report.visit("Password reset complete", reverse("password_reset_complete"))
    report.visit("Not found, logged out", "/no-such-page/")
    report.assert_clean()


def _join(guest, live_server, participant: Participant) -> None:
    guest.goto(live_server.url + urlsplit(join_url(participant)).path)


def test_the_participant_pages_pass_axe(new_context, live_server, host, fake_stripe):
    now = timezone.now()
    consent = document_create(actor=host, title="Consent to treatment", is_required=True)
    document_field_add(
        actor=host, document=consent, kind=DocumentField.Kind.CONSENT, label="I agree", required=True
    )
    soon = SessionFactory(host=host, start_at=now + timedelta(minutes=3), title="First visit")
    pat = ParticipantFactory(session=soon, name="Pat Client")
    guest = new_context().new_page()
    report = AxeReport(guest, live_server)

    _join(guest, live_server, pat)
    expect(guest).to_have_url(live_server.url + reverse("join:documents"))
    report.check("Participant's documents")
    guest.get_by_role("link", name="Fill in Consent to treatment").click()
    report.check("Participant's document")
    report.submit_with_errors("Participant's document", "#document-fill-form", "Submit")
    guest.get_by_label("I agree").check()
    guest.get_by_role("button", name="Submit").click()
    guest.get_by_role("link", name="Continue").click()
    expect(guest).to_have_url(live_server.url + reverse("join:lobby"))
    report.check("Waiting room")

    for title, start, status in [
        ("Not open yet", now + timedelta(days=2), Session.Status.SCHEDULED),
        ("Long over", now - timedelta(days=2), Session.Status.SCHEDULED),
        ("Called off", now + timedelta(days=2), Session.Status.CANCELLED),
    ]:
        session = SessionFactory(host=host, start_at=start, title=title, status=status)
        visitor = new_context().new_page()
        report.use(visitor)
        _join(visitor, live_server, ParticipantFactory(session=session))
        report.check(f"Join link, {title.lower()}")

    StripeConnection.objects.create(
        organization=host.organization, account_id="acct_browser", charges_enabled=True
    )
    payer = Participant.objects.create(session=soon, name="Sam", email="sam@example.test", time_zone="UTC")
    Payment.objects.create(
        organization=host.organization, session=soon, participant=payer, amount=8000, currency="eur"
    )
    report.use(new_context().new_page())
    _join(report.page, live_server, payer)
    expect(report.page).to_have_url(live_server.url + reverse("join:pay"))
    report.check("Pay page")
    report.visit("Join, unknown link", "/join/" + "x" * 43 + "/")
    report.assert_clean()


def test_axe_reports_a_form_control_without_a_label(page, live_server, host):
    """The check itself can fail: an unlabelled field put into a real page is reported."""
    log_in(page, live_server, host)
    page.goto(live_server.url + reverse("sessions:dashboard"))
    assert axe_violations(page) == []
    page.evaluate("() => document.querySelector('main').insertAdjacentHTML('beforeend', '<select></select>')")
    assert [v["id"] for v in axe_violations(page)] == ["select-name"]
