"""Anymail's test email backend, which also writes what it sent to a file another process can read.

A worker started with ``TEST_EMAIL_BACKEND=tests.support.recording_email.EmailBackend`` and
``RECORDED_EMAIL_PATH=/some/file.jsonl`` appends one JSON line per sent message:
``{"to", "from", "subject", "text", "has_ics", "attachments", "message_id"}``. Without RECORDED_EMAIL_PATH
it behaves exactly like ``anymail.backends.test.EmailBackend``.
"""

import json
import os
import threading
from email.mime.base import MIMEBase
from pathlib import Path

from anymail.backends.test import EmailBackend as AnymailTestBackend

RECORDED_EMAIL_PATH_ENV = "RECORDED_EMAIL_PATH"
_REFUSED = {"rejected", "failed", "invalid"}
_lock = threading.Lock()


def _attachment_info(attachment) -> tuple[str, str]:
    """(filename, mimetype) of an attachment as Django stores it: a tuple or a MIME part."""
    if isinstance(attachment, MIMEBase):
        return attachment.get_filename() or "", attachment.get_content_type()
    filename, _content, mimetype = attachment
    return filename or "", mimetype or ""


def _is_calendar(filename: str, mimetype: str) -> bool:
    return filename.lower().endswith(".ics") or mimetype.split(";")[0].strip().lower() == "text/calendar"


def _was_sent(message) -> bool:
    status = getattr(message, "anymail_status", None)
    return bool(status is not None and status.status and status.status - _REFUSED)


def _message_id(message):
    message_id = message.anymail_status.message_id
    if isinstance(message_id, set):
        return sorted(str(i) for i in message_id)
    return message_id


def describe(message) -> dict:
    attachments = [_attachment_info(a) for a in message.attachments]
    return {
        "to": list(message.to),
        "from": message.from_email,
        "subject": message.subject,
        "text": message.body,
        "has_ics": any(_is_calendar(name, mimetype) for name, mimetype in attachments),
        "attachments": [{"filename": name, "mimetype": mimetype} for name, mimetype in attachments],
        "message_id": _message_id(message),
    }


def read_recorded(path: str | Path) -> list[dict]:
    """The messages recorded in a file (none when nothing was sent yet)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class EmailBackend(AnymailTestBackend):
    def send_messages(self, email_messages):
        try:
            return super().send_messages(email_messages)
        finally:
            # Also when a later message in the batch raised: the ones before it were sent.
            self._record([m for m in email_messages or [] if _was_sent(m)])

    @staticmethod
    def _record(messages) -> None:
        path = os.environ.get(RECORDED_EMAIL_PATH_ENV)
        if not path or not messages:
            return
        lines = "".join(json.dumps(describe(m), default=str) + "\n" for m in messages)
        with _lock, open(path, "a", encoding="utf-8") as record:
            record.write(lines)
