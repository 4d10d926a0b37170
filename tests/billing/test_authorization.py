"""Who may reach the payment pages: another organisation's services are a 404 for GET and POST and nothing
is written; every page works on the asker's own organisation only; a participant's pay step is theirs
alone; and someone without an account is sent to log in."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership
from billing.models import Payment, Service, StripeConnection
from tests.billing.pages import connect, owing, participant_client, participant_on, service_of, soon_session
from tests.factories import SessionFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def _stranger(role: str) -> Client:
    client = Client()
    client.force_login(member(role=role, full_name=f"Foreign {role}"))
    return client


def _state() -> tuple:
    return (
        list(Service.objects.order_by("pk").values_list("name", "price_amount", "currency", "is_active")),
        list(
            StripeConnection.objects.order_by("pk").values_list(
                "late_cancel_hours", "late_cancel_fee_percent"
            )
        ),
        Payment.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize("role", [Membership.Role.HOST, Membership.Role.SCHEDULER, Membership.Role.ADMIN])
def test_another_organisations_services_are_a_404_and_nothing_is_written(host, role):
    service = service_of(host.organization)
    client = _stranger(role)
    before = _state()
    for name, data in (
        (
            "billing:service_edit",
            {"name": "Taken", "price": "1.00", "currency": "usd", "duration_minutes": "5"},
        ),
        ("billing:service_deactivate", {}),
    ):
        url = reverse(name, kwargs={"pk": service.pk})
        assert client.get(url).status_code == 404, name
        assert client.post(url, data).status_code == 404, name
    assert _state() == before


def test_another_organisations_settings_page_shows_and_changes_only_its_own(host, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_authorization"
    connect(host.organization, account_id="acct_private")
    client = _stranger(Membership.Role.HOST)
    before = _state()

    page = client.get(reverse("billing:settings")).content.decode()
    assert "acct_private" not in page and "Connect Stripe" in page
    response = client.post(
        reverse("billing:settings"), {"late_cancel_hours": "48", "late_cancel_fee_percent": "100"}
    )
    assert response.status_code == 302
    assert _state() == before


def test_another_organisations_payments_services_and_csv_show_none_of_ours(host):
    session = SessionFactory(host=host, title="Private session")
    owing(participant_on(session, name="Private Person"))
    service_of(host.organization, name="Private service")
    for role in (Membership.Role.HOST, Membership.Role.SCHEDULER):
        client = _stranger(role)
        for url in (reverse("billing:payments"), reverse("billing:services")):
            page = client.get(url).content.decode()
            assert "Private" not in page, (role, url)
        csv = b"".join(client.get(reverse("billing:payments_csv")).streaming_content).decode()
        assert "Private" not in csv
        # A host of our organisation named in the filter is not one of theirs: the filter refuses it.
        filtered = client.get(reverse("billing:payments"), {"host": host.pk})
        assert "Private" not in filtered.content.decode()
        assert client.get(reverse("billing:payments_csv"), {"host": host.pk}).status_code == 400


def test_a_host_sees_only_their_own_sessions_payments(client, host, other_host):
    owing(participant_on(SessionFactory(host=other_host), name="Colleague's client"))
    owing(participant_on(SessionFactory(host=host), name="Own client"))
    client.force_login(host)
    page = client.get(reverse("billing:payments")).content.decode()
    assert "Own client" in page and "Colleague's client" not in page
    assert (
        client.get(reverse("billing:payments"), {"host": other_host.pk})
        .content.decode()
        .count("data-payment-id=")
        == 0
    )


def test_pages_without_an_account_or_with_an_unrelated_one_are_refused(host):
    service = service_of(host.organization)
    anonymous = Client()
    for url in (
        reverse("billing:payments"),
        reverse("billing:payments_csv"),
        reverse("billing:services"),
        reverse("billing:service_create"),
        reverse("billing:service_edit", kwargs={"pk": service.pk}),
        reverse("billing:settings"),
        reverse("billing:connect"),
        reverse("billing:connect_return"),
    ):
        for verb in ("get", "post"):
            response = getattr(anonymous, verb)(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    # An account that belongs to no organisation has no payments.
    loner = Client()
    loner.force_login(UserFactory())
    assert loner.get(reverse("billing:payments")).status_code == 404
    assert loner.post(reverse("billing:service_create"), {"name": "X"}).status_code == 404
    assert Service.objects.count() == 1


def test_a_participant_pays_only_their_own_payment(host, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_authorization"
    session = soon_session(host)
    pat = participant_on(session, name="Pat")
    sam = participant_on(session, name="Sam")
    owing(pat, amount=8000)
    owing(sam, amount=1234)
    page = participant_client(sam).get(reverse("join:pay")).content.decode()
    assert "Pay 12.34 EUR" in page and "80.00" not in page


def test_a_revoked_join_link_reaches_no_pay_step(host):
    participant = participant_on(soon_session(host))
    owing(participant)
    guest = participant_client(participant)
    participant.link_version += 1
    participant.save(update_fields=["link_version"])
    assert guest.get(reverse("join:pay")).status_code == 404
    assert guest.post(reverse("join:pay")).status_code == 404
    assert guest.get(reverse("join:pay_return")).status_code == 404


def test_a_session_that_ended_or_was_cancelled_takes_no_payment(host, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_authorization"
    ended = SessionFactory(host=host, start_at=timezone.now() - timedelta(hours=2))
    participant = participant_on(ended)
    owing(participant)
    guest = participant_client(participant)
    assert "This session has ended" in guest.get(reverse("join:lobby")).content.decode()
    response = guest.post(reverse("join:pay"))
    assert response.status_code == 302 and response["Location"] == reverse("join:lobby")
    assert Payment.objects.get().checkout_count == 0
