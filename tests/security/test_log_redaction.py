"""Join tokens never reach a log in clear, whatever their spelling: percent-encoded, short, in a request
line, an argument, an exception or the request handed to a handler (issue 8, item 9)."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from config.logging import RedactJoinTokens, redact

ROOT = Path(__file__).resolve().parent.parent.parent
logger = logging.getLogger("tests.security.redaction")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/join/%56%74abc/", "/join/[redacted]/"),
        ('"GET /join/x/ HTTP/1.1" 404 179', '"GET /join/[redacted]/ HTTP/1.1" 404 179'),
        ("GET /%6Aoin%2FVtabc/ HTTP/1.1", "GET /join/[redacted]/ HTTP/1.1"),
        ("Resolver404: {'path': 'join/Vtabc/'}", "Resolver404: {'path': 'join/[redacted]/'}"),
        ("GET /join/ HTTP/1.1", "GET /join/ HTTP/1.1"),
        ("GET /rejoin/abc/ HTTP/1.1", "GET /rejoin/abc/ HTTP/1.1"),
    ],
)
def test_any_join_segment_is_redacted_encoded_or_not_and_of_any_length(line, expected):
    assert redact(line) == expected


def test_a_record_made_anywhere_comes_out_redacted_in_message_and_args(caplog):
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("Not Found: /join/%56%74abc/")
        logger.info('"%s" %s %s', "GET /join/x/ HTTP/1.1", "404", "179")
        logger.info("%(r)s", {"r": "GET /join/%56%74abc/ HTTP/1.1"})

    first, second, third = caplog.records
    assert first.getMessage() == "Not Found: /join/[redacted]/"
    assert second.args == ("GET /join/[redacted]/ HTTP/1.1", "404", "179")
    assert third.getMessage() == "GET /join/[redacted]/ HTTP/1.1"
    assert "%56%74abc" not in caplog.text and "/join/x/" not in caplog.text


def test_exception_text_is_redacted(caplog):
    with caplog.at_level(logging.ERROR, logger=logger.name):
        try:
            raise ValueError("No participant for /join/Vtabc123/")
        except ValueError:
            logger.exception("Error handling request %s", "/join/Vtabc123/")

    assert "Vtabc123" not in caplog.text
    assert "ValueError: No participant for /join/[redacted]/" in caplog.text


def test_the_request_handed_to_handlers_is_a_redacted_copy():
    request = RequestFactory().get("/join/%56%74abc/", HTTP_REFERER="https://example.test/join/Vtabc/")
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (request.path,), None
    )
    record.request = request

    RedactJoinTokens().filter(record)

    assert record.getMessage() == "Not Found: /join/[redacted]/"
    assert record.request.path == "/join/[redacted]/"
    assert record.request.path_info == "/join/[redacted]/"
    assert "Vtabc" not in json.dumps({k: v for k, v in record.request.META.items() if isinstance(v, str)})
    # The request itself is left to the code that still holds it.
    assert request.path == "/join/Vtabc/"


@pytest.mark.django_db
def test_a_percent_encoded_token_sent_to_the_site_is_logged_nowhere_in_clear(client, caplog):
    with caplog.at_level(logging.DEBUG):
        response = client.get("/join/%56%74abcdefgh/")

    assert response.status_code == 404
    assert caplog.records, "the 404 is logged"
    for record in caplog.records:
        for text in (record.getMessage(), repr(record.args)):
            assert "Vtabcdefgh" not in text and "%56%74abcdefgh" not in text
    assert "/join/[redacted]/" in caplog.text


def _run(script: str, settings_module: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_gunicorns_access_log_is_redacted_and_keeps_its_format():
    script = """
import datetime
from gunicorn.config import Config
from gunicorn.glogging import Logger
from config import gunicorn as conf

cfg = Config()
cfg.set("accesslog", conf.accesslog)
cfg.set("logconfig_dict", conf.logconfig_dict)
cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s "%(f)s" %({x-request-id}i)s %({missing}i)s')
log = Logger(cfg)

class Response:
    status = "404 Not Found"
    sent = 0
    headers = []

environ = {
    "REQUEST_METHOD": "GET", "RAW_URI": "/join/%56%74abc/", "PATH_INFO": "/join/Vtabc/",
    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1", "HTTP_REFERER": "https://x.test/join/Vtabc/",
}
log.access(Response(), [("X-Request-Id", "abc123")], environ, datetime.timedelta(seconds=1))
"""
    result = _run(script, "config.settings.production")

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert (
        '10.0.0.1 "GET /join/[redacted]/ HTTP/1.1" 404 "https://x.test/join/[redacted]/" abc123 -' in output
    )
    assert "Vtabc" not in output and "%56%74abc" not in output


def test_runserver_request_lines_are_redacted_in_development():
    script = """
import django
django.setup()
import logging
logging.getLogger("django.server").info(
    '"%s" %s %s', "GET /join/%56%74abc/ HTTP/1.1", "404", "179", extra={"status_code": 404}
)
logging.getLogger("django.request").warning("Not Found: %s", "/join/Vtabc/")
"""
    result = _run(script, "config.settings.dev")

    assert result.returncode == 0, result.stderr
    assert '"GET /join/[redacted]/ HTTP/1.1" 404 179' in result.stderr
    assert "Not Found: /join/[redacted]/" in result.stderr
    assert "Vtabc" not in result.stderr and "%56%74abc" not in result.stderr
