import logging
import re

# Join links are bearer secrets (DESIGN.md rule 5). Request lines are logged by runserver, gunicorn and
# Django's error reporting, so the token is cut out of every record before a handler writes it.
JOIN_TOKEN = re.compile(r"/join/[A-Za-z0-9_-]{16,}")


def redact(text: str) -> str:
    return JOIN_TOKEN.sub("/join/[redacted]", text)


class RedactJoinTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
            else:
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True
