"""Busy times from a host's own calendar (issue 13, item 5): read from a local fake calendar server, recurring
events expanded in their zone across a daylight-saving change, counted in every availability answer without
their titles; and the addresses the server must never be made to read (SSRF), each refusal recorded for the
host to see on the profile."""

import ipaddress
import logging
import shutil
import socket
import ssl
import subprocess
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from accounts.models import AuditEvent
from config.errors import ValidationFailedError
from sessions_app import calendar_import
from sessions_app.availability import availability_for, busy_times
from sessions_app.calendar_import import CalendarFetchError, fetch_calendar, normalized_url
from sessions_app.models import CalendarSource, ExternalBusyTime
from sessions_app.services import ParticipantDetails, calendar_sources, session_schedule
from sessions_app.services.calendar_sources import (
    calendar_source_refresh,
    calendar_source_remove,
    calendar_source_set,
)
from tests.support.fake_calendar import FakeCalendarServer

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
SECRET_PATH = "/calendar/ical/ada%40example.test/private-5f2c9e0d41/basic.ics"


@pytest.fixture
def server():
    with FakeCalendarServer() as fake:
        yield fake


@pytest.fixture
def london_host(host):
    host.time_zone = "Europe/London"
    host.save(update_fields=["time_zone"])
    return host


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _next_dst_sunday() -> date:
    """The next Sunday Europe/London changes its clocks, at least 16 days ahead (so a weekly event that
    starts two weeks before it is still to come)."""
    soon = timezone.now().date() + timedelta(days=16)
    candidates = [_last_sunday(year, month) for year in (soon.year, soon.year + 1) for month in (3, 10)]
    return min(day for day in candidates if day >= soon)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


class Diary:
    """The host's own calendar: one event, a weekly event across the clock change, an event over the night
    the clocks change, and events that must not count (free, cancelled, our own session, long past)."""

    def __init__(self):
        self.tomorrow = timezone.now().astimezone(LONDON).date() + timedelta(days=2)
        self.dst_sunday = _next_dst_sunday()
        self.single = (_at(self.tomorrow, 10), _at(self.tomorrow, 11))
        self.weekly_first = _at(self.dst_sunday - timedelta(days=14), 9)
        self.night = (_at(self.dst_sunday - timedelta(days=1), 23, 30), _at(self.dst_sunday, 3, 30))

    def ics(self) -> bytes:
        calendar = Calendar()
        calendar.add("prodid", "-//Fake Google//Calendar//EN")
        calendar.add("version", "2.0")

        def event(uid, start, end, summary, **extra):
            item = Event()
            item.add("uid", uid)
            item.add("dtstamp", datetime(2026, 1, 1, tzinfo=UTC))
            item.add("dtstart", start)
            item.add("dtend", end)
            item.add("summary", summary)
            for name, value in extra.items():
                item.add(name, value)
            calendar.add_component(item)

        event("dentist@google", *self.single, "Dentist – private")
        event(
            "standup@google",
            self.weekly_first,
            self.weekly_first + timedelta(minutes=30),
            "Supervision",
            rrule={"freq": "weekly", "count": 4},
        )
        event("night@google", *self.night, "Night shift")
        start = _at(self.tomorrow, 15)
        event("free@google", start, start + timedelta(hours=1), "Free time", transp="TRANSPARENT")
        event("off@google", start, start + timedelta(hours=1), "Called off", status="CANCELLED")
        event("abc@consultations", start, start + timedelta(hours=1), "Our own session")
        past = _at(self.tomorrow - timedelta(days=30), 10)
        event("past@google", past, past + timedelta(hours=1), "Long ago")
        calendar.add_missing_timezones()
        return calendar.to_ical()

    def expected(self) -> list[tuple[datetime, datetime]]:
        weekly = [
            (start, start + timedelta(minutes=30))
            for start in (
                _at(self.weekly_first.date() + timedelta(weeks=n), 9).astimezone(UTC) for n in range(4)
            )
        ]
        busy = [self.single, self.night, *weekly]
        return sorted((start.astimezone(UTC), end.astimezone(UTC)) for start, end in busy)


def _connect(host, server: FakeCalendarServer, diary: Diary | None = None) -> CalendarSource:
    url = server.serve(SECRET_PATH, (diary or Diary()).ics())
    return calendar_source_set(actor=host, url=url)


def _busy(host) -> list[tuple[datetime, datetime]]:
    return [
        (busy.start_at.astimezone(UTC), busy.end_at.astimezone(UTC))
        for busy in ExternalBusyTime.objects.filter(host=host).order_by("start_at")
    ]


# --- Reading the calendar -----------------------------------------------------------------------------------


def test_the_import_expands_a_weekly_event_in_its_zone_and_an_event_across_the_clock_change(
    london_host, server
):
    diary = Diary()
    source = _connect(london_host, server, diary)

    assert calendar_source_refresh(source_id=source.pk) is True

    assert _busy(london_host) == diary.expected()
    weekly = [start for start, _end in _busy(london_host) if start.astimezone(LONDON).time() == time(9)]
    # 09:00 in London every week: the UTC hour moves by one across the change.
    assert len(weekly) == 4 and len({start.hour for start in weekly}) == 2
    start, end = diary.night
    night = next(busy for busy in _busy(london_host) if busy[0] == start.astimezone(UTC))
    # 23:30 to 03:30 on the night the clocks change lasts three or five hours, not four.
    assert night[1] - night[0] == end.astimezone(UTC) - start.astimezone(UTC) != timedelta(hours=4)
    source.refresh_from_db()
    assert source.event_count == 6 and source.last_error == "" and source.last_fetched_at is not None
    assert server.requests[0].path == SECRET_PATH


def test_a_second_reading_replaces_the_busy_times_and_a_claimed_source_is_not_read_twice(london_host, server):
    source = _connect(london_host, server)
    calendar_source_refresh(source_id=source.pk)

    # Not due again for 15 minutes: a second task handed the same source reads nothing.
    assert calendar_source_refresh(source_id=source.pk) is False
    assert len(server.requests) == 1

    CalendarSource.objects.filter(pk=source.pk).update(next_fetch_at=timezone.now())
    empty = Calendar()
    empty.add("prodid", "-//x//EN")
    empty.add("version", "2.0")
    server.serve(SECRET_PATH, empty.to_ical())
    assert calendar_source_refresh(source_id=source.pk) is True
    assert _busy(london_host) == []


def test_the_sweep_hands_each_due_calendar_to_its_own_task(london_host, other_host, server, monkeypatch):
    from sessions_app import tasks

    due = _connect(london_host, server)
    later = calendar_source_set(actor=other_host, url=server.url("/other.ics"))
    CalendarSource.objects.filter(pk=later.pk).update(next_fetch_at=timezone.now() + timedelta(minutes=10))
    handed = []
    monkeypatch.setattr(tasks.refresh_calendar_source, "delay", handed.append)

    assert tasks.refresh_calendar_sources() == 1
    assert handed == [due.pk]


# --- What availability answers ------------------------------------------------------------------------------


def test_a_calendar_busy_time_makes_the_host_not_available_without_its_title(london_host, scheduler, server):
    diary = Diary()
    calendar_source_refresh(source_id=_connect(london_host, server, diary).pk)
    start, end = diary.single

    own = availability_for(viewer=london_host, host=london_host, start_at=start, end_at=end)
    theirs = availability_for(viewer=scheduler, host=london_host, start_at=start, end_at=end)

    assert own.label == theirs.label == "Host is not available"
    assert own.may_save and theirs.may_save
    [reason] = own.reasons("Europe/London")
    assert reason.startswith("Busy (your calendar)") and "Dentist" not in reason
    [reason] = theirs.reasons("Europe/London")
    assert reason.startswith("Busy (the host’s calendar)") and "Dentist" not in reason
    assert availability_for(
        viewer=london_host, host=london_host, start_at=end, end_at=end + timedelta(minutes=30)
    ).host_available


def test_the_schedule_forms_live_answer_says_busy_your_calendar_and_never_the_title(
    client, london_host, server
):
    diary = Diary()
    calendar_source_refresh(source_id=_connect(london_host, server, diary).pk)
    client.force_login(london_host)

    response = client.get(
        reverse("sessions:schedule_availability"),
        {"date": diary.tomorrow.isoformat(), "time": "10:15", "duration_minutes": "30"},
    )

    assert response.status_code == 200
    assert "Host is not available" in response.text
    assert "Busy (your calendar)" in response.text
    assert "Dentist" not in response.text


def test_a_session_may_still_be_booked_over_a_calendar_busy_time(london_host, server):
    diary = Diary()
    calendar_source_refresh(source_id=_connect(london_host, server, diary).pk)

    session = session_schedule(
        actor=london_host,
        host=london_host,
        title="Review",
        start_at=diary.single[0],
        duration_minutes=50,
        participants=[ParticipantDetails(name="Pat", invite_method="email", email="pat@example.test")],
    )

    assert session.pk is not None


def test_the_availability_check_costs_the_same_queries_however_many_busy_times(london_host, server):
    span = (timezone.now(), timezone.now() + timedelta(days=400))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            busy_times(viewer=london_host, hosts=[london_host], start_at=span[0], end_at=span[1])
        return len(queries)

    count()  # the viewer's membership, read once and kept on the user
    none = count()
    calendar_source_refresh(source_id=_connect(london_host, server).pk)
    assert ExternalBusyTime.objects.count() == 6
    assert count() == none <= 5


# --- Addresses that are refused -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/cal.ics", "file:///etc/passwd", "gopher://x/", "javascript:1"]
)
def test_only_http_https_and_webcal_addresses_are_taken(host, url):
    with pytest.raises(ValidationFailedError, match="Only http, https and webcal"):
        calendar_source_set(actor=host, url=url)
    with pytest.raises(CalendarFetchError, match="Only http, https and webcal"):
        fetch_calendar(url)
    assert not CalendarSource.objects.exists()


def test_webcal_is_read_as_https_and_an_address_with_a_password_is_refused():
    assert normalized_url(" webcal://calendar.example.test/x.ics ") == "https://calendar.example.test/x.ics"
    assert normalized_url("WEBCALS://calendar.example.test/x.ics") == "https://calendar.example.test/x.ics"
    with pytest.raises(CalendarFetchError, match="user name or password"):
        normalized_url("https://ada:secret@calendar.example.test/x.ics")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1:{port}",
        "localhost:{port}",
        "10.0.0.7",
        "169.254.169.254",
        "[::1]:{port}",
        "[::ffff:127.0.0.1]",
        "[64:ff9b::a00:7]",
        "[2002:a00:1::1]",
    ],
)
def test_private_and_local_addresses_are_refused_in_production_and_the_error_is_kept(
    london_host, server, settings, address
):
    settings.CALENDAR_FETCH_ALLOW_PRIVATE = False
    url = f"http://{address.format(port=server.port)}/latest/meta-data/"
    server.serve("/latest/meta-data/", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    source = calendar_source_set(actor=london_host, url=url)

    assert calendar_source_refresh(source_id=source.pk) is False

    source.refresh_from_db()
    assert source.last_error == "The address points to a private or local network, which is not allowed."
    assert server.requests == []


def _public_loopback(monkeypatch):
    """127.0.0.1 taken for a public address, as if the fake server were on the internet."""
    refused = calendar_import._refused
    monkeypatch.setattr(
        calendar_import, "_refused", lambda address: str(address) != "127.0.0.1" and refused(address)
    )


def test_a_redirect_to_a_private_address_is_refused(london_host, server, settings, monkeypatch):
    settings.CALENDAR_FETCH_ALLOW_PRIVATE = False
    _public_loopback(monkeypatch)
    url = server.serve(
        "/moved.ics", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    source = calendar_source_set(actor=london_host, url=url)

    calendar_source_refresh(source_id=source.pk)

    source.refresh_from_db()
    assert source.last_error == "The address points to a private or local network, which is not allowed."
    assert [request.path for request in server.requests] == ["/moved.ics"]


def test_redirects_are_followed_three_times_and_no_more(server):
    for hop in range(4):
        server.serve(f"/hop{hop}.ics", status=301, headers={"Location": f"/hop{hop + 1}.ics"})
    server.serve("/hop3.ics", Diary().ics())

    assert fetch_calendar(server.url("/hop0.ics")).startswith(b"BEGIN:VCALENDAR")
    server.serve("/hop3.ics", status=302, headers={"Location": "/hop4.ics"})
    server.serve("/hop4.ics", Diary().ics())
    with pytest.raises(CalendarFetchError, match="redirected more than 3 times"):
        fetch_calendar(server.url("/hop0.ics"))


def test_the_connection_goes_to_the_address_that_was_checked_with_the_name_in_the_host_header(
    london_host, server, monkeypatch
):
    resolve = socket.getaddrinfo

    def fake_dns(name, *args, **kwargs):
        if name == "calendar.example.test":
            return resolve("127.0.0.1", *args, **kwargs)
        return resolve(name, *args, **kwargs)

    monkeypatch.setattr(calendar_import.socket, "getaddrinfo", fake_dns)
    server.serve("/cal.ics", Diary().ics())

    body = fetch_calendar(f"http://calendar.example.test:{server.port}/cal.ics")

    assert body.startswith(b"BEGIN:VCALENDAR")
    assert server.requests[0].host == f"calendar.example.test:{server.port}"


@pytest.mark.parametrize("streamed", [False, True], ids=["declared", "streamed"])
def test_a_calendar_over_the_size_limit_is_refused(london_host, server, monkeypatch, streamed):
    monkeypatch.setattr(calendar_import, "MAX_BYTES", 50_000)
    url = server.serve("/huge.ics", b"X" * 200_000, streamed=streamed)
    source = calendar_source_set(actor=london_host, url=url)

    calendar_source_refresh(source_id=source.pk)

    source.refresh_from_db()
    assert source.last_error.startswith("The calendar is larger than")


def test_a_calendar_that_does_not_answer_in_time_is_given_up(london_host, server, monkeypatch):
    monkeypatch.setattr(calendar_import, "TIMEOUT_SECONDS", 0.5)
    url = server.serve("/slow.ics", Diary().ics(), delay=2)
    source = calendar_source_set(actor=london_host, url=url)

    calendar_source_refresh(source_id=source.pk)

    source.refresh_from_db()
    assert source.last_error.startswith("The calendar did not answer within")


def test_an_answer_that_is_not_a_calendar_or_an_error_status_is_recorded(london_host, server):
    source = calendar_source_set(actor=london_host, url=server.serve("/page.html", b"<html>Sign in</html>"))
    calendar_source_refresh(source_id=source.pk)
    source.refresh_from_db()
    assert source.last_error == "The address did not return a calendar (iCalendar) file."

    CalendarSource.objects.filter(pk=source.pk).update(next_fetch_at=timezone.now())
    server.serve("/page.html", b"gone", status=404)
    calendar_source_refresh(source_id=source.pk)
    source.refresh_from_db()
    assert source.last_error == "The calendar's server answered with HTTP status 404."


def test_a_failing_calendar_keeps_its_busy_times_for_a_day_then_they_are_cleared(london_host, server):
    source = _connect(london_host, server)
    calendar_source_refresh(source_id=source.pk)
    server.serve(SECRET_PATH, b"oops", status=500)

    CalendarSource.objects.filter(pk=source.pk).update(next_fetch_at=timezone.now())
    calendar_source_refresh(source_id=source.pk)
    assert len(_busy(london_host)) == 6

    CalendarSource.objects.filter(pk=source.pk).update(
        next_fetch_at=timezone.now(), failing_since=timezone.now() - timedelta(hours=25)
    )
    calendar_source_refresh(source_id=source.pk)
    assert _busy(london_host) == []
    source.refresh_from_db()
    assert source.last_error == "The calendar's server answered with HTTP status 500."
    assert source.event_count == 0


def test_the_address_is_never_logged_nor_audited(london_host, server, caplog):
    with caplog.at_level(logging.INFO):
        source = _connect(london_host, server)
        calendar_source_refresh(source_id=source.pk)
        server.serve(SECRET_PATH, b"oops", status=500)
        CalendarSource.objects.filter(pk=source.pk).update(next_fetch_at=timezone.now())
        calendar_source_refresh(source_id=source.pk)
        calendar_source_remove(actor=london_host)

    assert "private-5f2c9e0d41" not in caplog.text
    events = AuditEvent.objects.filter(action__startswith="calendar.source")
    assert [event.details["host"] for event in events] == ["127.0.0.1/…", "127.0.0.1/…"]
    assert "private-5f2c9e0d41" not in str(list(events.values_list("details", flat=True)))
    assert not ExternalBusyTime.objects.exists()


def test_a_new_address_drops_the_busy_times_of_the_old_one_and_what_a_worker_still_reads_of_it(
    london_host, server
):
    source = _connect(london_host, server)
    calendar_source_refresh(source_id=source.pk)
    assert _busy(london_host)
    CalendarSource.objects.filter(pk=source.pk).update(next_fetch_at=timezone.now())
    # A worker takes the old address and is still reading it when the host pastes a new one.
    stale = calendar_sources._claim(source.pk)
    calendar_source_set(actor=london_host, url=server.url("/new.ics"))

    calendar_sources._record_busy(
        stale, calendar_import.busy_from_calendar(Diary().ics(), zone=LONDON, now=timezone.now())
    )

    assert _busy(london_host) == []
    source.refresh_from_db()
    assert source.url.endswith("/new.ics") and source.last_fetched_at is None and source.event_count == 0


@pytest.fixture
def tls_server(tmp_path):
    """A calendar served over TLS on 127.0.0.1 with a certificate for calendar.example.test only."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key)]
        + ["-out", str(cert), "-subj", "/CN=calendar.example.test"]
        + ["-addext", "subjectAltName=DNS:calendar.example.test"],
        check=True,
        capture_output=True,
    )
    with FakeCalendarServer() as server:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
        server.serve("/cal.ics", Diary().ics())
        yield server, cert


def test_https_checks_the_certificate_against_the_name_while_connecting_to_the_checked_address(
    tls_server, monkeypatch
):
    server, cert = tls_server
    resolve = socket.getaddrinfo
    names = ("calendar.example.test", "other.example.test")
    monkeypatch.setattr(
        calendar_import.socket,
        "getaddrinfo",
        lambda name, *args, **kwargs: resolve("127.0.0.1" if name in names else name, *args, **kwargs),
    )
    url = f"webcal://calendar.example.test:{server.port}/cal.ics"

    with pytest.raises(CalendarFetchError, match="secure connection could not be verified"):
        fetch_calendar(url)  # a certificate nobody vouches for

    monkeypatch.setattr(calendar_import.certifi, "where", lambda: str(cert))
    assert fetch_calendar(url).startswith(b"BEGIN:VCALENDAR")
    assert server.requests[-1].host == f"calendar.example.test:{server.port}"
    with pytest.raises(CalendarFetchError, match="secure connection could not be verified"):
        fetch_calendar(f"https://other.example.test:{server.port}/cal.ics")  # not the certificate's name


def test_public_addresses_pass_and_a_name_with_any_private_address_is_refused(settings, monkeypatch):
    settings.CALENDAR_FETCH_ALLOW_PRIVATE = False
    for public in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::5db8:d822"):
        assert not calendar_import._refused(ipaddress.ip_address(public))
    monkeypatch.setattr(
        calendar_import.socket,
        "getaddrinfo",
        lambda name, port, **kwargs: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ],
    )
    with pytest.raises(CalendarFetchError, match="private or local network"):
        calendar_import._checked_address("calendar.example.test", 443)
