"""Connecting Stripe, asking a payment and opening Checkout: the services, with the real SDK against the
fake Stripe."""

import pytest

from accounts.audit import AuditAction
from accounts.models import AuditEvent
from billing.models import Payment, Service, StripeConnection
from billing.selectors import payments_enabled, payments_visible_to
from billing.services import (
    PaymentProviderError,
    billing_settings_update,
    payment_confirm_from_checkout,
    payment_require,
    service_create,
    service_deactivate,
    service_update,
    stripe_connect_start,
)
from config.errors import PermissionDeniedError, ValidationFailedError
from sessions_app.services import session_cancel
from tests.billing.steps import checkout
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


# --- connecting the organisation's Stripe account ---------------------------------------------------------


def test_connect_creates_the_account_once_and_links_to_onboarding_every_time(fake_stripe, host, organization):
    first = stripe_connect_start(actor=host, organization=organization, return_url="http://testserver/back/")
    second = stripe_connect_start(actor=host, organization=organization, return_url="http://testserver/back/")

    [account] = fake_stripe.of_type("account")
    assert StripeConnection.objects.get(organization=organization).account_id == account["id"]
    assert first != second and first.startswith(fake_stripe.url + "/connect/onboard/")
    [create] = fake_stripe.requests_to("/v1/accounts", "POST")
    assert create["idempotency_key"] == f"account-{organization.pk}"
    assert create["params"]["type"] == "standard"
    links = fake_stripe.requests_to("/v1/account_links")
    assert [link["params"]["account"] for link in links] == [account["id"]] * 2
    assert AuditEvent.objects.filter(action=AuditAction.STRIPE_CONNECT).count() == 1


def test_connection_takes_payments_only_once_stripe_says_so(account_id, organization):
    connection = StripeConnection.objects.get(organization=organization)

    assert connection.account_id == account_id
    assert connection.charges_enabled is True
    assert AuditEvent.objects.filter(action=AuditAction.STRIPE_ACCOUNT_UPDATE).count() == 1


def test_a_scheduler_does_not_manage_the_organisations_payments(fake_stripe, scheduler, organization):
    with pytest.raises(PermissionDeniedError):
        stripe_connect_start(actor=scheduler, organization=organization, return_url="http://testserver/")
    with pytest.raises(PermissionDeniedError):
        service_create(
            actor=scheduler, organization=organization, name="Intake", price_amount=5000, currency="eur"
        )
    assert fake_stripe.requests == []


def test_without_a_stripe_key_payments_are_off(settings, host, organization, participant):
    settings.STRIPE_SECRET_KEY = ""

    assert payments_enabled() is False
    with pytest.raises(ValidationFailedError, match="Payments are off"):
        stripe_connect_start(actor=host, organization=organization, return_url="http://testserver/")
    with pytest.raises(ValidationFailedError, match="Payments are off"):
        payment_require(actor=host, participant=participant, amount=5000, currency="eur")


def test_stripe_unreachable_while_connecting_is_a_message_to_retry(fake_stripe, host, organization):
    fake_stripe.fail_next(1, status=503)

    with pytest.raises(PaymentProviderError, match="try again"):
        stripe_connect_start(actor=host, organization=organization, return_url="http://testserver/")
    assert not StripeConnection.objects.exists()


def test_late_cancel_setting_is_checked_and_audited(account_id, host, organization):
    with pytest.raises(ValidationFailedError):
        billing_settings_update(
            actor=host, organization=organization, late_cancel_hours=24, late_cancel_fee_percent=101
        )

    connection = billing_settings_update(
        actor=host, organization=organization, late_cancel_hours=24, late_cancel_fee_percent=50
    )

    assert (connection.late_cancel_hours, connection.late_cancel_fee_percent) == (24, 50)
    event = AuditEvent.objects.get(action=AuditAction.BILLING_SETTINGS_UPDATE)
    assert event.details["after"] == {"hours": 24, "percent": 50}


def test_services_are_created_changed_and_deactivated_not_deleted(host, organization):
    service = service_create(
        actor=host,
        organization=organization,
        name=" Intake ",
        price_amount=9000,
        currency="EUR",
        duration_minutes=60,
    )
    service = service_update(
        actor=host, service=service, name="Intake", price_amount=9500, currency="eur", duration_minutes=60
    )
    service = service_deactivate(actor=host, service=service)

    service.refresh_from_db()
    assert (service.name, service.price_amount, service.currency, service.is_active) == (
        "Intake",
        9500,
        "eur",
        False,
    )
    assert list(
        AuditEvent.objects.filter(object_type="billing.service")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [AuditAction.SERVICE_CREATE, AuditAction.SERVICE_UPDATE, AuditAction.SERVICE_DEACTIVATE]
    with pytest.raises(ValidationFailedError):
        service_create(actor=host, organization=organization, name="Free", price_amount=10.5, currency="eur")
    assert Service.objects.count() == 1


# --- asking a payment ----------------------------------------------------------------------------------


def test_asking_a_payment_makes_it_due_and_zero_asks_nothing_any_more(account_id, host, participant):
    service = service_create(
        actor=host,
        organization=participant.session.organization,
        name="Therapy",
        price_amount=6000,
        currency="eur",
    )
    payment = payment_require(
        actor=host, participant=participant, amount=6000, currency="EUR", service=service
    )

    assert (payment.status, payment.amount, payment.currency, payment.service) == (
        "due",
        6000,
        "eur",
        service,
    )
    payment = payment_require(actor=host, participant=participant, amount=0, currency="eur")
    assert payment.status == Payment.Status.CANCELLED
    payment = payment_require(actor=host, participant=participant, amount=4500, currency="eur")
    assert (payment.status, payment.amount) == (Payment.Status.DUE, 4500)
    assert Payment.objects.count() == 1
    actions = list(AuditEvent.objects.filter(object_type="billing.payment").values_list("action", flat=True))
    assert sorted(actions) == sorted(
        [AuditAction.PAYMENT_REQUIRE, AuditAction.PAYMENT_WAIVE, AuditAction.PAYMENT_REQUIRE]
    )


def test_a_payment_is_asked_only_once_stripe_can_take_it(fake_stripe, host, organization, participant):
    stripe_connect_start(actor=host, organization=organization, return_url="http://testserver/back/")

    with pytest.raises(ValidationFailedError, match="finish its setup"):
        payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    assert not Payment.objects.exists()


def test_a_paid_amount_can_no_longer_change(paid, host, participant):
    with pytest.raises(ValidationFailedError, match="paid already"):
        payment_require(actor=host, participant=participant, amount=1000, currency="eur")
    with pytest.raises(ValidationFailedError, match="paid already"):
        payment_require(actor=host, participant=participant, amount=0, currency="eur")


def test_a_host_cannot_ask_payments_on_a_colleagues_session(account_id, other_host, participant):
    with pytest.raises(PermissionDeniedError):
        payment_require(actor=other_host, participant=participant, amount=6000, currency="eur")


def test_payments_are_seen_by_their_host_and_the_organisations_scheduler(
    account_id, host, other_host, scheduler, outsider_scheduler, participant
):
    payment = payment_require(actor=host, participant=participant, amount=6000, currency="eur")

    assert list(payments_visible_to(host)) == [payment]
    assert list(payments_visible_to(scheduler)) == [payment]
    assert list(payments_visible_to(other_host)) == []
    assert list(payments_visible_to(outsider_scheduler)) == []


# --- Checkout --------------------------------------------------------------------------------------------


def test_checkout_opens_one_line_for_the_amount_on_the_connected_account(
    fake_stripe, account_id, host, participant
):
    payment = payment_require(actor=host, participant=participant, amount=6000, currency="eur")

    url = checkout(participant)

    payment.refresh_from_db()
    [request] = fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert request["stripe_account"] == account_id
    assert request["idempotency_key"] == f"checkout-{payment.pk}-1"
    assert request["params"] == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "6000",
        "line_items[0][price_data][product_data][name]": "Couples therapy",
        "client_reference_id": str(payment.pk),
        "metadata[payment_id]": str(payment.pk),
        "payment_intent_data[metadata][payment_id]": str(payment.pk),
        "success_url": "http://testserver/paid/?cs={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://testserver/pay/",
        "customer_email": "maria@example.test",
    }
    assert url == fake_stripe.get(payment.checkout_session_id)["url"]
    assert payment.status == Payment.Status.DUE


def test_a_second_checkout_closes_the_first_so_only_one_can_take_the_money(
    fake_stripe, account_id, host, participant
):
    payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    checkout(participant)
    first = Payment.objects.get().checkout_session_id

    checkout(participant)

    payment = Payment.objects.get()
    assert payment.checkout_session_id != first
    assert fake_stripe.get(first)["status"] == "expired"
    [expire] = fake_stripe.requests_to(f"/v1/checkout/sessions/{first}/expire")
    assert expire["idempotency_key"] == f"checkout-expire-{payment.pk}-1"
    assert [r["idempotency_key"] for r in fake_stripe.requests_to("/v1/checkout/sessions", "POST")][-1] == (
        f"checkout-{payment.pk}-2"
    )


def test_a_new_price_closes_the_checkout_opened_for_the_old_one(
    fake_stripe, account_id, host, participant, django_capture_on_commit_callbacks
):
    payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    checkout(participant)
    opened = Payment.objects.get().checkout_session_id

    with django_capture_on_commit_callbacks(execute=True):
        payment_require(actor=host, participant=participant, amount=7000, currency="eur")

    assert fake_stripe.get(opened)["status"] == "expired"


def test_checkout_is_refused_when_paid_or_the_session_is_cancelled(paid, fake_stripe, host, participant):
    with pytest.raises(ValidationFailedError, match="paid already"):
        checkout(participant)
    other = ParticipantFactory(session=SessionFactory(host=host), name="Ana Lopez")
    payment_require(actor=host, participant=other, amount=6000, currency="eur")
    session_cancel(actor=host, session=other.session)
    with pytest.raises(ValidationFailedError, match="nothing to pay"):
        checkout(other)


def test_coming_back_from_checkout_pays_only_when_stripe_says_paid(
    fake_stripe, account_id, host, participant
):
    payment = payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    checkout(participant)
    payment.refresh_from_db()

    payment = payment_confirm_from_checkout(payment=payment)
    assert payment.status == Payment.Status.DUE

    fake_stripe.mark_paid(payment.checkout_session_id)
    payment = payment_confirm_from_checkout(payment=payment)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.payment_intent_id == fake_stripe.get(payment.checkout_session_id)["payment_intent"]
    assert AuditEvent.objects.get(action=AuditAction.PAYMENT_PAID).details["source"] == "return"


def test_a_checkout_paid_in_another_tab_makes_the_next_click_paid(fake_stripe, account_id, host, participant):
    payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    checkout(participant)
    fake_stripe.mark_paid(Payment.objects.get().checkout_session_id)

    with pytest.raises(ValidationFailedError, match="paid already"):
        checkout(participant)

    assert Payment.objects.get().status == Payment.Status.PAID
    assert len(fake_stripe.requests_to("/v1/checkout/sessions", "POST")) == 1


def test_stripe_down_at_checkout_is_a_message_to_retry(fake_stripe, account_id, host, participant):
    payment_require(actor=host, participant=participant, amount=6000, currency="eur")
    fake_stripe.fail_next(1, status=500)

    with pytest.raises(PaymentProviderError, match="try again"):
        checkout(participant)

    checkout(participant)
    assert Payment.objects.get().checkout_session_id
