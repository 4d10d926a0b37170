"""What the payment page tests share: payments switched on (a Stripe key, no call made unless a test uses the
fake), the organisation's connected account, a service, and a participant's browser holding the join
cookie."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import Payment, Service, StripeConnection
from sessions_app.join.links import join_token
from tests.factories import ParticipantFactory, SessionFactory

ACCOUNT_ID = "acct_pages_test"


@pytest.fixture
def payments_on(settings):
    """Payments switched on for tests that make no Stripe call (those use the fake_stripe fixture)."""
    settings.STRIPE_SECRET_KEY = "sk_test_pages"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_pages"


def connect(organization, *, account_id: str = ACCOUNT_ID, charges_enabled: bool = True) -> StripeConnection:
    return StripeConnection.objects.create(
        organization=organization, account_id=account_id, charges_enabled=charges_enabled
    )


def service_of(organization, name: str = "Consultation", price: int = 8000, currency: str = "eur") -> Service:
    return Service.objects.create(organization=organization, name=name, price_amount=price, currency=currency)


def soon_session(host, **fields):
    """A session whose join window is open (it opens 5 minutes before the start)."""
    fields.setdefault("start_at", timezone.now() + timedelta(minutes=3))
    return SessionFactory(host=host, **fields)


def owing(participant, amount: int = 8000, currency: str = "eur", **fields) -> Payment:
    return Payment.objects.create(
        organization=participant.session.organization,
        session=participant.session,
        participant=participant,
        amount=amount,
        currency=currency,
        **fields,
    )


def participant_client(participant) -> Client:
    client = Client()
    response = client.get(reverse("join:enter", kwargs={"token": join_token(participant)}))
    assert response.status_code == 302
    return client


def participant_on(session, **fields):
    fields.setdefault("name", "Pat Client")
    return ParticipantFactory(session=session, **fields)
