"""Payments in real browsers, against the fake Stripe: a host connects Stripe and adds a service, asks a new
participant to pay (the service fills the amount in), and the participant pays on the fake Checkout page
before the waiting room opens to them. The fake's Pay button delivers the signed webhook to the site."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Payment, Service, StripeConnection
from sessions_app.join.links import join_url
from sessions_app.models import Participant
from tests.browser.support import expect, log_in
from tests.factories import SessionFactory

pytestmark = pytest.mark.browser


def _live(url: str, live_server) -> str:
    """A link built with the test SITE_URL (http://testserver), pointed at the live server instead."""
    assert url.startswith("http://testserver/"), url
    return live_server.url + url[len("http://testserver") :]


def _watch(page, problems: list) -> None:
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
    )


def test_a_participant_pays_before_the_waiting_room_opens(
    page, new_context, live_server, host, fake_stripe, screenshot
):
    fake_stripe.webhook_url = live_server.url + reverse("billing:stripe_webhook")
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=3), title="First visit")
    problems: list[str] = []
    _watch(page, problems)

    # The host connects the organisation's Stripe account and comes back from its onboarding.
    log_in(page, live_server, host)
    page.get_by_role("link", name="Payments", exact=True).first.click()
    page.get_by_role("link", name="Stripe and cancellations").click()
    page.get_by_role("button", name="Connect Stripe").click()
    page.get_by_role("button", name="Finish setup").click()
    expect(page).to_have_url(live_server.url + reverse("billing:settings"))
    expect(page.locator("#stripe-connection")).to_contain_text("Charges enabled")
    assert StripeConnection.objects.get(organization=host.organization).charges_enabled

    # A service, priced as people type prices.
    page.get_by_role("link", name="Services").click()
    page.get_by_role("link", name="New service").click()
    page.get_by_label("Name").fill("Consultation")
    page.get_by_label("Price").fill("80.00")
    page.get_by_role("button", name="Add service").click()
    expect(page.locator("#services-table")).to_contain_text("80.00 EUR")
    assert Service.objects.get().price_amount == 8000

    # Picking the service fills the amount in.
    page.goto(live_server.url + reverse("sessions:participant_add", kwargs={"pk": session.pk}))
    page.get_by_label("Name or initials").fill("Pat Client")
    page.get_by_label("Email").fill("pat@example.test")
    page.get_by_label("Service").select_option(label="Consultation · 80.00 EUR")
    expect(page.get_by_label("Payment required")).to_have_value("80.00")
    page.get_by_role("button", name="Add participant").click()
    expect(page.get_by_text("asked to pay 80.00 EUR")).to_be_visible()
    expect(page.locator("[data-payment-status='due']")).to_have_text("Due 80.00 EUR")
    pat = Participant.objects.get(name="Pat Client")

    # The participant opens their link: the pay step comes first, nothing past it is reachable.
    guest = new_context().new_page()
    _watch(guest, problems)
    guest.goto(_live(join_url(pat), live_server))
    expect(guest).to_have_url(live_server.url + reverse("join:pay"))
    guest.goto(live_server.url + reverse("join:documents"))
    expect(guest).to_have_url(live_server.url + reverse("join:pay"))
    screenshot(guest, "pay-step")
    guest.get_by_role("button", name="Pay 80.00 EUR").click()

    # Stripe's (fake) Checkout page: paying there delivers the signed event and returns to the site.
    expect(guest.get_by_role("heading", name="Pay (fake Stripe Checkout)")).to_be_visible()
    guest.get_by_role("button", name="Pay 80.00 EUR").click()
    expect(guest).to_have_url(live_server.url + reverse("join:lobby"))
    expect(guest.get_by_role("heading", name="The host will let you in")).to_be_visible()
    expect(guest.get_by_text("your payment is received")).to_be_visible()
    screenshot(guest, "waiting-room-after-paying")

    payment = Payment.objects.get(participant=pat)
    assert payment.status == Payment.Status.PAID and payment.payment_intent_id
    assert [d["status"] for d in fake_stripe.delivered if d["type"] == "checkout.session.completed"] == [200]

    page.goto(live_server.url + reverse("sessions:detail", kwargs={"pk": session.pk}))
    expect(page.locator("[data-payment-status='paid']")).to_have_text("Paid")
    page.goto(live_server.url + reverse("billing:payments"))
    expect(page.locator("#payments-table")).to_contain_text("Pat Client")
    assert problems == []


def test_a_participant_back_without_paying_is_let_in_once_the_webhook_says_paid(
    new_context, live_server, host, fake_stripe
):
    # No webhook address for the fake's Pay button: the test delivers the signed event itself, later.
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(minutes=3), title="Follow-up")
    StripeConnection.objects.create(
        organization=host.organization, account_id="acct_browser", charges_enabled=True
    )
    pat = Participant.objects.create(session=session, name="Sam", email="sam@example.test", time_zone="UTC")
    Payment.objects.create(
        organization=host.organization, session=session, participant=pat, amount=8000, currency="eur"
    )

    guest = new_context().new_page()
    guest.goto(_live(join_url(pat), live_server))
    guest.get_by_role("button", name="Pay 80.00 EUR").click()
    guest.get_by_role("link", name="Back without paying").click()
    expect(guest).to_have_url(live_server.url + reverse("join:pay"))
    [checkout] = fake_stripe.of_type("checkout.session")

    # Paid at Stripe another way (a second tab): the return asks Stripe and sees nothing yet to confirm
    # until the event arrives; the checking page reloads itself and moves on once it does.
    guest.goto(live_server.url + reverse("join:pay_return"))
    expect(guest.locator("#payment-checking")).to_be_visible()
    fake_stripe.mark_paid(checkout["id"])
    status = fake_stripe.deliver(
        fake_stripe.checkout_completed_event(checkout["id"]),
        live_server.url + reverse("billing:stripe_webhook"),
    )
    assert status == 200
    expect(guest.get_by_role("heading", name="The host will let you in")).to_be_visible(timeout=15_000)
    assert Payment.objects.get(participant=pat).status == Payment.Status.PAID
