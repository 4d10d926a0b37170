"""Reading a CSV file of contacts into rows checked one by one, for the import's preview. Nothing is written
here: contacts_import writes the rows the person confirms, after checking them again."""

import csv
import io
from dataclasses import asdict, dataclass, field

from accounts.models import Organization
from config.errors import ValidationFailedError
from contacts.models import InviteMethod
from contacts.selectors import contacts_emails_taken
from contacts.services import MAX_IMPORT_ROWS, ZONE_NAMES, ContactDetails, contact_details_errors, phone_e164

MAX_IMPORT_BYTES = 2 * 1024 * 1024
COLUMNS = ("name", "email", "phone", "preferred_method", "time_zone", "note")
COLUMNS_TEXT = ",".join(COLUMNS)

_METHODS = {value: value for value in InviteMethod.values} | {
    label.casefold(): value for value, label in InviteMethod.choices
}
_ZONES = {name.casefold(): name for name in ZONE_NAMES}


@dataclass
class ImportRow:
    """One line of the file: what it says, and why it is not imported (errors, or a reason to skip it)."""

    line: int
    details: ContactDetails
    errors: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def importable(self) -> bool:
        return not self.errors and not self.skipped


def details_to_session(rows: list[ImportRow]) -> list[dict]:
    """The importable rows as plain data, for the user's server-side session between preview and import."""
    return [asdict(row.details) for row in rows if row.importable]


def details_from_session(data: list[dict]) -> list[ContactDetails]:
    return [ContactDetails(**{name: str(item.get(name) or "") for name in COLUMNS}) for item in data]


def _text(upload) -> str:
    if upload.size > MAX_IMPORT_BYTES:
        raise ValidationFailedError(
            "The file is larger than 2 MB. Split it into smaller files.", field="file"
        )
    try:
        text = upload.read(MAX_IMPORT_BYTES + 1).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationFailedError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.", field="file"
        ) from error
    if "\x00" in text:
        raise ValidationFailedError(
            "The file contains NUL characters: it is not a CSV text file.", field="file"
        )
    return text


def _header(record: list[str] | None) -> list[str]:
    names = [cell.strip().casefold() for cell in record or []]
    if "name" not in names or any(name not in COLUMNS for name in names) or len(set(names)) != len(names):
        raise ValidationFailedError(
            f"The first line must name the columns, each once: {COLUMNS_TEXT} (name is required, the others "
            "may be left out).",
            field="file",
        )
    return names


def _records(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    try:
        header = _header(next(reader, None))
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(records) == MAX_IMPORT_ROWS:
                raise ValidationFailedError(
                    f"The file has more than {MAX_IMPORT_ROWS:,} contacts. Split it into smaller files.",
                    field="file",
                )
            records.append((reader.line_num, record))
    except csv.Error as error:
        raise ValidationFailedError(
            f"Line {reader.line_num} cannot be read as CSV ({error}).", field="file"
        ) from error
    return header, records


def _row(line: int, header: list[str], record: list[str], default_zone: str) -> ImportRow:
    values = {name: cell.strip() for name, cell in zip(header, record, strict=False)}
    method = values.get("preferred_method", "")
    zone = values.get("time_zone", "")
    phone = values.get("phone", "")
    email = values.get("email", "")
    details = ContactDetails(
        name=values.get("name", ""),
        email=email,
        # Unreadable values are kept as written, so the row's error names them.
        phone=(phone_e164(phone) or phone) if phone else "",
        preferred_method=_METHODS.get(method.casefold(), method)
        if method
        else (InviteMethod.EMAIL if email else InviteMethod.NONE),
        time_zone=_ZONES.get(zone.casefold().replace(" ", "_"), zone) if zone else default_zone,
        note=values.get("note", ""),
    )
    errors = list(contact_details_errors(details).values())
    if len(record) > len(header):
        errors.append(f"Has {len(record)} cells; the first line names {len(header)} columns.")
    return ImportRow(line=line, details=details, errors=errors)


def import_rows_read(*, upload, organization: Organization, default_zone: str) -> list[ImportRow]:
    """Every contact row of an uploaded CSV file (UTF-8, with or without a byte-order mark, a header line
    naming the columns), each with its problems; a row whose email belongs to a contact already, or to an
    earlier row, is skipped. A file that cannot be read at all raises ValidationFailedError. A missing zone is
    the importer's own; a missing method is email when there is an address, else no messages."""
    header, records = _records(_text(upload))
    rows = [_row(line, header, record, default_zone) for line, record in records]
    taken = contacts_emails_taken(organization=organization, emails=[row.details.email for row in rows])
    first_line: dict[str, int] = {}
    for row in rows:
        email = row.details.email.lower()
        if not email or row.errors:
            continue
        if email in taken:
            row.skipped = "Already a contact."
        elif email in first_line:
            row.skipped = f"Same email as line {first_line[email]}."
        else:
            first_line[email] = row.line
    return rows
