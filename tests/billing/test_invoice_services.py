"""The invoice for an extended session: our row first, then Stripe's customer, invoice, line, finalize and
send, each once, on the organisation's account."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditEvent
from billing.models import Invoice
from billing.services import invoice_for_extension, invoice_send
from billing.tasks import sweep_billing_calls
from config.errors import PermissionDeniedError, ValidationFailedError

pytestmark = pytest.mark.django_db


def _due_date() -> date:
    return timezone.localdate() + timedelta(days=14)


def _invoice(host, session, participant, capture, amount=2500) -> Invoice:
    with capture(execute=True):
        invoice = invoice_for_extension(
            actor=host, session=session, participant=participant, amount=amount, due_date=_due_date()
        )
    invoice.refresh_from_db()
    return invoice


def test_the_extension_invoice_is_created_finalized_and_sent_by_stripe(
    fake_stripe, account_id, host, session, participant, run_billing_tasks, django_capture_on_commit_callbacks
):
    invoice = _invoice(host, session, participant, django_capture_on_commit_callbacks)

    calls = fake_stripe.requests
    stripe_calls = [c for c in calls if c["stripe_account"]]
    assert [(c["method"], c["path"]) for c in stripe_calls] == [
        ("POST", "/v1/customers"),
        ("POST", "/v1/invoices"),
        ("POST", "/v1/invoiceitems"),
        ("POST", f"/v1/invoices/{invoice.stripe_invoice_id}/finalize"),
        ("POST", f"/v1/invoices/{invoice.stripe_invoice_id}/send"),
    ]
    assert {c["stripe_account"] for c in stripe_calls} == {account_id}
    assert [c["idempotency_key"] for c in stripe_calls] == [
        f"customer-inv-{invoice.pk}",
        f"invoice-{invoice.pk}",
        f"invoiceitem-{invoice.pk}",
        f"invoice-finalize-{invoice.pk}",
        f"invoice-send-{invoice.pk}",
    ]
    customer, draft, item = (c["params"] for c in stripe_calls[:3])
    assert customer["email"] == "maria@example.test"
    assert customer["name"] == "Maria Garcia"
    assert draft["customer"] == invoice.stripe_customer_id
    assert draft["collection_method"] == "send_invoice"
    assert draft["due_date"] == str(int(datetime.combine(_due_date(), time(23, 59), UTC).timestamp()))
    assert draft["auto_advance"] == "false"
    assert draft["metadata[invoice_id]"] == str(invoice.pk)
    assert (item["invoice"], item["amount"], item["currency"]) == (invoice.stripe_invoice_id, "2500", "eur")
    at_stripe = fake_stripe.get(invoice.stripe_invoice_id)
    assert (at_stripe["status"], at_stripe["amount_due"], at_stripe["sent"]) == ("open", 2500, True)
    assert (invoice.status, invoice.attempts, invoice.last_error) == (Invoice.Status.OPEN, 1, "")
    assert invoice.description == "Couples therapy: extended session (50 minutes)"
    assert AuditEvent.objects.filter(action=AuditAction.INVOICE_CREATE, object_id=str(invoice.pk)).exists()


def test_an_invoice_interrupted_midway_resumes_without_a_second_customer_or_invoice(
    fake_stripe, account_id, host, session, participant, run_billing_tasks, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next(1, status=502, path="/v1/invoiceitems")
    invoice = _invoice(host, session, participant, django_capture_on_commit_callbacks)
    assert invoice.status == Invoice.Status.PENDING
    assert invoice.stripe_customer_id and invoice.stripe_invoice_id

    past = timezone.now() - timedelta(minutes=5)
    Invoice.objects.filter(pk=invoice.pk).update(next_attempt_at=past, created_at=past)
    sweep_billing_calls()

    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempts) == (Invoice.Status.OPEN, 2)
    assert len(fake_stripe.of_type("customer")) == 1
    assert len(fake_stripe.of_type("invoice")) == 1
    assert len(fake_stripe.of_type("invoiceitem")) == 1
    assert fake_stripe.get(invoice.stripe_invoice_id)["amount_due"] == 2500


def test_a_second_worker_on_the_same_invoice_does_nothing(
    fake_stripe, account_id, host, session, participant, run_billing_tasks, django_capture_on_commit_callbacks
):
    invoice = _invoice(host, session, participant, django_capture_on_commit_callbacks)

    assert invoice_send(invoice_id=invoice.pk) is None
    assert len(fake_stripe.requests_to("/v1/customers")) == 1


def test_an_invoice_needs_an_email_a_future_due_date_and_the_session_host(
    fake_stripe, account_id, host, other_host, session, participant
):
    with pytest.raises(ValidationFailedError, match="due date"):
        invoice_for_extension(
            actor=host, session=session, participant=participant, amount=2500, due_date=timezone.localdate()
        )
    with pytest.raises(PermissionDeniedError):
        invoice_for_extension(
            actor=other_host, session=session, participant=participant, amount=2500, due_date=_due_date()
        )
    participant.email = ""
    participant.save()
    with pytest.raises(ValidationFailedError, match="email"):
        invoice_for_extension(
            actor=host, session=session, participant=participant, amount=2500, due_date=_due_date()
        )
    assert not Invoice.objects.exists()
    assert fake_stripe.requests_to("/v1/invoices") == []
