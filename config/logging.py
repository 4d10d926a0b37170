import copy
import logging
import logging.config
import re

from django.http import HttpRequest


# Join links are bearer secrets (DESIGN.md rule 5), and so are invitation links (/welcome/<token>/), the
# links that confirm a new email address (/profile/email/confirm/<token>/) and hosts' calendar subscriptions
# (/calendar/feed/<token>.ics, read by calendar programs every few minutes for years). Request
# lines are logged by runserver, gunicorn and Django's error reporting, so the token is cut out of every
# record before anything writes it. What counts is what Django would route to the view: the segment after
# "join/" (or "welcome/") whatever its length or alphabet, percent-encoded or not, and the word itself
# spelt with escapes (/%6Aoin%2F... reaches the same view).
def _secret_segment(word: str) -> re.Pattern:
    spelt_any_way = "".join(f"(?:{char}|%{ord(char):02x})" for char in word)
    return re.compile(
        r"(?:(?<=%2f)|(?<!\w))" + spelt_any_way + r"(?:/|%2f)(?:(?!%2f)[^/\s?#\"'<>\\])+", re.IGNORECASE
    )


SECRET_SEGMENTS = [
    (_secret_segment(word), f"{word}/[redacted]")
    for word in ("join", "welcome", "email/confirm", "calendar/feed")
]


def redact(text: str) -> str:
    for segment, redacted in SECRET_SEGMENTS:
        text = segment.sub(redacted, text)
    return text


def _redact_value(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("latin-1")).encode("latin-1")
    if isinstance(value, HttpRequest):
        return _redacted_request(value)
    return value


def _redacted_request(request: HttpRequest) -> HttpRequest:
    """A copy of the request as handlers print it (its path and its WSGI environ); the request itself is
    left alone, since the code that logged it may still use it."""
    redacted = copy.copy(request)
    redacted.path = redact(request.path)
    redacted.path_info = redact(request.path_info)
    redacted.META = {key: _redact_value(value) for key, value in request.META.items()}
    return redacted


def redact_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    elif isinstance(record.msg, BaseException):
        record.msg = redact(str(record.msg))
    if isinstance(record.args, dict):
        # In place: gunicorn's access log passes a dict subclass that answers "-" for missing atoms.
        for key, value in list(record.args.items()):
            record.args[key] = _redact_value(value)
    elif record.args:
        record.args = tuple(_redact_value(arg) for arg in record.args)
    if record.exc_info and not record.exc_text:
        # Formatted now, so every handler prints this text rather than formatting the exception itself.
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    request = getattr(record, "request", None)
    if isinstance(request, HttpRequest):
        record.request = _redacted_request(request)


class RedactJoinTokens(logging.Filter):
    """For handlers: also covers what the record factory cannot see yet, the `request` passed as extra."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _redacting_factory(base):
    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        redact_record(record)
        return record

    factory.redacts_join_tokens = True
    return factory


def configure(logging_settings: dict) -> None:
    """settings.LOGGING_CONFIG: every record of the process is redacted when it is made, whichever logger
    made it and whichever handler takes it (including ones configured elsewhere, such as Celery's or a
    test's), then settings.LOGGING is applied as usual."""
    base = logging.getLogRecordFactory()
    if not getattr(base, "redacts_join_tokens", False):
        logging.setLogRecordFactory(_redacting_factory(base))
    if logging_settings:
        logging.config.dictConfig(logging_settings)
