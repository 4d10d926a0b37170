"""The payment asked on the Schedule form: each participant row offers the Service and Payment required fields
while the organisation takes payments, the booking asks each person's payment on every session it books in
its own transaction, and payments_require does it in a fixed number of queries."""

from datetime import datetime

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from billing.models import Payment, Service
from billing.services import PaymentAsk, PaymentAskRefused
from config.errors import PermissionDeniedError
from contacts.models import Contact, InviteMethod
from notifications.models import Notification
from sessions_app.models import Participant, Session
from sessions_app.services import ParticipantDetails, RepeatRule, session_schedule
from tests.billing.pages import connect, payments_on, service_of  # noqa: F401 - payments_on is a fixture
from tests.factories import OrganizationFactory
from tests.sessions_app.support import MARIA, morning_in, schedule_form_data

pytestmark = pytest.mark.django_db


def _schedule_data(start: datetime, **extra) -> dict:
    priya = {"name": "Priya Shah", "invite_method": "email", "email": "priya@example.test"}
    rows = [
        {**MARIA, "payment_currency": "eur"},
        {**priya, "time_zone": "Europe/London", "payment_currency": "eur"},
    ]
    return schedule_form_data(start, rows, **extra)


def _messages(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def _nothing_booked() -> bool:
    return not (
        Session.objects.exists()
        or Participant.objects.exists()
        or Payment.objects.exists()
        or Notification.objects.exists()
        or Contact.objects.exists()
    )


# The form --------------------------------------------------------------------------------------------------


def test_without_a_stripe_key_the_schedule_form_asks_no_payment_and_says_why(client, host):
    client.force_login(host)
    page = client.get(reverse("sessions:schedule")).content.decode()
    assert "payment_amount" not in page and 'name="participants-0-service"' not in page
    assert "Payments are off" in page


@pytest.mark.usefixtures("payments_on")
def test_the_schedule_form_offers_the_payment_fields_on_every_row_once_stripe_takes_charges(client, host):
    client.force_login(host)
    schedule = reverse("sessions:schedule")
    page = client.get(schedule).content.decode()
    assert "payment_amount" not in page and "connect your organisation's Stripe account" in page

    connection = connect(host.organization, charges_enabled=False)
    assert "payment_amount" not in client.get(schedule).content.decode()

    connection.charges_enabled = True
    connection.save()
    service = service_of(host.organization)
    retired = service_of(host.organization, name="Retired", price=100)
    Service.objects.filter(pk=retired.pk).update(is_active=False)
    service_of(OrganizationFactory(), name="Elsewhere")
    page = client.get(schedule).content.decode()
    # The first row, and the template the "Add another participant" button copies rows from.
    for prefix in ("participants-0", "participants-__prefix__"):
        assert f'name="{prefix}-service"' in page
        assert f'name="{prefix}-payment_amount"' in page
        assert f'name="{prefix}-payment_currency"' in page
    assert page.count(f'<option value="{service.pk}">Consultation · 80.00 EUR</option>') == 2
    assert "Left empty, nothing is asked. The participant pays before they can join." in page
    assert "Retired" not in page and "Elsewhere" not in page
    assert "data-service-prices" in page and "js/service_price.js" in page
    assert "connect your organisation's Stripe account" not in page


# Scheduling with a payment asked ---------------------------------------------------------------------------


@pytest.mark.usefixtures("payments_on")
def test_scheduling_asks_the_service_price_or_the_amount_typed_of_each_participant(client, host):
    connect(host.organization)
    service = service_of(host.organization)
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(
            morning_in(host),
            **{
                # A service without an amount typed (the page without its script) asks the service's price.
                "participants-0-service": str(service.pk),
                "participants-1-payment_amount": "45.50",
                "participants-1-payment_currency": "chf",
            },
        ),
    )
    assert response.status_code == 302
    session = Session.objects.get()
    payments = {p.participant.name: p for p in Payment.objects.select_related("participant")}
    assert {name: (p.amount, p.currency, p.service, p.status) for name, p in payments.items()} == {
        "Maria Garcia": (8000, "eur", service, Payment.Status.DUE),
        "Priya Shah": (4550, "chf", None, Payment.Status.DUE),
    }
    assert {p.session for p in payments.values()} == {session}
    assert {p.organization for p in payments.values()} == {host.organization}
    text = _messages(response)
    assert "Maria Garcia is asked to pay 80.00 EUR before they can join." in text
    assert "Priya Shah is asked to pay 45.50 CHF before they can join." in text
    # Audited as payment_require audits one payment.
    events = AuditEvent.objects.filter(action="payment.require")
    assert {(e.object_id, e.actor, e.acting_for, e.details["amount"]) for e in events} == {
        (str(payments["Maria Garcia"].pk), host, host, 8000),
        (str(payments["Priya Shah"].pk), host, host, 4550),
    }
    assert events.get(object_id=str(payments["Maria Garcia"].pk)).details["service"] == service.pk


@pytest.mark.usefixtures("payments_on")
def test_a_row_without_an_amount_asks_nothing(client, host):
    connect(host.organization)
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(morning_in(host), **{"participants-1-payment_amount": "60"}),
    )
    assert response.status_code == 302
    assert list(Payment.objects.values_list("participant__name", "amount")) == [("Priya Shah", 6000)]
    assert "Maria Garcia is asked" not in _messages(response)


@pytest.mark.usefixtures("payments_on")
def test_a_series_asks_the_payment_on_every_occurrence(client, host):
    connect(host.organization)
    service = service_of(host.organization)
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(
            morning_in(host),
            repeat="weekly",
            repeat_ends="count",
            repeat_count="4",
            **{"participants-0-service": str(service.pk), "participants-0-payment_amount": "80.00"},
        ),
    )
    assert response.status_code == 302
    sessions = set(Session.objects.all())
    assert len(sessions) == 4
    payments = list(Payment.objects.select_related("participant", "session"))
    assert len(payments) == 4
    # One per occurrence, each on that occurrence's own participant row.
    assert {p.session for p in payments} == sessions
    assert {p.participant.session_id for p in payments} == {p.session_id for p in payments}
    assert {(p.participant.name, p.amount, p.currency, p.service_id) for p in payments} == {
        ("Maria Garcia", 8000, "eur", service.pk)
    }
    assert not Payment.objects.filter(participant__name="Priya Shah").exists()
    assert AuditEvent.objects.filter(action="payment.require").count() == 4
    assert "Maria Garcia is asked to pay 80.00 EUR before they can join each session." in _messages(response)


@pytest.mark.usefixtures("payments_on")
def test_a_scheduler_acting_for_the_host_asks_the_payment(client, host, scheduler):
    connect(host.organization)
    client.force_login(scheduler)
    client.post(reverse("accounts:act_for", kwargs={"host_id": host.pk}))
    assert 'name="participants-0-payment_amount"' in client.get(reverse("sessions:schedule")).content.decode()
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(morning_in(host), **{"participants-0-payment_amount": "30"}),
    )
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.session.host, payment.amount, payment.participant.name) == (host, 3000, "Maria Garcia")
    event = AuditEvent.objects.get(action="payment.require")
    assert (event.actor, event.acting_for) == (scheduler, host)


# Refusals -------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("payments_on")
def test_a_refused_payment_books_nothing_and_shows_the_refusal_on_that_row(client, host, monkeypatch):
    # The form was read while the account took charges; by the time it is sent, Stripe has stopped them.
    service = service_of(host.organization)
    monkeypatch.setattr("sessions_app.views.dashboard.payment_services", lambda organization: [service])
    connect(host.organization, charges_enabled=False)
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(
            morning_in(host),
            repeat="weekly",
            repeat_ends="count",
            repeat_count="3",
            **{"participants-1-payment_amount": "45.50", "participants-1-payment_currency": "chf"},
        ),
    )
    assert response.status_code == 200
    assert _nothing_booked()
    refusal = "The organisation's Stripe account cannot take payments yet: finish its setup at Stripe."
    rows = response.context["formset"].forms
    assert rows[1].errors == {"payment_amount": [refusal]}
    assert not rows[0].errors and not response.context["form"].errors
    content = response.content.decode()
    assert refusal.replace("'", "&#x27;") in content
    # Everything typed is still there.
    assert 'value="Weekly therapy"' in content and 'value="Priya Shah"' in content
    assert 'value="45.50"' in content and '<option value="chf" selected>' in content
    assert 'value="maria@example.test"' in content


@pytest.mark.usefixtures("payments_on")
def test_another_organisations_service_is_refused(client, host):
    connect(host.organization)
    elsewhere = service_of(OrganizationFactory(), name="Elsewhere")
    client.force_login(host)
    response = client.post(
        reverse("sessions:schedule"),
        _schedule_data(morning_in(host), **{"participants-0-service": str(elsewhere.pk)}),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["formset"].forms[0].errors["service"])
    assert _nothing_booked()


# The service ------------------------------------------------------------------------------------------------


def _people(count: int, payment: PaymentAsk | None) -> list[ParticipantDetails]:
    return [
        ParticipantDetails(
            name=f"Person {n}",
            invite_method=InviteMethod.EMAIL,
            email=f"person{n}@example.test",
            time_zone="Europe/Paris",
            payment=payment,
        )
        for n in range(count)
    ]


def _book(host, *, occurrences: int, people: list[ParticipantDetails]) -> Session:
    return session_schedule(
        actor=host,
        host=host,
        title="Weekly check-in",
        start_at=morning_in(host),
        duration_minutes=50,
        participants=people,
        repeat=RepeatRule(frequency="weekly", count=occurrences) if occurrences > 1 else None,
    )


@pytest.mark.usefixtures("payments_on")
def test_a_bad_amount_refuses_the_whole_booking_naming_the_person(host):
    connect(host.organization)
    people = _people(2, None)
    people[1].payment = PaymentAsk(amount=-5, currency="eur", service=None)
    with pytest.raises(PaymentAskRefused) as refused:
        _book(host, occurrences=3, people=people)
    assert (refused.value.index, refused.value.field) == (1, "amount")
    assert _nothing_booked()


@pytest.mark.usefixtures("payments_on")
def test_the_service_refuses_a_service_of_another_organisation(host):
    connect(host.organization)
    elsewhere = service_of(OrganizationFactory(), name="Elsewhere")
    with pytest.raises(PermissionDeniedError):
        _book(
            host, occurrences=1, people=_people(1, PaymentAsk(amount=100, currency="eur", service=elsewhere))
        )
    assert _nothing_booked()


@pytest.mark.usefixtures("payments_on")
def test_asking_payments_costs_the_same_queries_however_many_people_and_occurrences(host):
    connect(host.organization)
    service = service_of(host.organization)
    ask = PaymentAsk(amount=8000, currency="eur", service=service)
    # Every person's contact first, so that each booking below matches them alike.
    _book(host, occurrences=1, people=_people(3, None))

    def cost_of_payments(*, occurrences: int, people: int) -> int:
        """The queries a booking with payments takes beyond the same booking without them."""
        counts = []
        for payment in (None, ask):
            Session.objects.update(status=Session.Status.CANCELLED)
            with CaptureQueriesContext(db_connection) as queries:
                _book(host, occurrences=occurrences, people=_people(people, payment))
            counts.append(len(queries))
        return counts[1] - counts[0]

    small = cost_of_payments(occurrences=1, people=1)
    assert Payment.objects.count() == 1
    large = cost_of_payments(occurrences=4, people=3)
    assert Payment.objects.count() == 1 + 4 * 3
    assert AuditEvent.objects.filter(action="payment.require").count() == 1 + 4 * 3
    assert small == large
    assert small <= 6
