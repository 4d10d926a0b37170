"""Reading a host's own calendar from the secret iCal address they pasted (issue 13): the fetch, and the busy
times its events make.

The fetch is a request our server makes to an address a user typed, so it is made with care (SSRF):
- only http and https (webcal:// is https by another name);
- the host name is resolved here and every address it has is checked: private, loopback, link-local,
  multicast, reserved and other non-global addresses are refused unless CALENDAR_FETCH_ALLOW_PRIVATE (the
  development and test settings, so a calendar served on this machine can be read);
- the connection goes to the very address that was checked, with the name only in the Host header and TLS
  (SNI and certificate check), so a second DNS answer cannot point the request somewhere else (DNS
  rebinding);
- redirects are followed by hand, at most MAX_REDIRECTS, and each new address is checked the same way;
- the whole exchange has a deadline, and the body a size limit read in chunks.
The address itself is never put into a log line or an error message: it is a secret of the host's.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from urllib.parse import urljoin, urlsplit

import certifi
import recurring_ical_events
import urllib3
from django.conf import settings
from icalendar import Calendar

from sessions_app.calendar_file import UID_DOMAIN

MAX_BYTES = 2 * 1024 * 1024
TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3
MAX_URL_LENGTH = 2000
# Busy times are read this far ahead (a weekly series of a year is the longest booking) and from a day back.
LOOK_AHEAD = timedelta(days=366)
LOOK_BACK = timedelta(days=1)
# A calendar with more occurrences than this in that year is cut there: the earliest ones matter most, and
# an RRULE of every minute must not keep a worker busy.
MAX_OCCURRENCES = 5000
SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}


class CalendarFetchError(Exception):
    """Why the calendar could not be read, in words for the host's profile page (never the address)."""


def normalized_url(url: str) -> str:
    """The address as it will be fetched (webcal:// becomes https://), or CalendarFetchError when it can
    never be: a scheme other than http(s), no host name, a user name or password in it, or too long."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise CalendarFetchError("The address is too long.")
    if not url.isprintable() or any(char.isspace() for char in url):
        raise CalendarFetchError("The address cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise CalendarFetchError("That is not a web address.") from error
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise CalendarFetchError("Only http, https and webcal addresses can be read.")
    if not parts.hostname:
        raise CalendarFetchError("The address has no host name.")
    if parts.username is not None or parts.password is not None:
        raise CalendarFetchError("Use the secret address without a user name or password in it.")
    if port == 0:
        raise CalendarFetchError("That is not a web address.")
    return parts._replace(scheme=scheme).geturl()


def host_label(url: str) -> str:
    """What the profile shows of the address: its host name and an ellipsis, enough to recognise it."""
    try:
        hostname = urlsplit(url.strip()).hostname
    except ValueError:
        hostname = None
    return f"{hostname or 'the address'}/…"


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 spellings of an IPv4 address are judged by that address (::ffff:127.0.0.1, NAT64, 6to4).
        if address.teredo is not None:
            return True
        embedded = address.ipv4_mapped or address.sixtofour
        if address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            address = embedded
    # is_global leaves out private, loopback, link-local, shared (100.64/10), reserved and unspecified
    # addresses; a multicast address can be "global" and is refused on its own.
    return not address.is_global or address.is_multicast


def _checked_address(hostname: str, port: int) -> str:
    """One address of `hostname` to connect to, after every address it resolves to was checked."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise CalendarFetchError("The calendar's host name could not be found.") from error
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise CalendarFetchError("The calendar's host name could not be found.")
    if not settings.CALENDAR_FETCH_ALLOW_PRIVATE and any(_refused(address) for address in addresses):
        # All of them, not only the first: a name with one public and one private address is refused
        # rather than trusted to be answered by the public one.
        raise CalendarFetchError("The address points to a private or local network, which is not allowed.")
    # IPv4 first: many containers have no IPv6 route, and every calendar service answers on both.
    return str(min(addresses, key=lambda address: address.version))


def _pool(scheme: str, hostname: str, address: str, port: int, timeout: urllib3.Timeout):
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=hostname,
            assert_hostname=hostname,
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)


def _host_header(hostname: str, port: int, scheme: str) -> str:
    name = f"[{hostname}]" if ":" in hostname else hostname
    return name if port == {"http": 80, "https": 443}[scheme] else f"{name}:{port}"


def _timeout_error() -> CalendarFetchError:
    return CalendarFetchError(f"The calendar did not answer within {TIMEOUT_SECONDS:.0f} seconds.")


def _too_large_error() -> CalendarFetchError:
    return CalendarFetchError(f"The calendar is larger than {MAX_BYTES / (1024 * 1024):g} MB.")


def _get_once(url: str, deadline: float) -> tuple[int, str, bytes]:
    """One request: its status, its Location header (for a redirect) and its body (for a 200)."""
    parts = urlsplit(url)
    hostname = parts.hostname.rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _checked_address(hostname, port)
    remaining = max(deadline - time.monotonic(), 0.1)
    pool = _pool(
        parts.scheme, hostname, address, port, urllib3.Timeout(connect=min(remaining, 5.0), read=remaining)
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "GET",
            path,
            headers={
                "Host": _host_header(hostname, port, parts.scheme),
                "Accept": "text/calendar, */*;q=0.5",
                "User-Agent": "Consultations calendar reader",
            },
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        if response.status != 200:
            return response.status, response.headers.get("Location", ""), b""
        return 200, "", _read_body(response, deadline)
    except urllib3.exceptions.SSLError as error:
        raise CalendarFetchError("The calendar's secure connection could not be verified.") from error
    except urllib3.exceptions.TimeoutError as error:
        raise _timeout_error() from error
    except urllib3.exceptions.HTTPError as error:
        raise CalendarFetchError("The calendar's server could not be reached.") from error
    finally:
        pool.close()


def _read_body(response, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise _too_large_error()
    chunks, size = [], 0
    # Read in chunks and stopped at the limit: a server that sends without end costs MAX_BYTES at most,
    # and one that sends a byte a second is stopped at the deadline, not at each read's timeout.
    for chunk in response.stream(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise _too_large_error()
        if time.monotonic() > deadline:
            raise _timeout_error()
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_calendar(url: str) -> bytes:
    """The body of the calendar at `url`, or CalendarFetchError saying why not."""
    url = normalized_url(url)
    deadline = time.monotonic() + TIMEOUT_SECONDS
    for _hop in range(MAX_REDIRECTS + 1):
        status, location, body = _get_once(url, deadline)
        if status == 200:
            return body
        if status not in (301, 302, 303, 307, 308):
            raise CalendarFetchError(f"The calendar's server answered with HTTP status {status}.")
        if not location:
            raise CalendarFetchError("The calendar's server sent a redirect without an address.")
        # The new address passes every check again: its scheme here, its host's addresses when fetched.
        url = normalized_url(urljoin(url, location))
    raise CalendarFetchError(f"The calendar's address redirected more than {MAX_REDIRECTS} times.")


@dataclass
class ImportedCalendar:
    busy: list[tuple[datetime, datetime]]  # merged, in order
    event_count: int  # occurrences read in the window, before merging


def _instant(value, zone: tzinfo) -> datetime:
    """An event's time as an aware datetime: a date is the host's midnight, a floating time the host's
    wall clock (RFC 5545 leaves both to the reader's zone)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    raise ValueError("not a time")


def _counts_as_busy(event) -> bool:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return False
    # "Free" in Google and Apple, "Show as: Free" in Outlook: the host chose to stay bookable.
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    if str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() in ("FREE", "WORKINGELSEWHERE"):
        return False
    # Our own sessions, when the host's calendar holds a copy: they are counted as sessions already.
    return not str(event.get("UID", "")).endswith(f"@{UID_DOMAIN}")


def busy_from_calendar(body: bytes, *, zone: tzinfo, now: datetime) -> ImportedCalendar:
    """The busy times of an iCalendar body over [now - LOOK_BACK, now + LOOK_AHEAD), recurring events
    expanded in their own zones (so a weekly 09:00 stays 09:00 across a daylight-saving change)."""
    try:
        calendar = Calendar.from_ical(body)
    except ValueError as error:
        raise CalendarFetchError("The address did not return a calendar (iCalendar) file.") from error
    if isinstance(calendar, list) or calendar.name != "VCALENDAR":
        raise CalendarFetchError("The address did not return a calendar (iCalendar) file.")
    start, stop = now - LOOK_BACK, now + LOOK_AHEAD
    intervals, count = [], 0
    try:
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).after(start)
        for event in occurrences:
            if "DTSTART" not in event:
                continue
            begins = _instant(event["DTSTART"].dt, zone)
            if begins >= stop:
                break
            if "DTEND" in event:
                ends = _instant(event["DTEND"].dt, zone)
            elif "DURATION" in event:
                ends = begins + event["DURATION"].dt
            else:
                # RFC 5545, 3.6.1: without an end, a day's event lasts the day and a timed one no time.
                all_day = not isinstance(event["DTSTART"].dt, datetime)
                ends = begins + timedelta(days=1) if all_day else begins
            if ends <= begins or not _counts_as_busy(event):
                continue
            count += 1
            intervals.append((begins, ends))
            if count >= MAX_OCCURRENCES:
                break
    except (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar) as error:
        raise CalendarFetchError("The calendar file could not be read: it is not valid iCalendar.") from error
    return ImportedCalendar(busy=_merged(intervals), event_count=count)


def _merged(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begins, ends in sorted(intervals):
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return merged
