"""The editor's services (documents, fields, packets) and the participant's documents choice, as the
services take them: scoped to the actor's organisation, validated, audited."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Membership
from config.errors import PermissionDeniedError, ValidationFailedError
from documents.models import Document, DocumentField, Packet, Submission
from documents.services import (
    DOWN,
    UP,
    document_create,
    document_delete,
    document_field_add,
    document_field_move,
    document_field_remove,
    document_field_update,
    document_update,
    packet_create,
    packet_delete,
    packet_update,
    submission_save_draft,
)
from sessions_app.models import DocumentsShown, Participant
from sessions_app.services import ParticipantDetails, participant_add, participant_update, session_schedule
from tests.documents.conftest import Kind, make_document
from tests.factories import member

pytestmark = pytest.mark.django_db


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_hosts_and_schedulers_edit_their_organisations_documents_audited(host, scheduler):
    document = document_create(actor=host, title="  Intake   form ", instructions="Please\r\nanswer.")
    document = document_update(
        actor=scheduler,
        document=document,
        title="Intake form",
        instructions="Please answer.",
        is_active=True,
        is_required=True,
    )

    assert (document.title, document.is_required, document.organization) == (
        "Intake form",
        True,
        host.organization,
    )
    events = list(AuditEvent.objects.order_by("id"))
    assert [e.action for e in events] == [AuditAction.DOCUMENT_CREATE, AuditAction.DOCUMENT_UPDATE]
    assert events[1].actor == scheduler and events[1].organization_id == host.organization.id
    assert events[1].details == {"instructions": True, "is_required": [False, True]}


def test_another_organisations_people_cannot_edit(host, outsider_scheduler):
    document = make_document(host.organization)
    field = document.fields.create(kind=Kind.SHORT_TEXT, label="Name")
    packet = Packet.objects.create(organization=host.organization, name="Intake")
    attempts = [
        lambda: document_update(
            actor=outsider_scheduler,
            document=document,
            title="x",
            instructions="",
            is_active=True,
            is_required=False,
        ),
        lambda: document_delete(actor=outsider_scheduler, document=document),
        lambda: document_field_add(actor=outsider_scheduler, document=document, kind=Kind.DATE, label="x"),
        lambda: document_field_update(actor=outsider_scheduler, field=field, kind=Kind.DATE, label="x"),
        lambda: document_field_move(actor=outsider_scheduler, field=field, direction=UP),
        lambda: document_field_remove(actor=outsider_scheduler, field=field),
        lambda: packet_update(actor=outsider_scheduler, packet=packet, name="x", document_ids=[document.pk]),
        lambda: packet_delete(actor=outsider_scheduler, packet=packet),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError):
            attempt()
    with pytest.raises(ValidationFailedError, match="your organisation's documents"):
        packet_create(actor=outsider_scheduler, name="Stolen", document_ids=[document.pk])
    assert _actions() == []


def test_an_account_without_an_organisation_edits_nothing(db):
    loner = member(role=Membership.Role.HOST)
    Membership.objects.filter(user=loner).delete()
    loner = type(loner).objects.get(pk=loner.pk)
    with pytest.raises(PermissionDeniedError):
        document_create(actor=loner, title="Mine")


@pytest.mark.parametrize(
    ("title", "message"),
    [("   ", "Give the document's title"), ("x" * 201, "200 characters"), ("a\x00b", "cannot")],
)
def test_a_title_is_given_bounded_and_storable(host, title, message):
    with pytest.raises(ValidationFailedError, match=message):
        document_create(actor=host, title=title)
    assert not Document.objects.exists()


def test_fields_are_added_at_the_end_and_move_up_and_down(host):
    document = make_document(host.organization)
    name = document_field_add(
        actor=host, document=document, kind=Kind.SHORT_TEXT, label="Name", required=True
    )
    born = document_field_add(actor=host, document=document, kind=Kind.DATE, label="Date of birth")
    sign = document_field_add(actor=host, document=document, kind=Kind.SIGNATURE, label="Signature")

    def order():
        return list(document.fields.order_by("position", "id").values_list("label", flat=True))

    assert order() == ["Name", "Date of birth", "Signature"]
    document_field_move(actor=host, field=sign, direction=UP)
    assert order() == ["Name", "Signature", "Date of birth"]
    document_field_move(actor=host, field=name, direction=DOWN)
    assert order() == ["Signature", "Name", "Date of birth"]
    document_field_move(actor=host, field=sign, direction=UP)
    assert order() == ["Signature", "Name", "Date of birth"]
    document_field_remove(actor=host, field=born)
    assert order() == ["Signature", "Name"]
    assert _actions().count(AuditAction.DOCUMENT_FIELD_MOVE) == 2
    assert _actions()[-1] == AuditAction.DOCUMENT_FIELD_REMOVE


def test_choice_fields_need_their_options_one_per_line(host):
    document = make_document(host.organization)
    with pytest.raises(ValidationFailedError, match="List the options"):
        document_field_add(
            actor=host, document=document, kind=Kind.SINGLE_CHOICE, label="When", choices=["", " "]
        )
    with pytest.raises(ValidationFailedError, match="listed twice"):
        document_field_add(
            actor=host, document=document, kind=Kind.MULTIPLE_CHOICE, label="When", choices=["Am", "Am"]
        )
    field = document_field_add(
        actor=host,
        document=document,
        kind=Kind.SINGLE_CHOICE,
        label="When",
        choices=[" Morning ", "", "Evening"],
    )
    assert field.choices == ["Morning", "Evening"]

    field = document_field_update(
        actor=host, field=field, kind=Kind.SHORT_TEXT, label="When", choices=["Morning"]
    )
    assert field.choices == []


def test_a_document_has_one_signature_field_at_most(host):
    document = make_document(host.organization)
    document_field_add(actor=host, document=document, kind=Kind.SIGNATURE, label="Sign")
    other = document_field_add(actor=host, document=document, kind=Kind.SHORT_TEXT, label="Name")
    with pytest.raises(ValidationFailedError, match="one signature field"):
        document_field_add(actor=host, document=document, kind=Kind.SIGNATURE, label="Sign again")
    with pytest.raises(ValidationFailedError, match="one signature field"):
        document_field_update(actor=host, field=other, kind=Kind.SIGNATURE, label="Name")


def test_an_unknown_kind_is_refused(host):
    document = make_document(host.organization)
    with pytest.raises(ValidationFailedError, match="what kind"):
        document_field_add(actor=host, document=document, kind="script", label="x")
    assert not DocumentField.objects.exists()


def test_deleting_an_unanswered_document_deletes_it(host):
    document = make_document(host.organization, kinds=[Kind.SHORT_TEXT])
    assert document_delete(actor=host, document=document) is True
    assert not Document.objects.exists()
    assert _actions() == [AuditAction.DOCUMENT_DELETE]


def test_deleting_an_answered_document_deactivates_it(host, participant):
    document = make_document(host.organization, kinds=[Kind.SHORT_TEXT])
    submission_save_draft(participant=participant, document=document, answers={}, files={})

    assert document_delete(actor=host, document=document) is False
    document.refresh_from_db()
    assert not document.is_active and Submission.objects.filter(document=document).exists()
    assert _actions()[-1] == AuditAction.DOCUMENT_DEACTIVATE


def test_packets_hold_the_organisations_documents_in_the_order_chosen(host, scheduler):
    first = make_document(host.organization, "B first")
    second = make_document(host.organization, "A second")

    packet = packet_create(actor=scheduler, name="Intake", document_ids=[first.pk, second.pk, first.pk])
    assert list(packet.entries.values_list("document_id", flat=True)) == [first.pk, second.pk]
    packet = packet_update(actor=host, packet=packet, name="Intake", document_ids=[second.pk])
    assert list(packet.entries.values_list("document_id", flat=True)) == [second.pk]
    with pytest.raises(ValidationFailedError, match="at least one"):
        packet_update(actor=host, packet=packet, name="Intake", document_ids=[])
    packet_delete(actor=host, packet=packet)
    assert not Packet.objects.exists()
    assert _actions() == [AuditAction.PACKET_CREATE, AuditAction.PACKET_UPDATE, AuditAction.PACKET_DELETE]


# The participant's documents choice -----------------------------------------------------------------------


def _person(**documents) -> ParticipantDetails:
    return ParticipantDetails(
        name="Kim New", invite_method="email", email="kim@example.test", time_zone="UTC", **documents
    )


def test_scheduling_keeps_each_participants_documents_choice(host):
    packet = Packet.objects.create(organization=host.organization, name="First visit")
    session = session_schedule(
        actor=host,
        host=host,
        title="Intake",
        start_at=timezone.now() + timedelta(days=2),
        duration_minutes=50,
        participants=[
            _person(documents_shown=DocumentsShown.PACKET, documents_packet_id=packet.pk),
            ParticipantDetails(name="Lee", invite_method="none", documents_shown=DocumentsShown.NONE),
            ParticipantDetails(name="Ana", invite_method="none", documents_packet_id=packet.pk),
        ],
    )
    rows = {p.name: (p.documents_shown, p.documents_packet_id) for p in session.participants.all()}
    assert rows == {
        "Kim New": ("packet", packet.pk),
        "Lee": ("none", None),
        # A packet id goes only with the packet choice.
        "Ana": ("all", None),
    }


def test_a_packet_of_another_organisation_or_none_at_all_is_refused(host, session, outsider_scheduler):
    foreign = Packet.objects.create(organization=outsider_scheduler.organization, name="Theirs")
    for documents in (
        {"documents_shown": DocumentsShown.PACKET, "documents_packet_id": foreign.pk},
        {"documents_shown": DocumentsShown.PACKET},
        {"documents_shown": "everything"},
    ):
        with pytest.raises(ValidationFailedError) as refused:
            participant_add(actor=host, session=session, details=_person(**documents))
        assert refused.value.field == "documents_shown"
    assert not Participant.objects.exists()


def test_editing_a_participant_changes_their_documents_only_when_asked(host, participant):
    packet = Packet.objects.create(organization=host.organization, name="First visit")
    contact = {
        "invite_method": participant.invite_method,
        "email": participant.email,
        "phone": "",
        "time_zone": "UTC",
    }

    participant_update(
        actor=host,
        participant=participant,
        **contact,
        documents_shown=DocumentsShown.PACKET,
        documents_packet_id=packet.pk,
    )
    participant.refresh_from_db()
    assert (participant.documents_shown, participant.documents_packet_id) == ("packet", packet.pk)

    participant_update(actor=host, participant=participant, **contact)
    participant.refresh_from_db()
    assert (participant.documents_shown, participant.documents_packet_id) == ("packet", packet.pk)

    participant_update(actor=host, participant=participant, **contact, documents_shown=DocumentsShown.NONE)
    participant.refresh_from_db()
    assert (participant.documents_shown, participant.documents_packet_id) == ("none", None)
    event = AuditEvent.objects.filter(action=AuditAction.PARTICIPANT_UPDATE).order_by("id").last()
    assert event.details["before"]["documents_shown"] == "packet"


def test_editing_a_participant_refuses_another_organisations_packet(host, participant, outsider_scheduler):
    foreign = Packet.objects.create(organization=outsider_scheduler.organization, name="Theirs")
    with pytest.raises(ValidationFailedError, match="your organisation's packets"):
        participant_update(
            actor=host,
            participant=participant,
            invite_method=participant.invite_method,
            email=participant.email,
            phone="",
            time_zone="UTC",
            documents_shown=DocumentsShown.PACKET,
            documents_packet_id=foreign.pk,
        )
    participant.refresh_from_db()
    assert participant.documents_shown == DocumentsShown.ALL
