"""A host's calendar subscription address carries a bearer secret in its path, read by calendar programs every
few minutes for years: its token never reaches a log in clear (issue 13, item 4), however it is spelt."""

import logging

import pytest

from config.logging import redact
from sessions_app.services.calendar_feeds import calendar_feed_create, feed_path

TOKEN = "Qm9vAbc-_def0123456789ghijklmnopqrstuvwxyzAB"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f'"GET /calendar/feed/{TOKEN}.ics HTTP/1.1" 200 912',
            '"GET /calendar/feed/[redacted] HTTP/1.1" 200 912',
        ),
        (f"GET /calendar%2Ffeed%2F{TOKEN}.ics HTTP/1.1", "GET /calendar/feed/[redacted] HTTP/1.1"),
        (f"GET /%63alendar/feed/{TOKEN}.ics?x=1 HTTP/1.1", "GET /calendar/feed/[redacted]?x=1 HTTP/1.1"),
        ("GET /calendar/?view=week HTTP/1.1", "GET /calendar/?view=week HTTP/1.1"),
        ("GET /calendar/feed/ HTTP/1.1", "GET /calendar/feed/ HTTP/1.1"),
    ],
)
def test_the_feed_token_is_redacted_encoded_or_not(line, expected):
    assert redact(line) == expected


@pytest.mark.django_db
def test_reading_a_feed_or_a_wrong_one_logs_no_token(client, host, caplog):
    _feed, token = calendar_feed_create(actor=host)
    with caplog.at_level(logging.DEBUG):
        assert client.get(feed_path(token)).status_code == 200
        assert client.get(feed_path(TOKEN)).status_code == 404

    assert caplog.records, "the 404 is logged"
    assert token not in caplog.text and TOKEN not in caplog.text
    assert "/calendar/feed/[redacted]" in caplog.text
