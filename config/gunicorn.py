"""gunicorn settings for the production shape (docker-compose.yml)."""

import os

from config.logging import RedactJoinTokens  # noqa: F401 - referenced by name in logconfig_dict

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = 30
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The access log records request lines, and a participant's first visit carries their join token in the
# path: the same redaction filter as Django's loggers cuts it out.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_join_tokens": {"()": "config.logging.RedactJoinTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_join_tokens"]},
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
