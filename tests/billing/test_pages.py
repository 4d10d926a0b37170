"""The payment pages through HTTP: payments off without a key, the Stripe connection and the late-cancel
rule, services, the payment asked on the participant forms, the participant's pay step, the badges on the
dashboard and the session page, the invoice of an extension, and the Payments page with its CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from billing.models import Invoice, Payment, Refund, Service, StripeConnection
from config import fragments
from notifications.models import Notification
from sessions_app.models import Participant
from tests.billing.pages import (
    connect,
    owing,
    participant_client,
    participant_on,
    payments_on,  # noqa: F401 - a fixture
    service_of,
    soon_session,
)
from tests.factories import SessionFactory, member

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _person(**extra) -> dict:
    return {
        "name": "Kim New",
        "invite_method": "email",
        "email": "kim@example.test",
        "phone": "",
        "time_zone": "Europe/London",
        "contact_id": "",
        **extra,
    }


# Payments off -------------------------------------------------------------------------------------------


def test_payments_is_in_the_navigation_for_hosts_and_schedulers(client, host, scheduler):
    for user in (host, scheduler):
        client.force_login(user)
        page = client.get(reverse("billing:payments")).content.decode()
        assert f'href="{reverse("billing:payments")}">Payments</a>' in page


def test_without_a_stripe_key_every_page_says_payments_are_off(client, host, settings):
    settings.STRIPE_SECRET_KEY = ""
    client.force_login(host)
    connect(host.organization)
    session = SessionFactory(host=host)
    for url in (
        reverse("billing:settings"),
        reverse("billing:services"),
        reverse("billing:payments"),
        reverse("sessions:participant_add", kwargs={"pk": session.pk}),
    ):
        page = client.get(url).content.decode()
        assert "Payments are off" in page and "STRIPE_SECRET_KEY" in page, url
    add = client.get(reverse("sessions:participant_add", kwargs={"pk": session.pk})).content.decode()
    assert 'name="payment_amount"' not in add
    settings_page = client.get(reverse("billing:settings")).content.decode()
    assert "Connect Stripe" not in settings_page and "late_cancel_hours" not in settings_page
    assert client.post(reverse("billing:connect")).status_code == 302
    assert StripeConnection.objects.count() == 1


def test_without_a_key_a_participant_owing_is_told_paying_is_not_possible(settings, host):
    settings.STRIPE_SECRET_KEY = ""
    participant = participant_on(soon_session(host))
    owing(participant)
    guest = participant_client(participant)
    page = guest.get(reverse("join:pay")).content.decode()
    assert "Paying online is not possible" in page and "Pay 80.00 EUR" not in page
    assert guest.post(reverse("join:pay")).status_code == 200
    assert Payment.objects.get().checkout_count == 0


# The Stripe connection and the late-cancel rule --------------------------------------------------------


def test_connect_stripe_leads_to_onboarding_and_the_return_reads_the_account(client, host, fake_stripe):
    client.force_login(host)
    page = client.get(reverse("billing:settings")).content.decode()
    assert "Connect Stripe" in page

    response = client.post(reverse("billing:connect"))
    connection = StripeConnection.objects.get(organization=host.organization)
    assert response.status_code == 302 and response["Location"].startswith(fake_stripe.url + "/connect/")
    assert not connection.charges_enabled
    [link] = fake_stripe.requests_to("/v1/account_links")
    assert link["params"]["return_url"] == "http://testserver" + reverse("billing:connect_return")

    fake_stripe.enable_account(connection.account_id)
    response = client.get(reverse("billing:connect_return"))
    assert response.status_code == 302 and response["Location"] == reverse("billing:settings")
    assert "Stripe is connected" in " ".join(_messages(response))
    connection.refresh_from_db()
    assert connection.charges_enabled
    page = client.get(reverse("billing:settings")).content.decode()
    assert connection.account_id in page and "Charges enabled" in page and "Connect Stripe" not in page


@pytest.mark.usefixtures("payments_on")
def test_a_host_sets_the_late_cancellation_rule(client, host):
    connect(host.organization)
    client.force_login(host)
    page = client.get(reverse("billing:settings")).content.decode()
    assert 'name="late_cancel_hours"' in page and 'name="late_cancel_fee_percent"' in page

    refused = client.post(
        reverse("billing:settings"), {"late_cancel_hours": "24", "late_cancel_fee_percent": "101"}
    )
    assert refused.status_code == 200 and StripeConnection.objects.get().late_cancel_fee_percent == 0

    response = client.post(
        reverse("billing:settings"), {"late_cancel_hours": "24", "late_cancel_fee_percent": "50"}
    )
    assert response.status_code == 302
    connection = StripeConnection.objects.get()
    assert (connection.late_cancel_hours, connection.late_cancel_fee_percent) == (24, 50)
    assert AuditEvent.objects.filter(action="billing.settings_update", actor=host).exists()


@pytest.mark.usefixtures("payments_on")
def test_a_scheduler_sees_the_connection_but_changes_nothing(client, scheduler):
    connect(scheduler.organization)
    client.force_login(scheduler)
    page = client.get(reverse("billing:settings")).content.decode()
    assert "admins and hosts connect Stripe" in page and 'name="late_cancel_hours"' not in page
    response = client.post(
        reverse("billing:settings"), {"late_cancel_hours": "24", "late_cancel_fee_percent": "50"}
    )
    assert response.status_code == 302
    assert StripeConnection.objects.get().late_cancel_hours == 0


# Services ---------------------------------------------------------------------------------------------------


def test_services_are_created_edited_and_stopped_through_the_pages(client, host):
    client.force_login(host)
    response = client.post(
        reverse("billing:service_create"),
        {"name": "First visit", "price": "80.00", "currency": "gbp", "duration_minutes": "50"},
    )
    assert response.status_code == 302
    service = Service.objects.get()
    assert (service.price_amount, service.currency, service.organization) == (8000, "gbp", host.organization)

    # 0.29 is 28.999… as a float: the form keeps it a Decimal, so it is 29 cents.
    edit = reverse("billing:service_edit", kwargs={"pk": service.pk})
    assert 'value="80.00"' in client.get(edit).content.decode()
    client.post(edit, {"name": "Follow-up", "price": "0.29", "currency": "eur", "duration_minutes": "30"})
    service.refresh_from_db()
    assert (service.name, service.price_amount, service.currency, service.duration_minutes) == (
        "Follow-up",
        29,
        "eur",
        30,
    )

    page = client.get(reverse("billing:services")).content.decode()
    assert "Follow-up" in page and "0.29 EUR" in page
    assert client.get(reverse("billing:service_deactivate", kwargs={"pk": service.pk})).status_code == 405
    client.post(reverse("billing:service_deactivate", kwargs={"pk": service.pk}))
    service.refresh_from_db()
    assert not service.is_active
    assert "No longer offered" in client.get(reverse("billing:services")).content.decode()
    assert AuditEvent.objects.filter(action__startswith="service.").count() == 3


@pytest.mark.parametrize("price", ["80.001", "0", "-5", "NaN", "1e309", "100000.00", "eighty"])
def test_a_price_that_is_not_an_amount_is_refused(client, host, price):
    client.force_login(host)
    response = client.post(
        reverse("billing:service_create"),
        {"name": "Visit", "price": price, "currency": "eur", "duration_minutes": "50"},
    )
    assert response.status_code == 200 and not Service.objects.exists()


def test_a_scheduler_cannot_create_a_service(client, scheduler):
    client.force_login(scheduler)
    assert "New service" not in client.get(reverse("billing:services")).content.decode()
    response = client.post(
        reverse("billing:service_create"),
        {"name": "Visit", "price": "10.00", "currency": "eur", "duration_minutes": "50"},
    )
    assert response.status_code == 200 and "admins and hosts" in response.content.decode()
    assert not Service.objects.exists()


# The payment asked on the participant forms -------------------------------------------------------------


@pytest.mark.usefixtures("payments_on")
def test_the_payment_fields_show_only_once_stripe_takes_charges(client, host):
    client.force_login(host)
    session = SessionFactory(host=host)
    add = reverse("sessions:participant_add", kwargs={"pk": session.pk})
    page = client.get(add).content.decode()
    assert 'name="payment_amount"' not in page and "connect your organisation's Stripe account" in page

    connection = connect(host.organization, charges_enabled=False)
    assert 'name="payment_amount"' not in client.get(add).content.decode()

    connection.charges_enabled = True
    connection.save()
    service = service_of(host.organization)
    retired = service_of(host.organization, name="Retired", price=100)
    Service.objects.filter(pk=retired.pk).update(is_active=False)
    page = client.get(add).content.decode()
    assert 'name="payment_amount"' in page and 'name="service"' in page and 'name="payment_currency"' in page
    assert f'<option value="{service.pk}">Consultation · 80.00 EUR</option>' in page
    assert "Retired" not in page
    assert "data-service-prices" in page and "js/service_price.js" in page


@pytest.mark.usefixtures("payments_on")
def test_adding_a_participant_asks_the_payment_in_the_same_request(client, host):
    connect(host.organization)
    service = service_of(host.organization)
    client.force_login(host)
    session = SessionFactory(host=host)
    add = reverse("sessions:participant_add", kwargs={"pk": session.pk})

    # A service without an amount typed (the page without its script) asks the service's price.
    response = client.post(add, _person(service=str(service.pk), payment_amount="", payment_currency="eur"))
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.service, payment.status) == (
        8000,
        "eur",
        service,
        "due",
    )
    assert payment.participant.name == "Kim New"
    assert "asked to pay 80.00 EUR" in " ".join(_messages(response))

    client.post(
        add,
        _person(name="Lee Other", email="lee@example.test", payment_amount="45.50", payment_currency="chf"),
    )
    other = Payment.objects.get(participant__name="Lee Other")
    assert (other.amount, other.currency, other.service) == (4550, "chf", None)

    client.post(add, _person(name="Free One", email="free@example.test", payment_amount=""))
    assert Participant.objects.filter(name="Free One").exists()
    assert Payment.objects.count() == 2


@pytest.mark.usefixtures("payments_on")
def test_a_refused_payment_adds_no_participant_and_sends_no_invite(client, host, monkeypatch):
    connect(host.organization)
    client.force_login(host)
    session = SessionFactory(host=host)

    from config.errors import ValidationFailedError

    def refuse(**kwargs):
        raise ValidationFailedError("Stripe would not take it.", field="amount")

    monkeypatch.setattr("sessions_app.views.participants.payment_require", refuse)
    response = client.post(
        reverse("sessions:participant_add", kwargs={"pk": session.pk}),
        _person(payment_amount="80.00", payment_currency="eur"),
    )
    assert response.status_code == 200 and "Stripe would not take it." in response.content.decode()
    assert not Participant.objects.exists() and not Notification.objects.exists()


@pytest.mark.usefixtures("payments_on")
def test_editing_a_participant_changes_and_then_waives_the_payment(client, host):
    connect(host.organization)
    client.force_login(host)
    participant = participant_on(SessionFactory(host=host), email="pat@example.test")
    owing(participant, amount=8000)
    edit = reverse(
        "sessions:participant_edit", kwargs={"pk": participant.session.pk, "participant_pk": participant.pk}
    )
    assert 'value="80.00"' in client.get(edit).content.decode()
    details = {
        "invite_method": "email",
        "email": "pat@example.test",
        "phone": "",
        "time_zone": "Europe/Paris",
    }

    client.post(edit, {**details, "payment_amount": "95.00", "payment_currency": "eur"})
    assert Payment.objects.get().amount == 9500

    client.post(edit, {**details, "payment_amount": "95.00", "payment_currency": "eur"})
    assert AuditEvent.objects.filter(action="payment.require").count() == 1

    response = client.post(edit, {**details, "payment_amount": "", "payment_currency": "eur"})
    assert "No payment is asked of them any more." in " ".join(_messages(response))
    assert Payment.objects.get().status == Payment.Status.CANCELLED


@pytest.mark.usefixtures("payments_on")
def test_a_paid_participant_is_edited_without_touching_the_payment(client, host):
    connect(host.organization)
    client.force_login(host)
    participant = participant_on(SessionFactory(host=host), email="pat@example.test")
    owing(participant, status=Payment.Status.PAID, paid_at=timezone.now())
    edit = reverse(
        "sessions:participant_edit", kwargs={"pk": participant.session.pk, "participant_pk": participant.pk}
    )
    page = client.get(edit).content.decode()
    assert 'name="payment_amount"' not in page and "What was paid does not change here" in page
    response = client.post(
        edit, {"invite_method": "email", "email": "pat@example.test", "phone": "", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 302
    assert Payment.objects.get().status == Payment.Status.PAID


# The pay step ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("payments_on")
def test_a_participant_who_owes_reaches_nothing_past_the_pay_step(host):
    participant = participant_on(soon_session(host))
    owing(participant)
    participant.admitted_at = timezone.now()
    participant.save(update_fields=["admitted_at"])
    guest = participant_client(participant)

    lobby = guest.get(reverse("join:lobby"))
    assert lobby.status_code == 302 and lobby["Location"] == reverse("join:pay")
    for name in ("join:documents", "join:room"):
        response = guest.get(reverse(name))
        assert response.status_code == 302 and response["Location"] == reverse("join:lobby"), name
    status = guest.get(reverse("join:waiting_status"), HTTP_HX_REQUEST="true")
    assert status["HX-Redirect"] == reverse("join:lobby")
    participant.refresh_from_db()
    assert participant.waiting_since is None and participant.joined_at is None

    pay = guest.get(reverse("join:pay"))
    page = pay.content.decode()
    assert "Pay 80.00 EUR" in page and f'action="{reverse("join:pay")}"' in page
    assert pay["Referrer-Policy"] == "same-origin" and "no-cache" in pay["Cache-Control"]


@pytest.mark.usefixtures("payments_on")
def test_the_pay_step_comes_before_the_room_opens(host):
    participant = participant_on(SessionFactory(host=host, start_at=timezone.now() + timedelta(days=2)))
    payment = owing(participant, amount=2500, currency="usd")
    guest = participant_client(participant)
    assert guest.get(reverse("join:lobby"))["Location"] == reverse("join:pay")
    assert "Pay 25.00 USD" in guest.get(reverse("join:pay")).content.decode()

    payment.status = Payment.Status.PAID
    payment.save()
    page = guest.get(reverse("join:lobby")).content.decode()
    assert "The room opens at" in page
    assert guest.get(reverse("join:pay"))["Location"] == reverse("join:lobby")


def test_pay_opens_stripe_checkout_and_the_return_asks_stripe(host, fake_stripe):
    connect(host.organization)
    participant = participant_on(soon_session(host, title="First visit"))
    payment = owing(participant)
    guest = participant_client(participant)

    response = guest.post(reverse("join:pay"))
    assert response.status_code == 302 and response["Location"].startswith(fake_stripe.url + "/c/pay/")
    assert response["Referrer-Policy"] == "same-origin"
    payment.refresh_from_db()
    [checkout] = fake_stripe.of_type("checkout.session")
    assert payment.checkout_session_id == checkout["id"] and checkout["amount_total"] == 8000
    assert checkout["success_url"] == "http://testserver" + reverse("join:pay_return")
    assert checkout["cancel_url"] == "http://testserver" + reverse("join:lobby")

    # Back from Checkout without paying: still due, and the page waits for Stripe's word.
    back = guest.get(reverse("join:pay_return"))
    assert back["Location"] == reverse("join:pay") + "?checking=1"
    assert '<meta http-equiv="refresh"' in guest.get(back["Location"]).content.decode()
    assert Payment.objects.get().status == Payment.Status.DUE

    fake_stripe.mark_paid(checkout["id"])
    back = guest.get(reverse("join:pay_return"))
    assert back["Location"] == reverse("join:lobby")
    assert Payment.objects.get().status == Payment.Status.PAID
    assert "The host will let you in" in guest.get(reverse("join:lobby")).content.decode()


def test_the_signed_webhook_lets_the_participant_in_without_the_return(client, host, fake_stripe):
    connect(host.organization)
    participant = participant_on(soon_session(host))
    owing(participant)
    guest = participant_client(participant)
    guest.post(reverse("join:pay"))
    [checkout] = fake_stripe.of_type("checkout.session")
    fake_stripe.mark_paid(checkout["id"])
    assert guest.get(reverse("join:lobby"))["Location"] == reverse("join:pay")

    body, headers = fake_stripe.signed(fake_stripe.checkout_completed_event(checkout["id"]))
    response = client.post(
        reverse("billing:stripe_webhook"),
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
    )
    assert response.status_code == 200
    assert "The host will let you in" in guest.get(reverse("join:lobby")).content.decode()


def test_the_pay_step_needs_the_join_cookie(client, host):
    participant = participant_on(soon_session(host))
    owing(participant)
    for name in ("join:pay", "join:pay_return"):
        assert client.get(reverse(name)).status_code == 404
    assert client.post(reverse("join:pay")).status_code == 404


# Badges, the session page and the extension's invoice -----------------------------------------------------


def test_the_dashboard_and_session_page_show_each_payment_state(client, host):
    session = SessionFactory(host=host, start_at=timezone.now() + timedelta(hours=2))
    states = {
        "Dana": dict(status=Payment.Status.DUE),
        "Paul": dict(status=Payment.Status.PAID, paid_at=timezone.now()),
        "Rita": dict(status=Payment.Status.REFUNDED, paid_at=timezone.now(), refunded_amount=8000),
        "Nico": dict(status=Payment.Status.CANCELLED),
    }
    for name, fields in states.items():
        owing(participant_on(session, name=name), **fields)
    participant_on(session, name="Free")
    refund = Refund.objects.create(
        payment=Payment.objects.get(participant__name="Rita"), amount=8000, reason="cancel"
    )
    Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.SUCCEEDED)
    Invoice.objects.create(
        organization=host.organization,
        session=session,
        participant=Participant.objects.get(name="Paul"),
        amount=2000,
        currency="eur",
        description="Extended",
        due_date=timezone.now().date() + timedelta(days=14),
        status=Invoice.Status.OPEN,
    )
    client.force_login(host)

    for url in (reverse("sessions:dashboard"), reverse("sessions:detail", kwargs={"pk": session.pk})):
        page = client.get(url).content.decode()
        badges = re.findall(r'data-payment-status="(\w+)"[^>]*>([^<]+)<', page)
        assert sorted(badges) == [
            ("cancelled", "Not charged"),
            ("due", "Due 80.00 EUR"),
            ("paid", "Paid"),
            ("refunded", "Refunded"),
        ], url
    detail = client.get(reverse("sessions:detail", kwargs={"pk": session.pk})).content.decode()
    billing = detail[detail.index('id="session-billing"') :]
    assert "Refund" in billing and "80.00 EUR" in billing and "Refunded" in billing
    assert "Invoice" in billing and "20.00 EUR" in billing and "Sent" in billing


def test_the_dashboard_reads_payments_without_a_query_per_participant(client, host):
    client.force_login(host)

    def add_sessions(count, first):
        for index in range(first, first + count):
            session = SessionFactory(host=host, start_at=timezone.now() + timedelta(hours=1 + index))
            for _ in range(3):
                owing(participant_on(session))

    def queries() -> int:
        fragments.store.clear()  # the page rendered, not served again (tests/test_page_fragments.py)
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(reverse("sessions:dashboard")).status_code == 200
        return len(captured)

    add_sessions(2, 0)
    few = queries()
    add_sessions(20, 2)
    assert queries() == few


@pytest.mark.usefixtures("payments_on")
def test_change_end_invoices_the_extension(client, host):
    connect(host.organization)
    session = soon_session(host, start_at=timezone.now() + timedelta(hours=3))
    pat = participant_on(session, email="pat@example.test")
    owing(pat, currency="gbp")
    client.force_login(host)
    url = reverse("sessions:change_end", kwargs={"pk": session.pk})
    page = client.get(url).content.decode()
    assert "Invoice the extension" in page and f'<option value="{pat.pk}">' in page

    new_end = (session.end_at + timedelta(minutes=30)).astimezone(host.zone)
    due = (timezone.now() + timedelta(days=10)).date()
    refused = client.post(
        url,
        {"end_time": f"{new_end:%H:%M}", "invoice_extension": "on", "invoice_participant": str(pat.pk)},
    )
    assert refused.status_code == 200 and "Give the amount to invoice." in refused.content.decode()
    session.refresh_from_db()
    assert session.end_at.astimezone(host.zone).time() != new_end.time().replace(second=0, microsecond=0)

    response = client.post(
        url,
        {
            "end_time": f"{new_end:%H:%M}",
            "invoice_extension": "on",
            "invoice_participant": str(pat.pk),
            "invoice_amount": "40.00",
            "invoice_due_date": f"{due:%Y-%m-%d}",
        },
    )
    assert response.status_code == 302
    invoice = Invoice.objects.get()
    assert (invoice.participant, invoice.amount, invoice.currency, invoice.due_date) == (
        pat,
        4000,
        "gbp",
        due,
    )
    session.refresh_from_db()
    assert session.end_at.astimezone(host.zone).strftime("%H:%M") == f"{new_end:%H:%M}"
    assert "an invoice of 40.00 GBP" in " ".join(_messages(response))


@pytest.mark.usefixtures("payments_on")
def test_a_refused_invoice_leaves_the_end_as_it_was(client, host):
    connect(host.organization)
    session = soon_session(host, start_at=timezone.now() + timedelta(hours=3))
    pat = participant_on(session, email="pat@example.test")
    client.force_login(host)
    end_before = session.end_at
    new_end = (session.end_at + timedelta(minutes=30)).astimezone(host.zone)
    # Due today: the service wants a date after today, so it refuses after the end was changed.
    response = client.post(
        reverse("sessions:change_end", kwargs={"pk": session.pk}),
        {
            "end_time": f"{new_end:%H:%M}",
            "invoice_extension": "on",
            "invoice_participant": str(pat.pk),
            "invoice_amount": "40.00",
            "invoice_due_date": f"{timezone.now().astimezone(pat.zone).date() - timedelta(days=1):%Y-%m-%d}",
        },
    )
    assert response.status_code == 200 and "Give a due date after today." in response.content.decode()
    session.refresh_from_db()
    assert session.end_at == end_before and not Invoice.objects.exists()


def test_without_stripe_change_end_offers_no_invoice(client, host):
    session = soon_session(host, start_at=timezone.now() + timedelta(hours=3))
    participant_on(session)
    client.force_login(host)
    assert (
        "Invoice the extension"
        not in client.get(reverse("sessions:change_end", kwargs={"pk": session.pk})).content.decode()
    )


# The Payments page ------------------------------------------------------------------------------------------


def _paid_sessions(host, count: int, *, days_ahead: int = 1, currency: str = "eur"):
    for index in range(count):
        session = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=days_ahead, hours=index))
        owing(participant_on(session), currency=currency, status=Payment.Status.PAID, paid_at=timezone.now())


def test_the_payments_page_filters_totals_and_pages(client, host, other_host, scheduler):
    _paid_sessions(host, 3)
    _paid_sessions(other_host, 2, currency="gbp")
    late = SessionFactory(host=host, start_at=timezone.now() + timedelta(days=20))
    owing(participant_on(late), amount=1000)

    client.force_login(scheduler)
    page = client.get(reverse("billing:payments")).content.decode()
    assert page.count("data-payment-id=") == 6
    totals = page[page.index('id="payment-totals"') :]
    assert 'data-currency="EUR"' in totals and "250.00" in totals and "240.00" in totals and "10.00" in totals
    assert 'data-currency="GBP"' in totals and "160.00" in totals

    only_ben = client.get(reverse("billing:payments"), {"host": other_host.pk}).content.decode()
    assert only_ben.count("data-payment-id=") == 2 and 'data-currency="EUR"' not in only_ben

    today = timezone.now().astimezone(scheduler.zone).date()
    window = {"start": f"{today:%Y-%m-%d}", "end": f"{today + timedelta(days=5):%Y-%m-%d}"}
    assert client.get(reverse("billing:payments"), window).content.decode().count("data-payment-id=") == 5
    refused = client.get(reverse("billing:payments"), {"start": "9999-12-31"})
    assert refused.status_code == 200 and "Correct the filters above." in refused.content.decode()

    # A host sees the payments of their own sessions only.
    client.force_login(host)
    assert client.get(reverse("billing:payments")).content.decode().count("data-payment-id=") == 4


def test_the_payments_page_query_count_does_not_grow_with_payments(client, host):
    client.force_login(host)

    def queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            assert client.get(reverse("billing:payments")).status_code == 200
        return len(captured)

    _paid_sessions(host, 2)
    Refund.objects.create(payment=Payment.objects.first(), amount=100, reason="cancel")
    few = queries()
    _paid_sessions(host, 30, days_ahead=3)
    for payment in Payment.objects.all()[:10]:
        Refund.objects.get_or_create(payment=payment, reason="cancel", defaults={"amount": 100})
    assert queries() == few
    first = client.get(reverse("billing:payments")).content.decode()
    second = client.get(reverse("billing:payments"), {"page": "2"}).content.decode()
    assert first.count("data-payment-id=") == 25 and "Page 1 of 2" in first
    assert second.count("data-payment-id=") == 7 and "Page 2 of 2" in second


def test_the_payments_csv_is_filtered_and_safe_in_a_spreadsheet(client, host, other_host, scheduler):
    session = SessionFactory(host=host, title="=HYPERLINK(1)")
    owing(participant_on(session, name="+Pat"), status=Payment.Status.PAID, paid_at=timezone.now())
    owing(participant_on(SessionFactory(host=other_host)), currency="gbp")
    Invoice.objects.create(
        organization=host.organization,
        session=session,
        participant=Participant.objects.get(name="+Pat"),
        amount=1500,
        currency="eur",
        description="Extended",
        due_date=timezone.now().date() + timedelta(days=14),
    )
    client.force_login(scheduler)

    response = client.get(reverse("billing:payments_csv"), {"host": host.pk})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:8] == [
        "Kind",
        "Session date",
        "Session",
        "Host",
        "Participant",
        "Amount",
        "Currency",
        "Status",
    ]
    assert [row[0] for row in rows[1:]] == ["Payment", "Invoice"]
    payment = rows[1]
    assert payment[2] == "'=HYPERLINK(1)" and payment[4] == "'+Pat"
    assert payment[5:8] == ["80.00", "EUR", "Paid"]
    assert rows[2][5:8] == ["15.00", "EUR", "Being created"]
    assert client.get(reverse("billing:payments_csv"), {"end": "0001-01-01"}).status_code == 400


def test_a_host_account_of_another_organisation_sees_none_of_it(client, host):
    owing(participant_on(SessionFactory(host=host)))
    stranger = member(role="host")
    client.force_login(stranger)
    assert "data-payment-id=" not in client.get(reverse("billing:payments")).content.decode()
