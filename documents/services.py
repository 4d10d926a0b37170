"""Every change of a document, its fields, a packet or a participant's answers (DESIGN.md rule 1).

Documents and packets belong to the organisation, not to a host: any of its hosts and schedulers edits
them, and their audit events name the actor as the one acted for, like rooms. A participant has no account:
their drafts and submissions are audited with no actor, on their session.
"""

import ipaddress
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError, Q
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import Organization, User
from config.errors import PermissionDeniedError, ValidationFailedError
from contacts.models import Contact
from documents.answers import CleanAnswers, clean_answers, field_snapshot
from documents.models import (
    MAX_LONG_TEXT,
    Document,
    DocumentField,
    Packet,
    PacketDocument,
    Submission,
    SubmissionFile,
)
from documents.selectors import documents_shown_to
from sessions_app.models import Participant

Kind = DocumentField.Kind
CHOICE_KINDS = (Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE)
MAX_CHOICES = 50
MAX_CHOICE_LENGTH = 200
UP, DOWN = "up", "down"


# The editor -----------------------------------------------------------------------------------------------


def _check_edits_documents(*, actor: User, organization_id: int | None = None) -> Organization:
    organization = actor.organization if actor.is_authenticated else None
    if organization is None or not (actor.is_host or actor.is_scheduler):
        raise PermissionDeniedError("Only the organisation's hosts and schedulers edit its documents.")
    if organization_id is not None and organization_id != organization.id:
        raise PermissionDeniedError("That belongs to another organisation.")
    return organization


def _audit(*, actor: User, action: AuditAction, obj, **details) -> None:
    audit_record(
        actor=actor,
        acting_for=actor,
        organization_id=actor.organization.id,
        action=action,
        obj=obj,
        **details,
    )


def _clean_text(value: str, *, field: str, what: str, limit: int, required: bool = True) -> str:
    if "\x00" in value:
        raise ValidationFailedError(f"The {what} contains a character that cannot be stored.", field=field)
    value = value.replace("\r\n", "\n").strip()
    if required and not value:
        raise ValidationFailedError(f"Give the {what}.", field=field)
    if len(value) > limit:
        raise ValidationFailedError(f"Keep the {what} to {limit:,} characters at most.", field=field)
    return value


def _lock_document(*, actor: User, document: Document) -> Document:
    _check_edits_documents(actor=actor, organization_id=document.organization_id)
    return Document.objects.select_for_update().get(pk=document.pk)


def _document_values(*, title: str, instructions: str) -> tuple[str, str]:
    title = " ".join(
        _clean_text(
            title, field="title", what="document's title", limit=Document.title.field.max_length
        ).split()
    )
    instructions = _clean_text(
        instructions, field="instructions", what="instructions", limit=MAX_LONG_TEXT, required=False
    )
    return title, instructions


@transaction.atomic
def document_create(
    *, actor: User, title: str, instructions: str = "", is_active: bool = True, is_required: bool = False
) -> Document:
    organization = _check_edits_documents(actor=actor)
    title, instructions = _document_values(title=title, instructions=instructions)
    document = Document.objects.create(
        organization=organization,
        title=title,
        instructions=instructions,
        is_active=is_active,
        is_required=is_required,
    )
    _audit(actor=actor, action=AuditAction.DOCUMENT_CREATE, obj=document, title=title, required=is_required)
    return document


@transaction.atomic
def document_update(
    *, actor: User, document: Document, title: str, instructions: str, is_active: bool, is_required: bool
) -> Document:
    """Change a document's title, instructions and flags; a change to nothing records nothing. Answers
    already submitted keep the fields as they were (Submission.snapshot)."""
    document = _lock_document(actor=actor, document=document)
    title, instructions = _document_values(title=title, instructions=instructions)
    changes = {}
    for name, value in (
        ("title", title),
        ("instructions", instructions),
        ("is_active", is_active),
        ("is_required", is_required),
    ):
        if getattr(document, name) != value:
            # The instructions can be long; the log says that they changed, not what they say.
            changes[name] = True if name == "instructions" else [getattr(document, name), value]
            setattr(document, name, value)
    if changes:
        document.save(update_fields=["title", "instructions", "is_active", "is_required", "updated_at"])
        _audit(actor=actor, action=AuditAction.DOCUMENT_UPDATE, obj=document, **changes)
    return document


@transaction.atomic
def document_delete(*, actor: User, document: Document) -> bool:
    """Delete a document nobody has answered; one with submissions (drafts included) is deactivated
    instead, since those answers keep pointing at it. True when it was deleted."""
    document = _lock_document(actor=actor, document=document)
    if not document.submissions.exists():
        try:
            # A participant may save a first draft between the check and the delete; the protecting
            # foreign key then refuses the delete and the document is deactivated like any answered one.
            with transaction.atomic():
                _audit(actor=actor, action=AuditAction.DOCUMENT_DELETE, obj=document, title=document.title)
                document.delete()
            return True
        except ProtectedError:
            pass
    document.is_active = False
    document.save(update_fields=["is_active", "updated_at"])
    _audit(actor=actor, action=AuditAction.DOCUMENT_DEACTIVATE, obj=document, title=document.title)
    return False


def _field_values(
    *,
    document: Document,
    kind: str,
    label: str,
    help_text: str,
    choices: list[str] | None,
    exclude_pk: int | None = None,
) -> dict:
    if kind not in Kind.values:
        raise ValidationFailedError("Choose what kind of field this is.", field="kind")
    label = _clean_text(
        label, field="label", what="field's label", limit=DocumentField.label.field.max_length
    )
    help_text = _clean_text(
        help_text,
        field="help_text",
        what="help text",
        limit=DocumentField.help_text.field.max_length,
        required=False,
    )
    options: list[str] = []
    if kind in CHOICE_KINDS:
        for line in choices or []:
            option = _clean_text(
                line, field="choices", what="option", limit=MAX_CHOICE_LENGTH, required=False
            )
            if not option:
                continue
            if option in options:
                raise ValidationFailedError(f"The option “{option}” is listed twice.", field="choices")
            options.append(option)
        if not options:
            raise ValidationFailedError("List the options, one per line.", field="choices")
        if len(options) > MAX_CHOICES:
            raise ValidationFailedError(f"A field offers at most {MAX_CHOICES} options.", field="choices")
    if kind == Kind.SIGNATURE:
        # A submission keeps one signature (signed_name, signed_at, signed_from).
        others = document.fields.filter(kind=Kind.SIGNATURE).exclude(pk=exclude_pk)
        if others.exists():
            raise ValidationFailedError("A document has one signature field at most.", field="kind")
    return {"kind": kind, "label": label, "help_text": help_text, "choices": options}


@transaction.atomic
def document_field_add(
    *,
    actor: User,
    document: Document,
    kind: str,
    label: str,
    help_text: str = "",
    choices: list[str] | None = None,
    required: bool = False,
) -> DocumentField:
    """A new field at the end of the document."""
    document = _lock_document(actor=actor, document=document)
    values = _field_values(document=document, kind=kind, label=label, help_text=help_text, choices=choices)
    last = document.fields.aggregate(last=Max("position"))["last"]
    field = DocumentField.objects.create(
        document=document, position=0 if last is None else last + 1, required=required, **values
    )
    _audit(
        actor=actor,
        action=AuditAction.DOCUMENT_FIELD_ADD,
        obj=field,
        document=document.pk,
        kind=field.kind,
        label=field.label,
    )
    return field


@transaction.atomic
def document_field_update(
    *,
    actor: User,
    field: DocumentField,
    kind: str,
    label: str,
    help_text: str = "",
    choices: list[str] | None = None,
    required: bool = False,
) -> DocumentField:
    document = _lock_document(actor=actor, document=field.document)
    field = DocumentField.objects.get(pk=field.pk, document=document)
    values = _field_values(
        document=document, kind=kind, label=label, help_text=help_text, choices=choices, exclude_pk=field.pk
    )
    values["required"] = required
    changes = {
        name: [getattr(field, name), value] for name, value in values.items() if getattr(field, name) != value
    }
    if changes:
        for name, value in values.items():
            setattr(field, name, value)
        field.save(update_fields=list(values))
        _audit(
            actor=actor, action=AuditAction.DOCUMENT_FIELD_UPDATE, obj=field, document=document.pk, **changes
        )
    return field


@transaction.atomic
def document_field_move(*, actor: User, field: DocumentField, direction: str) -> DocumentField:
    """Swap a field with the one above (UP) or below (DOWN); the first field going up stays first."""
    if direction not in (UP, DOWN):
        raise ValidationFailedError("Move the field up or down.")
    document = _lock_document(actor=actor, document=field.document)
    fields = list(document.fields.order_by("position", "id"))
    index = next((i for i, f in enumerate(fields) if f.pk == field.pk), None)
    if index is None:
        raise ValidationFailedError("That field was removed a moment ago.")
    other = index - 1 if direction == UP else index + 1
    if not 0 <= other < len(fields):
        return fields[index]
    fields[index], fields[other] = fields[other], fields[index]
    # Renumbered as a whole: positions left equal by older edits would otherwise make a swap a no-op.
    for position, item in enumerate(fields):
        item.position = position
    DocumentField.objects.bulk_update(fields, ["position"])
    moved = fields[other]
    _audit(
        actor=actor,
        action=AuditAction.DOCUMENT_FIELD_MOVE,
        obj=moved,
        document=document.pk,
        direction=direction,
        position=other,
    )
    return moved


@transaction.atomic
def document_field_remove(*, actor: User, field: DocumentField) -> None:
    """Remove a field. Submitted answers keep it in their snapshot; drafts lose its answer at their next
    save."""
    document = _lock_document(actor=actor, document=field.document)
    field = DocumentField.objects.get(pk=field.pk, document=document)
    _audit(
        actor=actor,
        action=AuditAction.DOCUMENT_FIELD_REMOVE,
        obj=field,
        document=document.pk,
        label=field.label,
    )
    field.delete()


def _packet_values(
    *, organization: Organization, name: str, document_ids: list[int]
) -> tuple[str, list[int]]:
    name = " ".join(
        _clean_text(name, field="name", what="packet's name", limit=Packet.name.field.max_length).split()
    )
    ordered = list(dict.fromkeys(document_ids))
    if not ordered:
        raise ValidationFailedError("Choose at least one document for the packet.", field="documents")
    found = set(
        Document.objects.filter(organization=organization, pk__in=ordered).values_list("pk", flat=True)
    )
    if found != set(ordered):
        raise ValidationFailedError("Choose among your organisation's documents.", field="documents")
    return name, ordered


def _packet_fill(packet: Packet, document_ids: list[int]) -> None:
    PacketDocument.objects.bulk_create(
        [PacketDocument(packet=packet, document_id=pk, position=i) for i, pk in enumerate(document_ids)]
    )


@transaction.atomic
def packet_create(*, actor: User, name: str, document_ids: list[int]) -> Packet:
    """A packet of the organisation's documents, in the order given."""
    organization = _check_edits_documents(actor=actor)
    name, document_ids = _packet_values(organization=organization, name=name, document_ids=document_ids)
    packet = Packet.objects.create(organization=organization, name=name)
    _packet_fill(packet, document_ids)
    _audit(actor=actor, action=AuditAction.PACKET_CREATE, obj=packet, name=name, documents=document_ids)
    return packet


@transaction.atomic
def packet_update(*, actor: User, packet: Packet, name: str, document_ids: list[int]) -> Packet:
    organization = _check_edits_documents(actor=actor, organization_id=packet.organization_id)
    packet = Packet.objects.select_for_update().get(pk=packet.pk)
    name, document_ids = _packet_values(organization=organization, name=name, document_ids=document_ids)
    before = list(packet.entries.order_by("position", "id").values_list("document_id", flat=True))
    if name == packet.name and before == document_ids:
        return packet
    old_name, packet.name = packet.name, name
    packet.save(update_fields=["name"])
    packet.entries.all().delete()
    _packet_fill(packet, document_ids)
    _audit(
        actor=actor,
        action=AuditAction.PACKET_UPDATE,
        obj=packet,
        name=[old_name, name],
        documents=[before, document_ids],
    )
    return packet


@transaction.atomic
def packet_delete(*, actor: User, packet: Packet) -> None:
    """Delete a packet. Participants who were shown it are shown no documents from then on."""
    _check_edits_documents(actor=actor, organization_id=packet.organization_id)
    packet = Packet.objects.select_for_update().get(pk=packet.pk)
    _audit(
        actor=actor,
        action=AuditAction.PACKET_DELETE,
        obj=packet,
        name=packet.name,
        participants=packet.participants.count(),
    )
    packet.delete()


# The participant's answers --------------------------------------------------------------------------------


def answers_closed_reason(participant: Participant) -> str | None:
    """Why this participant can no longer fill in or change their documents, or None while they can: until
    their session ends, unless it was cancelled or removed or they were taken off it."""
    if participant.removed_at is not None:
        return "You were removed from this session, so its documents are closed."
    session = participant.session
    if session.is_closed:
        return f"This session was {session.get_status_display().lower()}, so its documents are closed."
    if session.end_at <= timezone.now():
        return "This session has ended, so its documents can no longer be filled in."
    return None


def _lock_participant(participant: Participant) -> Participant:
    """The participant's row, locked, after checking their session still takes answers."""
    locked = (
        Participant.objects.select_for_update(of=("self",))
        .select_related("session__host")
        .filter(pk=participant.pk)
        .first()
    )
    if locked is None:
        raise ValidationFailedError("You were removed from this session, so its documents are closed.")
    if reason := answers_closed_reason(locked):
        raise ValidationFailedError(reason)
    return locked


def _shown_document(participant: Participant, document: Document) -> Document:
    shown = next((d for d in documents_shown_to(participant) if d.pk == document.pk), None)
    if shown is None:
        raise ValidationFailedError("This document is not one you are asked to fill in.")
    return shown


def _locked_submission(participant: Participant, document: Document) -> Submission | None:
    submission = (
        Submission.objects.select_for_update().filter(participant=participant, document=document).first()
    )
    if submission is not None and submission.status == Submission.Status.SUBMITTED:
        raise ValidationFailedError("You have already submitted this document; it can no longer be changed.")
    return submission


def _new_submission(participant: Participant, document: Document) -> Submission:
    try:
        # Two first saves at once (a double click, two tabs): the unique constraint lets one create the
        # row; the other waits for it, then locks and uses it like any later save.
        with transaction.atomic():
            return Submission.objects.create(
                organization_id=document.organization_id,
                participant=participant,
                contact_id=participant.contact_id,
                document=document,
            )
    except IntegrityError:
        return _locked_submission(participant, document)


def _store_uploads(submission: Submission, clean: CleanAnswers) -> None:
    """Store the new files (replacing the field's earlier one) and put each file's answer beside the
    others. Runs after every check, so a refused answer stores no file."""
    replaced = {
        f.field_id: f for f in submission.files.filter(field_id__in=[u.field.pk for u in clean.uploads])
    }
    for upload in clean.uploads:
        stored = SubmissionFile(
            submission=submission,
            field=upload.field,
            token=secrets.token_urlsafe(32),
            original_name=upload.name,
            content_type=upload.content_type,
            size=upload.file.size,
        )
        stored.file.save(stored.token, upload.file, save=False)
        stored.save()
        old = replaced.get(upload.field.pk)
        if old is not None:
            name, storage = old.file.name, old.file.storage
            old.delete()
            transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
    for stored in submission.files.exclude(field=None):
        clean.values[str(stored.field_id)] = {"file": stored.pk, "name": stored.original_name}


def _client_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip or ""))
    except ValueError:
        return None


def _answer(
    *,
    participant: Participant,
    document: Document,
    answers: dict,
    files: dict,
    ip: str | None,
    submitting: bool,
) -> Submission:
    participant = _lock_participant(participant)
    document = _shown_document(participant, document)
    fields = list(document.fields.all())
    submission = _locked_submission(participant, document)
    kept = {} if submission is None else {f.field_id: f for f in submission.files.exclude(field=None)}
    clean = clean_answers(
        fields=fields, answers=answers or {}, files=files or {}, kept_files=kept, submitting=submitting
    )
    if submission is None:
        submission = _new_submission(participant, document)
    # Files of fields removed from the document stay with the submission, unlisted among the answers.
    _store_uploads(submission, clean)
    submission.answers = {
        key: clean.values[key] for key in (str(f.pk) for f in fields) if key in clean.values
    }
    submission.contact_id = participant.contact_id
    update = ["answers", "contact", "updated_at"]
    if submitting:
        moment = timezone.now()
        submission.status = Submission.Status.SUBMITTED
        submission.submitted_at = moment
        submission.snapshot = field_snapshot(fields)
        if clean.signature:
            submission.signed_name = clean.signature
            submission.signed_at = moment
            submission.signed_from = _client_ip(ip)
        update += ["status", "submitted_at", "snapshot", "signed_name", "signed_at", "signed_from"]
    submission.save(update_fields=update)
    audit_record(
        actor=None,
        session=participant.session,
        action=AuditAction.SUBMISSION_SUBMIT if submitting else AuditAction.SUBMISSION_SAVE_DRAFT,
        obj=participant,
        document=document.pk,
        submission=submission.pk,
        # What was answered stays out of the log: it is the participant's, and often about their health.
        answered=len(submission.answers),
        signed=bool(submitting and clean.signature),
    )
    return submission


@transaction.atomic
def submission_save_draft(
    *, participant: Participant, document: Document, answers: dict, files: dict, ip: str | None = None
) -> Submission:
    """Keep the participant's answers so far; a draft may leave required fields empty. `answers` and `files`
    are keyed by the field's id as text."""
    return _answer(
        participant=participant, document=document, answers=answers, files=files, ip=ip, submitting=False
    )


@transaction.atomic
def submission_submit(
    *, participant: Participant, document: Document, answers: dict, files: dict, ip: str | None = None
) -> Submission:
    """Submit the participant's answers: every required field answered, the fields' labels kept with the
    answers, the typed signature kept with when and from where it was given. Read-only from then on."""
    return _answer(
        participant=participant, document=document, answers=answers, files=files, ip=ip, submitting=True
    )


# A privacy request ----------------------------------------------------------------------------------------


def submissions_erase(*, contact: Contact) -> int:
    """Erase a person's answers on their request (contacts.services.contact_erase, which checks the actor,
    owns the transaction and audits): their submissions stay as the record that a document was filled in
    and when, with no answer, signature or file left in them. The files leave the storage once the erasure
    is committed. Returns how many submissions were erased."""
    submissions = Submission.objects.filter(Q(contact=contact) | Q(participant__contact=contact))
    files = list(SubmissionFile.objects.filter(submission__in=submissions))
    SubmissionFile.objects.filter(pk__in=[stored.pk for stored in files]).delete()
    for stored in files:
        name, storage = stored.file.name, stored.file.storage
        transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))
    return submissions.update(
        answers={}, signed_name="", signed_at=None, signed_from=None, updated_at=timezone.now()
    )
