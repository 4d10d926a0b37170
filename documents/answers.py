"""What a participant may answer to each kind of field, and how an answer reads back.

The services call clean_answers before they write anything, so a refused answer leaves nothing behind; the
same rules hold for a draft (which may be incomplete) and a submission (which must be complete).
"""

import os
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from config.errors import ValidationFailedError
from documents.models import MAX_LONG_TEXT, MAX_SHORT_TEXT, DocumentField, Submission, SubmissionFile

Kind = DocumentField.Kind

# A date answer is a birth date, an appointment, a date of onset: anything outside these years is a typo.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2100, 12, 31)
SIGNED_NAME_MAX = Submission._meta.get_field("signed_name").max_length
YES_NO = {"yes": "Yes", "no": "No"}

# An upload is what its first bytes say it is. The file name and the browser's content type are the
# sender's to choose, so neither is read: a script named photo.png is refused like any other.
UPLOAD_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
UPLOAD_KINDS = "a PDF or an image (PNG or JPEG)"


class AnswersRefused(ValidationFailedError):
    """Some answers were refused; `errors` names each field (its id, as text) with what to fix."""

    def __init__(self, errors: list[tuple[str, str]]):
        count = len(errors)
        super().__init__(
            errors[0][1] if count == 1 else f"{count} answers need your attention.", field=errors[0][0]
        )
        self.errors = errors


@dataclass
class Upload:
    field: DocumentField
    file: UploadedFile
    content_type: str
    name: str


@dataclass
class CleanAnswers:
    # {str(field id): value}, only the fields answered; a file field's value is filled in once it is stored.
    values: dict = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    signature: str = ""


def upload_content_type(upload) -> str | None:
    """The type the file's first bytes announce, if it is one we take, else None."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    for signature, content_type in UPLOAD_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def _display_name(name: str) -> str:
    # Kept only to show and to offer as the download's name: no folders, no control characters.
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200] or "upload"


def _text(value, *, field: DocumentField, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"Answer “{field.label}” with text.")
    if "\x00" in value:
        raise ValueError(f"“{field.label}” contains a character that cannot be stored (a null byte).")
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise ValueError(f"Keep “{field.label}” to {limit:,} characters at most (it has {len(value):,}).")
    return value


def _choice(value, *, field: DocumentField) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or value not in field.choices:
        raise ValueError(f"Choose one of the options offered for “{field.label}”.")
    return value


def _choices(value, *, field: DocumentField) -> list[str]:
    if value in ("", None):
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or any(v not in field.choices for v in values):
        raise ValueError(f"Choose only among the options offered for “{field.label}”.")
    # The options' own order, each once, whatever order the browser sent them in.
    return [option for option in field.choices if option in values]


def _date(value, *, field: DocumentField) -> str:
    if value in ("", None):
        return ""
    try:
        day = date.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"Enter “{field.label}” as a date (for example 2026-05-31).")
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"Enter a date between {FIRST_DATE.year} and {LAST_DATE.year} for “{field.label}”.")
    return day.isoformat()


def _yes_no(value, *, field: DocumentField) -> str:
    if value in ("", None):
        return ""
    if value not in YES_NO:
        raise ValueError(f"Answer “{field.label}” with yes or no.")
    return value


def _consent(value) -> bool:
    return value is True or value in ("on", "true", "1", "yes")


def _upload(upload, *, field: DocumentField) -> Upload:
    if upload.size > settings.DOCUMENT_UPLOAD_MAX_BYTES:
        limit = settings.DOCUMENT_UPLOAD_MAX_BYTES / (1024 * 1024)
        raise ValueError(f"The file for “{field.label}” is too large: send one of at most {limit:g} MB.")
    content_type = upload_content_type(upload)
    if content_type is None:
        raise ValueError(f"The file for “{field.label}” must be {UPLOAD_KINDS}.")
    return Upload(field=field, file=upload, content_type=content_type, name=_display_name(upload.name))


def _empty(value) -> bool:
    return value in ("", None, False, [])


def clean_answers(
    *,
    fields: list[DocumentField],
    answers: dict,
    files: dict,
    kept_files: dict[int, SubmissionFile],
    submitting: bool,
) -> CleanAnswers:
    """The answers to these fields, checked and normalised, or AnswersRefused naming every field to fix.
    `answers` and `files` are keyed by the field's id as text; a file field without a new upload keeps the
    file in `kept_files` (by field id). Only a submission must answer every required field."""
    clean = CleanAnswers()
    errors: list[tuple[str, str]] = []
    for item in fields:
        key = str(item.pk)
        raw = answers.get(key)
        try:
            if item.kind == Kind.FILE:
                upload = files.get(key)
                if upload is not None:
                    clean.uploads.append(_upload(upload, field=item))
                    value = True
                else:
                    value = item.pk in kept_files
            elif item.kind == Kind.SHORT_TEXT:
                value = _text(raw or "", field=item, limit=MAX_SHORT_TEXT)
            elif item.kind == Kind.LONG_TEXT:
                value = _text(raw or "", field=item, limit=MAX_LONG_TEXT)
            elif item.kind == Kind.SIGNATURE:
                value = " ".join(_text(raw or "", field=item, limit=SIGNED_NAME_MAX).split())
            elif item.kind == Kind.SINGLE_CHOICE:
                value = _choice(raw, field=item)
            elif item.kind == Kind.MULTIPLE_CHOICE:
                value = _choices(raw, field=item)
            elif item.kind == Kind.DATE:
                value = _date(raw, field=item)
            elif item.kind == Kind.YES_NO:
                value = _yes_no(raw, field=item)
            else:
                value = _consent(raw)
            if submitting and item.required and _empty(value):
                raise ValueError(_missing_message(item))
        except ValueError as error:
            errors.append((key, str(error)))
            continue
        if item.kind == Kind.SIGNATURE and value and not clean.signature:
            clean.signature = value
        if item.kind != Kind.FILE and not _empty(value):
            clean.values[key] = value
    if errors:
        raise AnswersRefused(errors)
    return clean


def _missing_message(item: DocumentField) -> str:
    if item.kind == Kind.CONSENT:
        return f"Tick “{item.label}” to submit this document."
    if item.kind == Kind.SIGNATURE:
        return f"Type your full name to sign (“{item.label}”)."
    if item.kind == Kind.FILE:
        return f"Add the file asked for in “{item.label}”."
    return f"Answer “{item.label}”: it is required."


def field_snapshot(fields: list[DocumentField]) -> list[dict]:
    """The fields as they were when answered, kept with a submission so a later edit of the document
    does not change what the answers meant."""
    return [
        {
            "id": item.pk,
            "label": item.label,
            "kind": item.kind,
            "help_text": item.help_text,
            "choices": list(item.choices),
            "required": item.required,
        }
        for item in fields
    ]


@dataclass
class AnswerRow:
    label: str
    kind: str
    text: str
    file: SubmissionFile | None = None


def answer_text(kind: str, value) -> str:
    """An answer as a reader sees it (templates escape it like any other text)."""
    if _empty(value):
        return "Ticked: no" if kind == Kind.CONSENT and value is False else ""
    if kind == Kind.MULTIPLE_CHOICE and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if kind == Kind.CONSENT:
        return "Ticked: yes"
    if kind == Kind.YES_NO:
        return YES_NO.get(value, str(value))
    if kind == Kind.FILE and isinstance(value, dict):
        return str(value.get("name", ""))
    return str(value)


def answer_rows(submission: Submission, fields: list[DocumentField]) -> list[AnswerRow]:
    """The submission's answers in field order: the fields as submitted (the snapshot) once it is
    submitted, the document's current fields while it is a draft."""
    described = submission.snapshot or field_snapshot(fields)
    files = {f.pk: f for f in submission.files.all()}
    rows = []
    for item in described:
        value = submission.answers.get(str(item["id"]))
        stored = files.get(value.get("file")) if isinstance(value, dict) else None
        rows.append(AnswerRow(item["label"], item["kind"], answer_text(item["kind"], value), stored))
    return rows
