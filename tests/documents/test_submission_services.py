"""The participant's answers through the services: which documents they are shown, what a draft and a
submission accept, and what is refused (and that a refusal writes nothing)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditEvent
from config.errors import ValidationFailedError
from documents.answers import AnswersRefused
from documents.models import MAX_LONG_TEXT, MAX_SHORT_TEXT, Packet, PacketDocument, Submission, SubmissionFile
from documents.selectors import (
    documents_shown_to,
    documents_shown_to_each,
    required_documents_missing,
    submissions_of,
)
from documents.services import submission_save_draft, submission_submit
from sessions_app.models import DocumentsShown, Session
from tests.documents.conftest import JPEG, PDF, PNG, Kind, field_of, make_document, upload
from tests.factories import OrganizationFactory, ParticipantFactory

pytestmark = pytest.mark.django_db


def _draft(participant, document, answers=None, files=None, ip="203.0.113.9"):
    return submission_save_draft(
        participant=participant, document=document, answers=answers or {}, files=files or {}, ip=ip
    )


def _submit(participant, document, answers=None, files=None, ip="203.0.113.9"):
    return submission_submit(
        participant=participant, document=document, answers=answers or {}, files=files or {}, ip=ip
    )


def _key(document, kind) -> str:
    return str(field_of(document, kind).pk)


# Which documents a participant is shown -------------------------------------------------------------------


def test_all_shows_every_active_document_of_the_organisation_only(host, participant):
    consent = make_document(host.organization, "Consent")
    intake = make_document(host.organization, "Intake")
    make_document(host.organization, "Old form", active=False)
    make_document(OrganizationFactory(), "Someone else's form")

    assert documents_shown_to(participant) == [consent, intake]


def test_none_shows_nothing(host, participant):
    make_document(host.organization, "Consent", required=True)
    participant.documents_shown = DocumentsShown.NONE
    participant.save()

    assert documents_shown_to(participant) == []
    assert required_documents_missing(participant) == []


def test_a_packet_shows_its_active_documents_in_its_order(host, participant):
    first = make_document(host.organization, "Zeta history")
    second = make_document(host.organization, "Alpha consent")
    inactive = make_document(host.organization, "Retired", active=False)
    make_document(host.organization, "Not in the packet")
    packet = Packet.objects.create(organization=host.organization, name="First visit")
    for position, document in enumerate([first, inactive, second]):
        PacketDocument.objects.create(packet=packet, document=document, position=position)
    participant.documents_shown, participant.documents_packet = DocumentsShown.PACKET, packet
    participant.save()

    assert documents_shown_to(participant) == [first, second]


def test_the_batched_rule_answers_like_the_single_one_for_each_participant(host, session, participant):
    make_document(host.organization, "Consent")
    document = make_document(host.organization, "History")
    packet = Packet.objects.create(organization=host.organization, name="Short")
    PacketDocument.objects.create(packet=packet, document=document)
    nobody = ParticipantFactory(session=session, documents_shown=DocumentsShown.NONE)
    packed = ParticipantFactory(
        session=session, documents_shown=DocumentsShown.PACKET, documents_packet=packet
    )

    shown = documents_shown_to_each([participant, nobody, packed])

    assert {pk: [d.title for d in docs] for pk, docs in shown.items()} == {
        participant.pk: ["Consent", "History"],
        nobody.pk: [],
        packed.pk: ["History"],
    }


def test_a_required_document_blocks_until_it_is_submitted_not_while_a_draft(host, participant):
    required = make_document(host.organization, "Consent", required=True, kinds=[Kind.SHORT_TEXT])
    make_document(host.organization, "Optional", kinds=[Kind.SHORT_TEXT])

    assert required_documents_missing(participant) == [required]
    _draft(participant, required, {_key(required, Kind.SHORT_TEXT): "half"})
    assert required_documents_missing(participant) == [required]
    _submit(participant, required, {_key(required, Kind.SHORT_TEXT): "done"})
    assert required_documents_missing(participant) == []


# Drafts, submissions, read-only ---------------------------------------------------------------------------


def test_a_draft_may_be_incomplete_a_submission_may_not(participant):
    document = make_document(participant.session.organization, kinds=[Kind.SHORT_TEXT, Kind.LONG_TEXT])
    for item in document.fields.all():
        item.required = True
        item.save()

    draft = _draft(participant, document, {_key(document, Kind.SHORT_TEXT): "Maria"})
    assert draft.status == Submission.Status.DRAFT
    assert draft.answers == {_key(document, Kind.SHORT_TEXT): "Maria"}

    with pytest.raises(AnswersRefused) as refused:
        _submit(participant, document, {_key(document, Kind.SHORT_TEXT): "Maria"})
    assert refused.value.errors == [
        (_key(document, Kind.LONG_TEXT), "Answer “long_text question”: it is required.")
    ]
    assert Submission.objects.get().status == Submission.Status.DRAFT


def test_a_submission_keeps_the_fields_as_they_were_and_the_participants_contact(participant, intake):
    short = field_of(intake, Kind.SHORT_TEXT)

    submission = _submit(participant, intake, {str(short.pk): "Maria"})
    short.label = "Renamed later"
    short.save()

    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED and submission.submitted_at is not None
    assert submission.contact_id == participant.contact_id
    assert submission.organization_id == intake.organization_id
    labels = {item["id"]: (item["label"], item["kind"]) for item in submission.snapshot}
    assert labels[short.pk] == ("short_text question", "short_text")
    assert len(submission.snapshot) == len(Kind.values)


def test_a_submitted_document_is_read_only(participant, intake):
    _submit(participant, intake, {_key(intake, Kind.SHORT_TEXT): "First"})

    for save in (_draft, _submit):
        with pytest.raises(ValidationFailedError, match="already submitted"):
            save(participant, intake, {_key(intake, Kind.SHORT_TEXT): "Changed"})
    assert Submission.objects.get().answers[_key(intake, Kind.SHORT_TEXT)] == "First"


def test_saving_again_keeps_one_row_per_participant_and_document(participant, intake):
    _draft(participant, intake, {_key(intake, Kind.SHORT_TEXT): "One"})
    _draft(participant, intake, {_key(intake, Kind.SHORT_TEXT): "Two"})
    _submit(participant, intake, {_key(intake, Kind.SHORT_TEXT): "Three"})

    assert Submission.objects.count() == 1
    assert submissions_of(participant)[intake.pk].answers[_key(intake, Kind.SHORT_TEXT)] == "Three"


def test_drafts_and_submissions_are_audited_without_the_answers(participant, intake):
    _draft(participant, intake, {_key(intake, Kind.SHORT_TEXT): "Private words"})
    _submit(participant, intake, {_key(intake, Kind.SHORT_TEXT): "Private words"})

    events = list(AuditEvent.objects.filter(object_type="sessions_app.participant").order_by("id"))
    assert [e.action for e in events] == [AuditAction.SUBMISSION_SAVE_DRAFT, AuditAction.SUBMISSION_SUBMIT]
    assert all(e.actor is None and e.acting_for == participant.session.host for e in events)
    assert events[1].details["document"] == intake.pk
    assert "Private words" not in str([e.details for e in events])


# Bounds and kinds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "limit"), [(Kind.SHORT_TEXT, MAX_SHORT_TEXT), (Kind.LONG_TEXT, MAX_LONG_TEXT)]
)
def test_texts_are_bounded_with_a_clear_message(participant, intake, kind, limit):
    key = _key(intake, kind)
    _draft(participant, intake, {key: "x" * limit})

    with pytest.raises(AnswersRefused) as refused:
        _draft(participant, intake, {key: "x" * (limit + 1)})
    assert refused.value.errors == [
        (key, f"Keep “{kind} question” to {limit:,} characters at most (it has {limit + 1:,}).")
    ]
    assert Submission.objects.get().answers[key] == "x" * limit


def test_markup_is_stored_as_the_text_it_is(participant, intake):
    markup = "<script>alert(1)</script><b>bold</b> & 'quotes'"
    submission = _submit(participant, intake, {_key(intake, Kind.LONG_TEXT): markup})

    assert submission.answers[_key(intake, Kind.LONG_TEXT)] == markup


def test_a_null_byte_is_refused(participant, intake):
    with pytest.raises(AnswersRefused):
        _draft(participant, intake, {_key(intake, Kind.SHORT_TEXT): "Pa\x00t"})
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    ("value", "stored"),
    [("2001-02-03", "2001-02-03"), (" 1990-12-31 ", "1990-12-31"), ("", None)],
)
def test_dates_are_iso_dates(participant, intake, value, stored):
    submission = _draft(participant, intake, {_key(intake, Kind.DATE): value})
    assert submission.answers.get(_key(intake, Kind.DATE)) == stored


@pytest.mark.parametrize(
    "value", ["31/12/1990", "1899-12-31", "2101-01-01", "0001-01-01", "9999-12-31", "soon"]
)
def test_dates_outside_a_sane_range_or_format_are_refused(participant, intake, value):
    with pytest.raises(AnswersRefused, match="date"):
        _draft(participant, intake, {_key(intake, Kind.DATE): value})
    assert not Submission.objects.exists()


def test_choices_must_be_among_the_fields_options(participant, intake):
    single, multiple = _key(intake, Kind.SINGLE_CHOICE), _key(intake, Kind.MULTIPLE_CHOICE)

    submission = _draft(participant, intake, {single: "Morning", multiple: ["Evening", "Morning", "Evening"]})
    assert submission.answers[single] == "Morning"
    assert submission.answers[multiple] == ["Morning", "Evening"]

    for answers in ({single: "Midnight"}, {multiple: ["Morning", "Midnight"]}):
        with pytest.raises(AnswersRefused, match="options offered"):
            _draft(participant, intake, answers)


def test_yes_no_takes_yes_or_no(participant, intake):
    key = _key(intake, Kind.YES_NO)
    assert _draft(participant, intake, {key: "no"}).answers[key] == "no"
    with pytest.raises(AnswersRefused, match="yes or no"):
        _draft(participant, intake, {key: "maybe"})


def test_a_required_consent_must_be_ticked(participant, intake):
    consent = field_of(intake, Kind.CONSENT)
    consent.required = True
    consent.save()

    with pytest.raises(AnswersRefused, match="Tick “consent question”"):
        _submit(participant, intake, {str(consent.pk): False})
    submission = _submit(participant, intake, {str(consent.pk): True})
    assert submission.answers[str(consent.pk)] is True


def test_a_signature_is_the_typed_name_kept_with_when_and_from_where(participant, intake):
    signature = field_of(intake, Kind.SIGNATURE)
    signature.required = True
    signature.save()

    with pytest.raises(AnswersRefused, match="Type your full name"):
        _submit(participant, intake, {str(signature.pk): "   "})
    draft = _draft(participant, intake, {str(signature.pk): "Maria  Client"})
    assert draft.signed_name == "" and draft.signed_at is None

    submission = _submit(participant, intake, {str(signature.pk): "  Maria   Client "}, ip="2001:db8::1")
    assert submission.signed_name == "Maria Client"
    assert abs(submission.signed_at - timezone.now()) < timedelta(seconds=5)
    assert submission.signed_from == "2001:db8::1"
    assert submission.answers[str(signature.pk)] == "Maria Client"


def test_a_signature_from_an_unknown_address_is_kept_without_one(participant, intake):
    submission = _submit(participant, intake, {_key(intake, Kind.SIGNATURE): "Maria Client"}, ip="")
    assert submission.signed_name == "Maria Client" and submission.signed_from is None


# Refusals -------------------------------------------------------------------------------------------------


def test_a_document_not_shown_to_the_participant_is_refused(host, participant, intake):
    elsewhere = make_document(OrganizationFactory(), "Another practice's form", kinds=[Kind.SHORT_TEXT])
    retired = make_document(host.organization, "Retired", active=False, kinds=[Kind.SHORT_TEXT])

    for document in (elsewhere, retired):
        with pytest.raises(ValidationFailedError, match="not one you are asked"):
            _draft(participant, document)
    participant.documents_shown = DocumentsShown.NONE
    participant.save()
    with pytest.raises(ValidationFailedError, match="not one you are asked"):
        _draft(participant, intake)
    assert not Submission.objects.exists()


def test_answers_after_the_session_ended_are_refused(participant, intake):
    Session.objects.filter(pk=participant.session_id).update(
        start_at=timezone.now() - timedelta(hours=2), end_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(ValidationFailedError, match="This session has ended"):
        _submit(participant, intake, {_key(intake, Kind.SHORT_TEXT): "Late"})
    assert not Submission.objects.exists()


@pytest.mark.parametrize("status", [Session.Status.CANCELLED, Session.Status.REMOVED])
def test_answers_for_a_cancelled_or_removed_session_are_refused(participant, intake, status):
    Session.objects.filter(pk=participant.session_id).update(status=status)
    with pytest.raises(ValidationFailedError, match=f"This session was {status}"):
        _draft(participant, intake)


def test_answers_from_a_removed_participant_are_refused(participant, intake):
    participant.removed_at = timezone.now()
    participant.save()
    with pytest.raises(ValidationFailedError, match="You were removed"):
        _draft(participant, intake)


# Uploads --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"), [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")]
)
def test_an_upload_is_typed_by_its_content_and_stored_under_a_random_name(
    participant, intake, uploads, content, expected
):
    key = _key(intake, Kind.FILE)
    # The name and the browser's type say otherwise; neither is believed.
    sent = upload(content, name="../../evil.html", content_type="text/html")

    submission = _draft(participant, intake, files={key: sent})

    stored = SubmissionFile.objects.get()
    assert stored.content_type == expected and stored.size == len(content)
    assert stored.original_name == "evil.html"
    assert stored.file.name == f"documents/{intake.organization_id}/{stored.token}"
    assert len(stored.token) >= 43 and "evil" not in stored.file.name
    assert (uploads / stored.file.name).read_bytes() == content
    assert submission.answers[key] == {"file": stored.pk, "name": "evil.html"}


@pytest.mark.parametrize(
    "content",
    [b"<html><script>alert(1)</script></html>", b"GIF89a....", b"PK\x03\x04zip", b"", b"%PD"],
)
def test_an_upload_that_is_not_a_pdf_or_image_is_refused_whatever_its_name(
    participant, intake, uploads, content
):
    key = _key(intake, Kind.FILE)
    with pytest.raises(AnswersRefused, match="must be a PDF or an image"):
        _draft(participant, intake, files={key: upload(content, name="scan.pdf")})
    assert not SubmissionFile.objects.exists() and not Submission.objects.exists()
    assert not uploads.exists() or not any(uploads.rglob("*.*"))


def test_an_upload_over_the_size_limit_is_refused(participant, intake, settings):
    settings.DOCUMENT_UPLOAD_MAX_BYTES = 1024
    key = _key(intake, Kind.FILE)

    _draft(participant, intake, files={key: upload(PDF + b"x" * (1024 - len(PDF)))})
    with pytest.raises(AnswersRefused, match="too large"):
        _draft(participant, intake, files={key: upload(PDF + b"x" * 1024)})
    assert SubmissionFile.objects.get().size == 1024


def test_a_new_upload_replaces_the_fields_earlier_file_and_a_required_file_may_be_kept(
    participant, intake, uploads, django_capture_on_commit_callbacks
):
    file_field = field_of(intake, Kind.FILE)
    file_field.required = True
    file_field.save()
    key = str(file_field.pk)

    _draft(participant, intake, files={key: upload(PDF)})
    first = SubmissionFile.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        _draft(participant, intake, files={key: upload(PNG, name="photo.png")})
    second = SubmissionFile.objects.get()

    assert second.pk != first.pk and second.content_type == "image/png"
    assert not (uploads / first.file.name).exists()
    submission = _submit(participant, intake)
    assert submission.answers[key] == {"file": second.pk, "name": "photo.png"}


def test_a_required_file_must_be_sent_before_submitting(participant, intake):
    file_field = field_of(intake, Kind.FILE)
    file_field.required = True
    file_field.save()

    with pytest.raises(AnswersRefused, match="Add the file"):
        _submit(participant, intake)


def test_every_refused_answer_is_named_at_once(participant, intake):
    with pytest.raises(AnswersRefused) as refused:
        _draft(
            participant,
            intake,
            {_key(intake, Kind.DATE): "yesterday", _key(intake, Kind.YES_NO): "perhaps"},
        )
    assert [key for key, _message in refused.value.errors] == [
        _key(intake, Kind.DATE),
        _key(intake, Kind.YES_NO),
    ]
    assert str(refused.value) == "2 answers need your attention."
