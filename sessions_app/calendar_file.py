"""The iCalendar files we write: the .ics sent with a participant's notices, and a host's subscription feed.

Both describe a session with the same event (session_event): one stable UID per session and a SEQUENCE
that rises with every change, so calendar programs update the same event instead of adding another; times
are written in the reader's zone with its VTIMEZONE, so the file is self-contained and survives
daylight-saving changes."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo

from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, Event, vCalAddress, vText

from accounts.models import User
from sessions_app.models import Participant, Session

PRODID = "-//Consultations//Session scheduler//EN"
# Every UID we write ends so; an imported calendar that holds our own events is read without them
# (sessions_app.calendar_import), or a session would make its own time busy.
UID_DOMAIN = "consultations"
# How often a subscribed calendar program is asked to read the feed again (RFC 7986 and Microsoft's name).
FEED_REFRESH = timedelta(minutes=15)


def session_uid(session: Session) -> str:
    return f"{session.uid}@{UID_DOMAIN}"


def new_calendar(**properties) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    for name, value in properties.items():
        calendar.add(name.replace("_", "-"), value)
    return calendar


def session_event(session: Session, *, zone: tzinfo, summary: str, cancelled: bool, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", session_uid(session))
    event.add("sequence", session.calendar_sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", session.start_at.astimezone(zone))
    event.add("dtend", session.end_at.astimezone(zone))
    event.add("summary", summary)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def finished(calendar: Calendar) -> bytes:
    # The VTIMEZONE of every TZID used, built from the zoneinfo database.
    calendar.add_missing_timezones()
    return calendar.to_ical()


def calendar_file(*, participant: Participant, join_link: str, method: str = "REQUEST") -> bytes:
    session = participant.session
    calendar = new_calendar(method=method)
    event = session_event(
        session,
        zone=participant.zone,
        summary=f"{session.title} with {session.host.full_name}",
        cancelled=method == "CANCEL",
        stamp=datetime.now(UTC),
    )
    event.add("description", f"Join the video session: {join_link}")
    event.add("location", join_link)
    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL.split('<')[-1].rstrip('>')}")
    organizer.params["cn"] = vText(session.host.full_name)
    event["organizer"] = organizer
    if participant.email:
        attendee = vCalAddress(f"mailto:{participant.email}")
        attendee.params["cn"] = vText(participant.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return finished(calendar)


def _feed_summary(session: Session) -> str:
    # The title and how many people, never their names: the feed's address sits in the host's calendar
    # program, maybe shared or synced to a phone, and whoever holds it reads the feed without logging in.
    count = session.participant_count
    people = f"{count} participant{'s' if count != 1 else ''}"
    summary = f"{session.title} ({people})"
    return f"Cancelled: {summary}" if session.status in Session.CLOSED_STATUSES else summary


def host_feed(*, host: User, sessions: Iterable[Session]) -> bytes:
    """The host's subscription feed. Cancelled and removed sessions stay in it as STATUS:CANCELLED, so a
    calendar that already shows them learns they are off. `sessions` carry `participant_count`."""
    calendar = new_calendar(
        x_wr_calname=f"Sessions of {host.full_name}",
        x_wr_timezone=host.time_zone,
        refresh_interval=FEED_REFRESH,
        # An X- property is text to the library: written out as the duration it means.
        x_published_ttl=f"PT{int(FEED_REFRESH.total_seconds()) // 60}M",
    )
    # RFC 7986 asks for the value type to be named on this one.
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    for session in sessions:
        cancelled = session.status in Session.CLOSED_STATUSES
        page = settings.SITE_URL + reverse("sessions:detail", kwargs={"pk": session.pk})
        # Without METHOD, DTSTAMP is when the event last changed in our store (RFC 5545, 3.8.7.2).
        event = session_event(
            session,
            zone=host.zone,
            summary=_feed_summary(session),
            cancelled=cancelled,
            stamp=session.updated_at,
        )
        event.add("created", session.created_at)
        event.add("last-modified", session.updated_at)
        event.add("url", page)
        event.add("description", f"Open the session: {page}")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        calendar.add_component(event)
    return finished(calendar)
