"""A contact's privacy requests: a copy of their data (contact_export_data) and its erasure (contact_erase),
each confirmed on a page first and audited without personal data."""

import json

import pytest
from django.urls import reverse

from accounts.audit import ERASED
from accounts.models import AuditEvent
from config.errors import PermissionDeniedError, ValidationFailedError
from contacts.models import Contact
from contacts.services import contact_erase, contact_export_data
from documents.models import Submission
from notifications.models import Notification
from sessions_app.models import Participant
from sessions_app.services import participant_remove, participant_update
from tests.contacts.support import book, held, submitted
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

PERSONAL = ("Maria Garcia", "maria@example.test", "+447911123456", "Allergic to penicillin")


@pytest.fixture
def contact(organization):
    return ContactFactory(
        organization=organization,
        name="Maria Garcia",
        email="maria@example.test",
        phone="+447911123456",
        note="Anxious about video calls",
    )


def test_the_export_holds_the_contact_their_sessions_notices_and_answers(host, contact):
    past = held(host, contact, title="First visit")
    submitted(past)

    data = contact_export_data(actor=host, contact=contact)

    assert data["contact"]["name"] == "Maria Garcia" and data["contact"]["phone"] == "+447911123456"
    assert data["contact"]["note"] == "Anxious about video calls"
    [participation] = data["participations"]
    assert participation["session"] == "First visit" and participation["status"] == "Completed"
    assert participation["start_at"] == past.session.start_at.isoformat()
    [notice] = data["notices"]
    assert notice == {
        "kind": "invite",
        "channel": "email",
        "recipient": "maria@example.test",
        "status": "sent",
        "sent_at": notice["sent_at"],
    }
    assert "body" not in json.dumps(data["notices"])
    [submission] = data["submissions"]
    assert submission["document"] == "Intake form" and submission["answers"] == {
        "1": "Allergic to penicillin"
    }
    json.dumps(data)


def test_the_export_is_audited_with_counts_only(host, contact):
    held(host, contact)
    contact_export_data(actor=host, contact=contact)
    event = AuditEvent.objects.get(action="contact.export_data")
    assert event.details == {"participations": 1, "notices": 1, "submissions": 0}
    assert not any(value in json.dumps(event.details) for value in PERSONAL)


def test_erasure_removes_the_person_from_participations_notices_submissions_and_the_contact(host, contact):
    past = held(host, contact)
    submission = submitted(past)
    contact_pk = contact.pk

    erased = contact_erase(actor=host, contact=contact)

    assert erased == {"participations": 1, "notices": 1, "submissions": 1}
    assert not Contact.objects.filter(pk=contact_pk).exists()
    past.refresh_from_db()
    assert (past.name, past.email, str(past.phone or ""), past.contact_id) == ("Erased contact", "", "", None)
    assert past.link_version == 2
    notice = Notification.objects.get(participant=past)
    assert (notice.recipient, notice.body, notice.subject) == ("", "", "")
    assert notice.status == Notification.Status.SENT and notice.sent_at is not None
    submission.refresh_from_db()
    assert submission.answers == {} and submission.signed_name == ""
    assert submission.signed_at is None and submission.signed_from is None
    assert submission.status == Submission.Status.SUBMITTED


def test_erasure_scrubs_earlier_audit_events_and_its_own_holds_no_personal_data(host, contact):
    participant = book(host, contact)
    participant_update(
        actor=host,
        participant=participant,
        invite_method="email",
        email="maria.g@example.test",
        phone="",
        time_zone="Europe/Paris",
    )
    participant_remove(actor=host, participant=participant)

    contact_erase(actor=host, contact=contact)

    for event in AuditEvent.objects.all():
        details = json.dumps(event.details)
        for value in (*PERSONAL, "maria.g@example.test"):
            assert value not in details, (event.action, details)
    assert ERASED in json.dumps(AuditEvent.objects.get(action="participant.remove").details)
    own = AuditEvent.objects.get(action="contact.erase")
    assert own.actor == host and own.object_id == str(contact.pk)
    assert own.details == {"participations": 1, "notices": Notification.objects.count(), "submissions": 0}


def test_erasure_withdraws_notices_not_yet_sent(host, contact):
    participant = participant_remove(actor=host, participant=book(host, contact))
    Notification.objects.filter(participant=participant).update(status=Notification.Status.PENDING)

    contact_erase(actor=host, contact=contact)

    statuses = set(Notification.objects.filter(participant=participant).values_list("status", flat=True))
    assert statuses == {Notification.Status.WITHDRAWN}


def test_erasure_is_refused_while_the_contact_is_on_a_session_still_to_come(host, contact):
    upcoming = book(host, contact)
    past = held(host, contact)

    with pytest.raises(ValidationFailedError, match="Remove them from it first"):
        contact_erase(actor=host, contact=contact)

    assert Contact.objects.filter(pk=contact.pk).exists()
    assert Participant.objects.get(pk=past.pk).name == "Maria Garcia"
    assert Participant.objects.get(pk=upcoming.pk).email == "maria@example.test"
    assert not AuditEvent.objects.filter(action="contact.erase").exists()


def test_someone_of_another_organisation_can_neither_export_nor_erase(contact, outsider_scheduler):
    with pytest.raises(PermissionDeniedError):
        contact_export_data(actor=outsider_scheduler, contact=contact)
    with pytest.raises(PermissionDeniedError):
        contact_erase(actor=outsider_scheduler, contact=contact)
    assert Contact.objects.filter(pk=contact.pk).exists()


# Through the pages -----------------------------------------------------------------------------------------


def test_export_is_a_confirmation_page_then_a_json_download(client, host, contact):
    client.force_login(host)
    url = reverse("contacts:export_data", kwargs={"pk": contact.pk})

    page = client.get(url)
    assert page.status_code == 200 and "private record note" in page.content.decode()
    assert not AuditEvent.objects.filter(action="contact.export_data").exists()

    response = client.post(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert f"contact-{contact.pk}-data-" in response["Content-Disposition"]
    assert "Maria" not in response["Content-Disposition"]
    assert json.loads(response.content)["contact"]["email"] == "maria@example.test"
    assert AuditEvent.objects.filter(action="contact.export_data").count() == 1


def test_erase_is_a_red_warning_then_erases_on_post(client, host, contact):
    client.force_login(host)
    url = reverse("contacts:erase", kwargs={"pk": contact.pk})

    page = client.get(url).content.decode()
    assert "alert-danger" in page and "cannot be undone" in page
    assert Contact.objects.filter(pk=contact.pk).exists()

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("contacts:list")
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_erase_page_says_to_remove_them_first_and_post_is_refused_with_a_message(client, host, contact):
    book(host, contact)
    client.force_login(host)
    url = reverse("contacts:erase", kwargs={"pk": contact.pk})

    page = client.get(url).content.decode()
    assert "Remove them from it first" in page and "btn-danger" not in page

    response = client.post(url, follow=True)
    assert "Remove them from it first" in response.content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()
