"""A host's calendar subscription (issue 13, item 4), read as a calendar program reads it and checked against
RFC 5545 with icalendar: one stable UID per session, a SEQUENCE that rises with every change, times with
their TZID and VTIMEZONE, cancelled and removed sessions as STATUS:CANCELLED; 30 days back and no further;
only the host's own sessions; a replaced or revoked address is a 404; the cost is flat in the sessions."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from accounts.models import AuditEvent
from config.errors import PermissionDeniedError
from sessions_app.services import session_cancel, session_remove, session_reschedule
from sessions_app.services.calendar_feeds import calendar_feed_create, calendar_feed_revoke, feed_path
from tests.factories import ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paris_host(host):
    host.time_zone = "Europe/Paris"
    host.save(update_fields=["time_zone"])
    return host


def _soon(days: float):
    # Sessions start on the minute; the feed writes whole seconds.
    return timezone.now().replace(second=0, microsecond=0) + timedelta(days=days)


def _assert_rfc5545(content: bytes) -> Calendar:
    """What RFC 5545 asks of every file, beyond what a lenient parser forgives."""
    lines = content.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-2:] == [b"END:VCALENDAR", b""]
    assert all(len(line) <= 75 for line in lines), "content lines are folded at 75 octets (3.1)"
    assert b"\n" not in content.replace(b"\r\n", b""), "lines end with CRLF"
    calendar = Calendar.from_ical(content)
    assert str(calendar["VERSION"]) == "2.0" and "PRODID" in calendar
    zones = {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")}
    for event in calendar.walk("VEVENT"):
        for required in ("UID", "DTSTAMP", "DTSTART"):
            assert required in event, f"{required} is required in a VEVENT (3.6.1)"
        assert event["DTEND"].dt > event["DTSTART"].dt
        assert int(event["SEQUENCE"]) >= 0
        for name in ("DTSTART", "DTEND"):
            # Every TZID names a VTIMEZONE of the file (3.2.19).
            assert event[name].params["TZID"] in zones
        assert str(event["STATUS"]) in ("CONFIRMED", "CANCELLED", "TENTATIVE")
    return calendar


def _feed(client, token: str):
    response = client.get(feed_path(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, max-age=300"
    return _assert_rfc5545(response.content)


def _events(calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def _uid(session) -> str:
    return f"{session.uid}@consultations"


def test_every_session_is_an_event_with_its_uid_sequence_and_the_hosts_zone(client, paris_host):
    session = SessionFactory(host=paris_host, title="Therapy", start_at=_soon(3))
    ParticipantFactory(session=session, name="Ana Secret")
    ParticipantFactory(session=session, name="Bo Secret")
    _feed_row, token = calendar_feed_create(actor=paris_host)

    calendar = _feed(client, token)

    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == _uid(session)
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == "Europe/Paris"
    assert event["DTSTART"].dt == session.start_at and event["DTEND"].dt == session.end_at
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    # The title and how many people, never who.
    assert str(event["SUMMARY"]) == "Therapy (2 participants)"
    assert b"Secret" not in calendar.to_ical()
    assert str(event["URL"]) == f"http://testserver/sessions/{session.pk}/"
    for required in ("DTSTAMP", "LAST-MODIFIED"):
        assert required in event
    assert str(calendar["VERSION"]) == "2.0" and "PRODID" in calendar and "METHOD" not in calendar
    assert str(calendar["X-WR-CALNAME"]) == "Sessions of Dr Ada Host"
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT15M"
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT15M"


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence_and_a_cancel_says_cancelled(client, paris_host):
    moved = SessionFactory(host=paris_host, title="Moved", start_at=_soon(3))
    called_off = SessionFactory(host=paris_host, title="Off", start_at=_soon(5))
    _feed_row, token = calendar_feed_create(actor=paris_host)
    before = _events(_feed(client, token))

    session_reschedule(actor=paris_host, session=moved, start_at=moved.start_at + timedelta(days=1))
    session_cancel(actor=paris_host, session=called_off, reason="Unwell")
    after = _events(_feed(client, token))

    assert set(before) == set(after) == {_uid(moved), _uid(called_off)}
    assert int(after[_uid(moved)]["SEQUENCE"]) > int(before[_uid(moved)]["SEQUENCE"])
    assert after[_uid(moved)]["DTSTART"].dt == moved.start_at + timedelta(days=1)
    assert str(after[_uid(called_off)]["STATUS"]) == "CANCELLED"
    assert int(after[_uid(called_off)]["SEQUENCE"]) > int(before[_uid(called_off)]["SEQUENCE"])
    assert str(after[_uid(called_off)]["SUMMARY"]).startswith("Cancelled: Off")


def test_a_removed_session_stays_in_the_feed_as_cancelled_with_a_higher_sequence(client, paris_host):
    started = SessionFactory(
        host=paris_host, title="Nobody came", start_at=timezone.now() - timedelta(minutes=20)
    )
    _feed_row, token = calendar_feed_create(actor=paris_host)
    before = _events(_feed(client, token))[_uid(started)]

    session_remove(actor=paris_host, session=started)
    after = _events(_feed(client, token))[_uid(started)]

    assert str(before["STATUS"]) == "CONFIRMED" and str(after["STATUS"]) == "CANCELLED"
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])


def test_the_feed_reaches_30_days_back_and_no_further_and_holds_only_the_hosts_sessions(
    client, paris_host, other_host
):
    now = timezone.now()
    recent = SessionFactory(host=paris_host, start_at=now - timedelta(days=29))
    old = SessionFactory(host=paris_host, start_at=now - timedelta(days=31))
    far = SessionFactory(host=paris_host, start_at=now + timedelta(days=400))
    colleague = SessionFactory(host=other_host, start_at=now + timedelta(days=2))
    _feed_row, token = calendar_feed_create(actor=paris_host)

    uids = set(_events(_feed(client, token)))

    assert uids == {_uid(recent), _uid(far)}
    assert _uid(old) not in uids and _uid(colleague) not in uids


def test_a_regenerated_or_turned_off_address_is_a_404(client, paris_host):
    _feed_row, first = calendar_feed_create(actor=paris_host)
    _feed_row, second = calendar_feed_create(actor=paris_host)

    assert client.get(feed_path(first)).status_code == 404
    assert client.get(feed_path(second)).status_code == 200

    calendar_feed_revoke(actor=paris_host)
    assert client.get(feed_path(second)).status_code == 404
    assert client.get(feed_path("x" * 43)).status_code == 404
    assert [event.action for event in AuditEvent.objects.order_by("pk")] == [
        "calendar.feed_create",
        "calendar.feed_create",
        "calendar.feed_revoke",
    ]


def test_only_the_hash_of_the_token_is_stored(paris_host):
    feed, token = calendar_feed_create(actor=paris_host)

    assert token not in feed.token_hash and len(token) >= 43
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_a_deactivated_hosts_feed_is_a_404(client, paris_host):
    _feed_row, token = calendar_feed_create(actor=paris_host)
    paris_host.is_active = False
    paris_host.save(update_fields=["is_active"])

    assert client.get(feed_path(token)).status_code == 404


def test_a_scheduler_has_no_feed(scheduler):
    with pytest.raises(PermissionDeniedError):
        calendar_feed_create(actor=scheduler)


def test_the_feed_costs_the_same_queries_for_2_or_40_sessions(client, paris_host):
    _feed_row, token = calendar_feed_create(actor=paris_host)

    def count(sessions: int) -> int:
        start = timezone.now() + timedelta(days=1 + count.made)
        for n in range(sessions):
            session = SessionFactory(host=paris_host, start_at=start + timedelta(days=n, hours=count.made))
            ParticipantFactory(session=session)
        count.made += sessions
        with CaptureQueriesContext(connection) as queries:
            _feed(client, token)
        return len(queries)

    count.made = 0
    assert count(2) == count(38) <= 3
