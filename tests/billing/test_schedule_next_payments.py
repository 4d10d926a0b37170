"""Schedule next asks each participant again what they were asked for the session it follows: offered (ticked)
while the organisation takes payments, in the same transaction as the booking, never what was waived."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import AuditEvent
from billing.models import Payment
from sessions_app.models import Session
from tests.billing.pages import connect, owing, payments_on, service_of  # noqa: F401 - payments_on is a fixture
from tests.factories import ParticipantFactory, SessionFactory
from tests.sessions_app.support import morning_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(host):
    session = SessionFactory(host=host, title="Weekly therapy", start_at=morning_in(host, days=2))
    ParticipantFactory(session=session, name="Maria Garcia", email="maria@example.test")
    ParticipantFactory(session=session, name="Priya Shah", email="priya@example.test")
    return session


def _participant(session, name):
    return session.participants.get(name=name)


def _url(session) -> str:
    return reverse("sessions:schedule_next", kwargs={"pk": session.pk})


def _post(client, session, **fields):
    start = morning_in(session.host, days=9)
    data = {"title": "Weekly therapy", "date": f"{start:%Y-%m-%d}", "time": "10:00", **fields}
    return client.post(_url(session), data)


def _next(session) -> Session:
    return Session.objects.exclude(pk=session.pk).get()


@pytest.mark.usefixtures("payments_on")
def test_the_form_offers_to_ask_the_same_payments_and_says_what_each_was_asked(client, host, session):
    connect(host.organization)
    owing(_participant(session, "Maria Garcia"), amount=8000, currency="eur")
    client.force_login(host)

    content = client.get(_url(session)).content.decode()

    [tick] = re.findall(r'<input[^>]*name="same_payments"[^>]*>', content)
    assert " checked" in tick
    assert "Maria Garcia <span" in content and "asked to pay 80.00 EUR for this session" in content
    assert content.count("asked to pay") == 1


@pytest.mark.usefixtures("payments_on")
def test_the_next_session_asks_each_participant_what_they_were_asked(client, host, session):
    connect(host.organization)
    service = service_of(host.organization, price=8000)
    maria = _participant(session, "Maria Garcia")
    owing(maria, amount=7000, currency="gbp", service=service, status=Payment.Status.PAID)
    client.force_login(host)

    response = _post(client, session, same_payments="on")

    assert response.status_code == 302
    created = _next(session)
    payment = Payment.objects.get(session=created)
    assert (payment.participant.name, payment.amount, payment.currency, payment.service, payment.status) == (
        "Maria Garcia",
        7000,
        "gbp",
        service,
        Payment.Status.DUE,
    )
    assert payment.participant.session == created
    event = AuditEvent.objects.get(action="payment.require", object_id=str(payment.pk))
    assert (event.actor, event.details["amount"]) == (host, 7000)
    messages = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Maria Garcia is asked to pay 70.00 GBP before they can join." in messages
    assert "Priya" not in messages.split("Invites")[1]


@pytest.mark.usefixtures("payments_on")
def test_unticked_nothing_is_asked(client, host, session):
    connect(host.organization)
    owing(_participant(session, "Maria Garcia"))
    client.force_login(host)

    response = _post(client, session)

    assert response.status_code == 302
    assert not Payment.objects.filter(session=_next(session)).exists()


@pytest.mark.usefixtures("payments_on")
def test_a_waived_payment_is_not_asked_again_and_a_service_no_longer_offered_is_dropped(
    client, host, session
):
    connect(host.organization)
    retired = service_of(host.organization, name="Old rate", price=5000)
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    owing(_participant(session, "Maria Garcia"), amount=5000, service=retired)
    owing(_participant(session, "Priya Shah"), status=Payment.Status.CANCELLED)
    client.force_login(host)

    response = _post(client, session, same_payments="on")

    assert response.status_code == 302
    [payment] = Payment.objects.filter(session=_next(session))
    assert (payment.participant.name, payment.amount, payment.service) == ("Maria Garcia", 5000, None)


def test_while_payments_are_off_nothing_is_offered_nor_asked(client, host, session):
    owing(_participant(session, "Maria Garcia"))
    client.force_login(host)

    assert 'name="same_payments"' not in client.get(_url(session)).content.decode()
    response = _post(client, session, same_payments="on")

    assert response.status_code == 302
    assert not Payment.objects.filter(session=_next(session)).exists()


@pytest.mark.usefixtures("payments_on")
def test_a_session_nobody_was_asked_to_pay_for_offers_nothing(client, host, session):
    connect(host.organization)
    client.force_login(host)

    content = client.get(_url(session)).content.decode()

    assert 'name="same_payments"' not in content and "asked to pay" not in content
