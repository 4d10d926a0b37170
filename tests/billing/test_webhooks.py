"""Stripe's webhook: only a verified, fresh, first-time event from the right account changes anything, and
rows only move forward."""

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditEvent
from billing.models import Invoice, Payment, Refund, StripeConnection, StripeEvent
from billing.services import (
    invoice_for_extension,
    payment_require,
    stripe_connect_refresh,
    stripe_connect_start,
)
from sessions_app.services import session_cancel
from tests.billing.steps import WEBHOOK, checkout, post_event
from tests.factories import ParticipantFactory, SessionFactory
from tests.support.fake_stripe import SECRET_KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(fake_stripe, account_id, host, participant) -> Payment:
    """A payment asked and its Checkout Session paid at Stripe, before any event has arrived."""
    payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    checkout(participant)
    payment = Payment.objects.get()
    fake_stripe.mark_paid(payment.checkout_session_id)
    return payment


def _completed(fake_stripe, payment, **changes):
    checkout_session = {**fake_stripe.get(payment.checkout_session_id), **changes}
    return fake_stripe.event("checkout.session.completed", checkout_session)


def test_a_payment_is_paid_only_by_the_verified_event(client, fake_stripe, opened):
    assert Payment.objects.get().status == Payment.Status.DUE

    response = post_event(client, fake_stripe, _completed(fake_stripe, opened))

    assert response.status_code == 200
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PAID
    assert payment.paid_at is not None
    assert payment.payment_intent_id == fake_stripe.get(payment.checkout_session_id)["payment_intent"]
    assert AuditEvent.objects.get(action=AuditAction.PAYMENT_PAID).details["source"] == "webhook"


def test_async_payment_succeeded_pays_too(client, fake_stripe, opened):
    checkout_session = fake_stripe.get(opened.checkout_session_id)
    post_event(
        client, fake_stripe, fake_stripe.event("checkout.session.async_payment_succeeded", checkout_session)
    )

    assert Payment.objects.get().status == Payment.Status.PAID


def test_a_completed_but_unpaid_checkout_pays_nothing(client, fake_stripe, opened):
    post_event(client, fake_stripe, _completed(fake_stripe, opened, payment_status="unpaid"))

    assert Payment.objects.get().status == Payment.Status.DUE


@pytest.mark.parametrize(
    "signing",
    [
        pytest.param({"secret": "whsec_forged"}, id="forged"),
        pytest.param({"timestamp": int(time.time()) - 301}, id="stale"),
    ],
)
def test_a_forged_or_stale_signature_is_403_and_changes_nothing(client, fake_stripe, opened, signing):
    response = post_event(client, fake_stripe, _completed(fake_stripe, opened), **signing)

    assert response.status_code == 403
    assert Payment.objects.get().status == Payment.Status.DUE
    assert not StripeEvent.objects.exists()


def test_an_unsigned_or_tampered_body_is_403(client, fake_stripe, opened):
    body, headers = fake_stripe.signed(_completed(fake_stripe, opened))
    tampered = body.replace(b'"amount_total": 6000', b'"amount_total": 6001')
    assert tampered != body

    unsigned = client.post(WEBHOOK, data=body, content_type="application/json")
    forged = client.post(
        WEBHOOK,
        data=tampered,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
    )

    assert (unsigned.status_code, forged.status_code) == (403, 403)
    assert Payment.objects.get().status == Payment.Status.DUE


def test_without_a_webhook_secret_the_endpoint_does_not_exist(client, fake_stripe, opened, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""

    assert post_event(client, fake_stripe, _completed(fake_stripe, opened)).status_code == 404
    assert Payment.objects.get().status == Payment.Status.DUE


def test_the_webhook_takes_only_post(client, fake_stripe):
    assert client.get(WEBHOOK).status_code == 405


def test_a_replayed_event_changes_nothing(client, fake_stripe, account_id, organization):
    connection = StripeConnection.objects.get(organization=organization)
    account = fake_stripe.get(account_id)
    disabled = fake_stripe.event("account.updated", {**account, "charges_enabled": False}, account=account_id)
    enabled = fake_stripe.event("account.updated", {**account, "charges_enabled": True}, account=account_id)

    post_event(client, fake_stripe, disabled)
    post_event(client, fake_stripe, enabled)
    replay = post_event(client, fake_stripe, disabled)

    assert replay.status_code == 200
    connection.refresh_from_db()
    assert connection.charges_enabled is True
    assert StripeEvent.objects.filter(event_id=disabled["id"]).count() == 1


def test_a_replayed_payment_event_is_acted_on_once(client, fake_stripe, opened):
    event = _completed(fake_stripe, opened)

    post_event(client, fake_stripe, event)
    post_event(client, fake_stripe, event)

    assert StripeEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.PAYMENT_PAID).count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"amount_total": 100}, id="amount"),
        pytest.param({"currency": "usd"}, id="currency"),
    ],
)
def test_a_payment_of_another_amount_or_currency_does_not_pay(client, fake_stripe, opened, changes):
    post_event(client, fake_stripe, _completed(fake_stripe, opened, **changes))

    assert Payment.objects.get().status == Payment.Status.DUE
    assert AuditEvent.objects.filter(action=AuditAction.PAYMENT_MISMATCH).count() == 1


def test_an_event_from_another_account_does_not_pay(client, fake_stripe, opened):
    checkout_session = fake_stripe.get(opened.checkout_session_id)
    event = fake_stripe.event("checkout.session.completed", checkout_session, account="acct_someone_else")

    assert post_event(client, fake_stripe, event).status_code == 200
    assert Payment.objects.get().status == Payment.Status.DUE


def test_a_late_checkout_event_does_not_undo_a_refund(
    client, fake_stripe, opened, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    event = _completed(fake_stripe, opened)
    post_event(client, fake_stripe, event)
    with django_capture_on_commit_callbacks(execute=True):
        session_cancel(actor=host, session=session)
    assert Payment.objects.get().status == Payment.Status.REFUNDED

    late = fake_stripe.event("checkout.session.completed", event["data"]["object"])
    post_event(client, fake_stripe, late)

    assert Payment.objects.get().status == Payment.Status.REFUNDED


def test_a_refund_pending_at_stripe_is_finished_by_its_event_and_only_forward(
    client, fake_stripe, opened, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    post_event(client, fake_stripe, _completed(fake_stripe, opened))
    fake_stripe.refund_status = "pending"
    with django_capture_on_commit_callbacks(execute=True):
        session_cancel(actor=host, session=session)
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING and refund.stripe_refund_id

    at_stripe = fake_stripe.get(refund.stripe_refund_id)
    post_event(client, fake_stripe, fake_stripe.event("refund.updated", {**at_stripe, "status": "succeeded"}))
    post_event(client, fake_stripe, fake_stripe.event("refund.updated", {**at_stripe, "status": "failed"}))

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert Payment.objects.get().status == Payment.Status.REFUNDED


def test_a_refund_made_in_the_stripe_dashboard_shows_on_the_payment(client, fake_stripe, opened):
    post_event(client, fake_stripe, _completed(fake_stripe, opened))
    payment = Payment.objects.get()
    charge = {
        "id": "ch_dashboard",
        "object": "charge",
        "payment_intent": payment.payment_intent_id,
        "amount": 6000,
        "amount_refunded": 2000,
    }

    post_event(
        client, fake_stripe, fake_stripe.event("charge.refunded", charge, account=opened_account(payment))
    )

    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.PARTIALLY_REFUNDED, 2000)


def opened_account(payment: Payment) -> str:
    return StripeConnection.objects.get(organization_id=payment.organization_id).account_id


def test_invoice_events_move_it_forward_only(
    client,
    fake_stripe,
    account_id,
    host,
    session,
    participant,
    run_billing_tasks,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_for_extension(
            actor=host,
            session=session,
            participant=participant,
            amount=2500,
            due_date=timezone.localdate() + timezone.timedelta(days=7),
        )
    invoice.refresh_from_db()
    paid = fake_stripe.pay_invoice(invoice.stripe_invoice_id)

    post_event(client, fake_stripe, fake_stripe.event("invoice.paid", paid))
    post_event(client, fake_stripe, fake_stripe.event("invoice.sent", {**paid, "status": "open"}))
    post_event(client, fake_stripe, fake_stripe.event("invoice.voided", {**paid, "status": "void"}))

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert (
        AuditEvent.objects.filter(action=AuditAction.INVOICE_STATUS, object_id=str(invoice.pk)).count() == 2
    )


def test_every_call_carries_the_connected_account_and_an_idempotency_key(
    client,
    fake_stripe,
    opened,
    host,
    session,
    participant,
    run_billing_tasks,
    django_capture_on_commit_callbacks,
):
    post_event(client, fake_stripe, _completed(fake_stripe, opened))
    with django_capture_on_commit_callbacks(execute=True):
        invoice_for_extension(
            actor=host,
            session=session,
            participant=participant,
            amount=2500,
            due_date=timezone.localdate() + timezone.timedelta(days=7),
        )
    with django_capture_on_commit_callbacks(execute=True):
        session_cancel(actor=host, session=session)

    account = opened_account(opened)
    platform = ("/v1/accounts", "/v1/account_links")
    money_calls = [r for r in fake_stripe.requests if not r["path"].startswith(platform)]
    assert {r["path"].split("/")[2] for r in money_calls} >= {"checkout", "refunds", "customers", "invoices"}
    assert {r["stripe_account"] for r in money_calls} == {account}
    assert all(r["idempotency_key"] for r in fake_stripe.requests if r["method"] == "POST")


# --- the fake's own pages, for the demo -----------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.django_db(transaction=True)
def test_the_fake_checkout_pay_button_delivers_the_signed_event_to_the_site(fake_stripe, live_server, host):
    fake_stripe.webhook_url = live_server.url + WEBHOOK
    stripe_connect_start(actor=host, organization=host.organization, return_url=live_server.url + "/")
    fake_stripe.enable_account(fake_stripe.of_type("account")[0]["id"])
    stripe_connect_refresh(organization=host.organization)
    participant = ParticipantFactory(session=SessionFactory(host=host))
    payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    url = checkout(participant)

    page = urllib.request.urlopen(url, timeout=10).read().decode()
    assert "Pay 60.00 EUR" in page
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(_NoRedirect).open(urllib.request.Request(url, data=b"", method="POST"))

    payment = Payment.objects.get()
    assert answer.value.code == 303
    assert answer.value.headers["Location"] == f"http://testserver/paid/?cs={payment.checkout_session_id}"
    assert payment.status == Payment.Status.PAID
    assert fake_stripe.delivered == [
        {"event": StripeEvent.objects.get().event_id, "type": "checkout.session.completed", "status": 200}
    ]


def test_the_fake_runs_on_its_own_and_says_how_to_point_the_site_at_it():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_stripe", "--port", "0"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(4)]
    finally:
        process.terminate()
        process.wait(timeout=10)

    base = lines[0].split(" listening on ")[1].split(";")[0]
    assert lines[1:] == [
        f"STRIPE_SECRET_KEY={SECRET_KEY}",
        f"STRIPE_API_BASE_URL={base}",
        f"STRIPE_WEBHOOK_SECRET={WEBHOOK_SECRET}",
    ]
