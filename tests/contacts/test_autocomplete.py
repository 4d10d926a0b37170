"""The contact autofill's search: the actor's own organisation only, by name or email, from two characters."""

import pytest
from django.urls import reverse

from contacts.models import InviteMethod
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = reverse("contacts:autocomplete")


def _names(client, query: str) -> list[str]:
    response = client.get(URL, {"q": query})
    assert response.status_code == 200
    return [result["name"] for result in response.json()["results"]]


def test_matches_by_name_prefix_and_substring_within_the_organisation(client, host, organization):
    for name in ("Patricia Lane", "Ann Patel", "Bob Stone"):
        ContactFactory(organization=organization, name=name)
    client.force_login(host)

    assert _names(client, "pat") == ["Patricia Lane", "Ann Patel"]
    assert _names(client, "ston") == ["Bob Stone"]
    assert _names(client, "zz") == []


def test_names_starting_with_the_query_come_first(client, host, organization):
    ContactFactory(organization=organization, name="Ann Maria")
    ContactFactory(organization=organization, name="Maria Lopez")
    client.force_login(host)

    assert _names(client, "mar") == ["Maria Lopez", "Ann Maria"]


def test_matches_by_email_too(client, host, organization):
    ContactFactory(organization=organization, name="K. Client", email="kim.client@example.test")
    client.force_login(host)

    assert _names(client, "kim.cl") == ["K. Client"]


def test_another_organisations_contacts_never_appear(client, host, organization):
    ContactFactory(organization=organization, name="Pat Ours")
    ContactFactory(name="Pat Theirs", email="pat.ours@example.test")
    client.force_login(host)

    assert _names(client, "pat") == ["Pat Ours"]
    assert _names(client, "theirs") == []


def test_a_scheduler_searches_their_own_organisations_contacts(
    client, scheduler, outsider_scheduler, organization
):
    ContactFactory(organization=organization, name="Pat Ours")
    client.force_login(scheduler)
    assert _names(client, "pat") == ["Pat Ours"]
    client.force_login(outsider_scheduler)
    assert _names(client, "pat") == []


def test_fewer_than_two_characters_return_no_results(client, host, organization):
    ContactFactory(organization=organization, name="Pat Ours")
    client.force_login(host)

    assert _names(client, "p") == []
    assert _names(client, " p ") == []
    assert _names(client, "") == []
    assert client.get(URL).json() == {"results": []}


def test_at_most_eight_results(client, host, organization):
    for index in range(12):
        ContactFactory(organization=organization, name=f"Pat {index:02d}")
    client.force_login(host)

    assert _names(client, "pat") == [f"Pat {index:02d}" for index in range(8)]


def test_results_carry_what_the_form_fills_in(client, host, organization):
    contact = ContactFactory(
        organization=organization,
        name="Sam <b>Text</b>",
        email="",
        phone="+447911123456",
        preferred_method=InviteMethod.WHATSAPP,
        time_zone="America/New_York",
    )
    client.force_login(host)
    response = client.get(URL, {"q": "sam"})

    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {
        "results": [
            {
                "id": contact.pk,
                "name": "Sam <b>Text</b>",
                "email": "",
                "phone": "+447911123456",
                "preferred_method": "whatsapp",
                "time_zone": "America/New_York",
            }
        ]
    }


def test_anonymous_is_sent_to_log_in(client, organization):
    ContactFactory(organization=organization, name="Pat Ours")
    response = client.get(URL, {"q": "pat"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_only_get_is_allowed(client, host):
    client.force_login(host)
    assert client.post(URL, {"q": "pat"}).status_code == 405
