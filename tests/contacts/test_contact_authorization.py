"""Contacts are their organisation's: to a host or scheduler of another organisation every contacts URL is a
404, whatever the verb, and nothing is written; anyone logged out is sent to log in."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEvent, Membership
from contacts.models import Contact
from tests.contacts.support import held
from tests.factories import ContactFactory, member

pytestmark = pytest.mark.django_db

EDIT = {"name": "Taken Over", "email": "x@example.test", "preferred_method": "email", "time_zone": "UTC"}
OBJECT_ROUTES = {
    "contacts:detail": {},
    "contacts:edit": EDIT,
    "contacts:delete": {},
    "contacts:export_data": {},
    "contacts:erase": {},
}


@pytest.fixture
def contact(host, organization):
    contact = ContactFactory(organization=organization, name="Maria Garcia", email="maria@example.test")
    held(host, contact)
    return contact


def _state():
    return (
        list(Contact.objects.order_by("pk").values_list("pk", "name", "email", "note")),
        AuditEvent.objects.count(),
    )


@pytest.fixture(params=["host", "scheduler"])
def foreigner(request, client):
    role = Membership.Role.HOST if request.param == "host" else Membership.Role.SCHEDULER
    user = member(role=role, full_name="Foreign Person")
    ContactFactory(organization=user.organization, name="Their Own")
    client.force_login(user)
    return client


@pytest.mark.parametrize("name", list(OBJECT_ROUTES))
def test_another_organisations_contact_is_a_404_on_get_and_post_and_nothing_is_written(
    foreigner, contact, name
):
    url = reverse(name, kwargs={"pk": contact.pk})
    before = _state()

    assert foreigner.get(url).status_code == 404
    assert foreigner.post(url, OBJECT_ROUTES[name]).status_code == 404
    assert _state() == before


def test_another_organisations_list_search_and_export_show_none_of_its_contacts(foreigner, contact):
    assert "data-contact-id=" not in foreigner.get(reverse("contacts:list"), {"q": "Maria"}).content.decode()
    assert "Maria" not in foreigner.get(reverse("contacts:list")).content.decode()
    export = b"".join(foreigner.get(reverse("contacts:export_csv")).streaming_content).decode()
    assert "Maria" not in export and "Their Own" in export
    assert foreigner.get(reverse("contacts:autocomplete"), {"q": "Maria"}).json() == {"results": []}


def test_an_import_lands_in_the_importers_own_organisation(foreigner, contact):
    upload = SimpleUploadedFile("c.csv", b"name,email\nNew Person,maria@example.test\n")
    foreigner.post(reverse("contacts:import"), {"file": upload})
    key = foreigner.session["contacts-import"]["key"]
    foreigner.post(reverse("contacts:import_confirm", kwargs={"key": key}))

    imported = Contact.objects.get(name="New Person")
    assert imported.organization_id != contact.organization_id
    assert Contact.objects.get(pk=contact.pk).name == "Maria Garcia"


@pytest.mark.parametrize(
    "url",
    [
        reverse("contacts:list"),
        reverse("contacts:create"),
        reverse("contacts:import"),
        reverse("contacts:export_csv"),
        reverse("contacts:import_confirm", kwargs={"key": "abc"}),
        *[reverse(name, kwargs={"pk": 1}) for name in OBJECT_ROUTES],
    ],
)
def test_anyone_logged_out_is_sent_to_log_in(client, url):
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
