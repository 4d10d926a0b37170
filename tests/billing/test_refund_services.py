"""Cancel refunds what was paid, once, after commit; remove and no-show keep the payment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditEvent
from billing.models import Payment, Refund
from billing.services import billing_settings_update, payment_require, payments_refund_for_cancel
from billing.services.common import MAX_ATTEMPTS
from billing.services.refunds import RECONCILE_AFTER
from billing.tasks import sweep_billing_calls
from sessions_app.models import Session
from sessions_app.services import session_cancel, session_mark_no_show, session_remove
from tests.billing.steps import pay
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _cancel(host, session, capture):
    with capture(execute=True):
        session_cancel(actor=host, session=session, reason="Host unwell")


def _make_due_again(refund: Refund) -> None:
    """Let the retry's wait and the sweep's grace minute pass."""
    past = timezone.now() - timedelta(minutes=5)
    Refund.objects.filter(pk=refund.pk).update(next_attempt_at=past, created_at=past)


def test_cancel_refunds_a_paid_session_in_full_after_commit(
    paid, fake_stripe, account_id, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    _cancel(host, session, django_capture_on_commit_callbacks)

    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.attempts) == (6000, Refund.Status.SUCCEEDED, 1)
    [call] = fake_stripe.requests_to("/v1/refunds")
    assert call["stripe_account"] == account_id
    assert call["idempotency_key"] == f"refund-{refund.pk}"
    assert call["params"]["payment_intent"] == paid.payment_intent_id
    assert call["params"]["amount"] == "6000"
    assert refund.stripe_refund_id == fake_stripe.of_type("refund")[0]["id"]
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == (Payment.Status.REFUNDED, 6000)
    assert AuditEvent.objects.filter(action=AuditAction.PAYMENTS_REFUND_FOR_CANCEL).count() == 1


def test_the_refund_is_written_with_the_cancel_and_sent_only_after_commit(
    paid, fake_stripe, host, session, run_billing_tasks
):
    session_cancel(actor=host, session=session)

    assert Refund.objects.get().status == Refund.Status.PENDING
    assert fake_stripe.requests_to("/v1/refunds") == []


def test_a_refund_retried_after_a_500_is_one_refund_with_one_key(
    paid, fake_stripe, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next(1, status=500, path="/v1/refunds")
    _cancel(host, session, django_capture_on_commit_callbacks)
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts) == (Refund.Status.PENDING, 1)
    assert "500" in refund.last_error
    assert refund.next_attempt_at > timezone.now()

    assert sweep_billing_calls() == 0
    _make_due_again(refund)
    assert sweep_billing_calls() == 1

    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error) == (Refund.Status.SUCCEEDED, 2, "")
    calls = fake_stripe.requests_to("/v1/refunds")
    assert [c["status"] for c in calls] == [500, 200]
    assert {c["idempotency_key"] for c in calls} == {f"refund-{refund.pk}"}
    assert len(fake_stripe.of_type("refund")) == 1


def test_a_refund_whose_answer_was_lost_is_not_refunded_twice(
    paid, fake_stripe, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    fake_stripe.drop_next(1, path="/v1/refunds")
    _cancel(host, session, django_capture_on_commit_callbacks)
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING
    assert len(fake_stripe.of_type("refund")) == 1

    _make_due_again(refund)
    sweep_billing_calls()

    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert [c["replayed"] for c in fake_stripe.requests_to("/v1/refunds")] == [False, True]
    assert len(fake_stripe.of_type("refund")) == 1
    assert fake_stripe.get(paid.payment_intent_id)["amount_refunded"] == 6000


def test_a_refund_stripe_refuses_fails_at_once_and_is_shown(
    paid, fake_stripe, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next(1, status=400, path="/v1/refunds")
    _cancel(host, session, django_capture_on_commit_callbacks)

    refund = Refund.objects.get()
    assert refund.status == Refund.Status.FAILED
    assert "refused" in refund.last_error
    paid.refresh_from_db()
    assert paid.status == Payment.Status.PAID
    assert AuditEvent.objects.get(action=AuditAction.REFUND_RESULT).details["status"] == "failed"


def test_a_refund_gives_up_after_its_last_attempt(
    paid, fake_stripe, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    fake_stripe.fail_next(MAX_ATTEMPTS, status=503, path="/v1/refunds")
    _cancel(host, session, django_capture_on_commit_callbacks)
    refund = Refund.objects.get()
    for _ in range(MAX_ATTEMPTS - 1):
        _make_due_again(refund)
        sweep_billing_calls()

    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == (Refund.Status.FAILED, MAX_ATTEMPTS)
    assert refund.last_error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts")


def test_a_late_cancel_keeps_the_fee_the_organisation_set(
    client, fake_stripe, account_id, host, organization, run_billing_tasks, django_capture_on_commit_callbacks
):
    billing_settings_update(
        actor=host, organization=organization, late_cancel_hours=24, late_cancel_fee_percent=30
    )
    soon = SessionFactory(host=host, start_at=timezone.now() + timedelta(hours=5))
    payment = pay(client, fake_stripe, ParticipantFactory(session=soon), host=host, amount=5999)

    _cancel(host, soon, django_capture_on_commit_callbacks)

    refund = Refund.objects.get()
    # 30 % of 59.99 is 17.997: the fee is rounded down, in the client's favour.
    assert (refund.amount, refund.status) == (5999 - 1799, Refund.Status.SUCCEEDED)
    assert fake_stripe.requests_to("/v1/refunds")[0]["params"]["amount"] == "4200"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == (Payment.Status.PARTIALLY_REFUNDED, 4200)
    details = AuditEvent.objects.get(action=AuditAction.PAYMENTS_REFUND_FOR_CANCEL).details
    assert details["fees_kept"] == [{"payment": payment.pk, "fee": 1799}]


def test_a_cancel_before_the_late_window_refunds_in_full(
    paid, fake_stripe, host, organization, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    billing_settings_update(
        actor=host, organization=organization, late_cancel_hours=48, late_cancel_fee_percent=50
    )

    _cancel(host, session, django_capture_on_commit_callbacks)

    assert Refund.objects.get().amount == 6000


def test_a_fee_of_everything_refunds_nothing(
    paid, fake_stripe, host, organization, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    billing_settings_update(
        actor=host, organization=organization, late_cancel_hours=96, late_cancel_fee_percent=100
    )

    _cancel(host, session, django_capture_on_commit_callbacks)

    assert not Refund.objects.exists()
    assert fake_stripe.requests_to("/v1/refunds") == []
    paid.refresh_from_db()
    assert paid.status == Payment.Status.PAID


def test_cancel_asks_no_more_of_payments_still_due(
    fake_stripe, account_id, host, participant, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    payment = payment_require(actor=host, participant=participant, amount=6000, currency="eur")

    _cancel(host, session, django_capture_on_commit_callbacks)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert not Refund.objects.exists()
    assert fake_stripe.requests_to("/v1/refunds") == []


def test_remove_does_not_refund(client, fake_stripe, account_id, host, run_billing_tasks):
    started = SessionFactory(host=host, start_at=timezone.now() - timedelta(minutes=10))
    payment = pay(client, fake_stripe, ParticipantFactory(session=started), host=host)

    session_remove(actor=host, session=started)

    started.refresh_from_db()
    payment.refresh_from_db()
    assert started.status == Session.Status.REMOVED
    assert payment.status == Payment.Status.PAID
    assert not Refund.objects.exists()
    assert sweep_billing_calls() == 0
    assert fake_stripe.requests_to("/v1/refunds") == []


def test_a_no_show_keeps_the_payment(client, fake_stripe, account_id, host, run_billing_tasks):
    started = SessionFactory(host=host, start_at=timezone.now() - timedelta(minutes=10))
    participant = ParticipantFactory(session=started)
    payment = pay(client, fake_stripe, participant, host=host)

    session_mark_no_show(actor=host, session=started, participant_ids=[participant.pk])

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert not Refund.objects.exists()
    assert fake_stripe.requests_to("/v1/refunds") == []


def test_cancelling_a_series_refunds_each_paid_occurrence_in_one_pass(
    client, fake_stripe, account_id, host, run_billing_tasks, django_capture_on_commit_callbacks
):
    sessions = [SessionFactory(host=host, start_at=timezone.now() + timedelta(days=d)) for d in (2, 9)]
    payments = [pay(client, fake_stripe, ParticipantFactory(session=s), host=host) for s in sessions]

    with django_capture_on_commit_callbacks(execute=True):
        refunds = payments_refund_for_cancel(sessions=sessions)

    assert sorted(r.payment_id for r in refunds) == sorted(p.pk for p in payments)
    assert {r.status for r in Refund.objects.all()} == {Refund.Status.SUCCEEDED}
    assert len(fake_stripe.of_type("refund")) == 2


# A refund Stripe answered "pending", whose refund.updated event never came --------------------------------


def _pending_at_stripe(fake_stripe, host, session, capture) -> Refund:
    fake_stripe.refund_status = "pending"
    _cancel(host, session, capture)
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING and refund.stripe_refund_id
    return refund


def _hour_passes(refund: Refund) -> None:
    """RECONCILE_AFTER goes by without a word from Stripe about the refund."""
    Refund.objects.filter(pk=refund.pk).update(
        next_attempt_at=timezone.now() - RECONCILE_AFTER - timedelta(minutes=1)
    )


def _retrievals(fake_stripe, refund: Refund) -> list[dict]:
    return fake_stripe.requests_to(f"/v1/refunds/{refund.stripe_refund_id}", method="GET")


def test_a_pending_refund_whose_event_never_came_is_asked_after_and_finished(
    paid, fake_stripe, account_id, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    refund = _pending_at_stripe(fake_stripe, host, session, django_capture_on_commit_callbacks)
    fake_stripe.finish_refund(refund.stripe_refund_id)

    # Within the hour the webhook has to tell, Stripe is not asked.
    assert sweep_billing_calls() == 0
    assert _retrievals(fake_stripe, refund) == []

    _hour_passes(refund)
    assert sweep_billing_calls() == 1

    [call] = _retrievals(fake_stripe, refund)
    assert call["stripe_account"] == account_id
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_amount) == (Payment.Status.REFUNDED, 6000)
    event = AuditEvent.objects.get(action=AuditAction.REFUND_RESULT)
    assert (event.actor, event.details["status"]) == (None, "succeeded")
    # Finished: never asked about again.
    _hour_passes(refund)
    assert sweep_billing_calls() == 0


def test_a_refund_that_failed_at_stripe_meanwhile_is_shown_failed_with_stripes_reason(
    paid, fake_stripe, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    refund = _pending_at_stripe(fake_stripe, host, session, django_capture_on_commit_callbacks)
    fake_stripe.finish_refund(
        refund.stripe_refund_id, status="failed", failure_reason="expired_or_canceled_card"
    )
    _hour_passes(refund)

    sweep_billing_calls()

    refund.refresh_from_db()
    assert refund.status == Refund.Status.FAILED
    assert refund.last_error == "Stripe could not refund it: expired_or_canceled_card."
    paid.refresh_from_db()
    assert paid.status == Payment.Status.PAID


def test_a_refund_still_pending_at_stripe_or_stripe_unreachable_is_asked_again_an_hour_later(
    paid, fake_stripe, host, session, run_billing_tasks, django_capture_on_commit_callbacks
):
    refund = _pending_at_stripe(fake_stripe, host, session, django_capture_on_commit_callbacks)
    _hour_passes(refund)
    assert sweep_billing_calls() == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING
    # Asked a moment ago: not again within the hour.
    assert sweep_billing_calls() == 0

    _hour_passes(refund)
    fake_stripe.fail_next(1, status=503, path=f"/v1/refunds/{refund.stripe_refund_id}")
    assert sweep_billing_calls() == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING
    assert sweep_billing_calls() == 0

    fake_stripe.finish_refund(refund.stripe_refund_id)
    _hour_passes(refund)
    sweep_billing_calls()
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert [c["status"] for c in _retrievals(fake_stripe, refund)] == [200, 503, 200]
