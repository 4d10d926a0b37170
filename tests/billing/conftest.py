"""An organisation connected to the fake Stripe through the product's own services, a session with a
participant, and the steps of a payment, for the billing tests. `fake_stripe` is the root conftest's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import tasks
from billing.models import Payment
from billing.services import stripe_connect_refresh, stripe_connect_start
from tests.billing.steps import pay
from tests.factories import ParticipantFactory, SessionFactory


@pytest.fixture
def run_billing_tasks(monkeypatch):
    """Hand-overs after commit run the Celery task in this process, as a worker would (the unit tests have no
    broker); the sweep's hand-overs too."""
    for task in (tasks.refunds_send, tasks.refunds_reconcile, tasks.invoices_send):
        monkeypatch.setattr(task, "delay", lambda ids, task=task: task.apply(args=(ids,)))


@pytest.fixture
def account_id(fake_stripe, host, organization) -> str:
    """The organisation's Stripe account, created and set up as a host does it: connect, onboard, return."""
    stripe_connect_start(actor=host, organization=organization, return_url="http://testserver/back/")
    connected = fake_stripe.of_type("account")[0]["id"]
    fake_stripe.enable_account(connected)
    stripe_connect_refresh(organization=organization)
    return connected


@pytest.fixture
def session(host):
    return SessionFactory(host=host, title="Couples therapy", start_at=timezone.now() + timedelta(days=3))


@pytest.fixture
def participant(session):
    return ParticipantFactory(session=session, name="Maria Garcia", email="maria@example.test")


@pytest.fixture
def paid(client, fake_stripe, account_id, participant, host) -> Payment:
    return pay(client, fake_stripe, participant, host=host)
