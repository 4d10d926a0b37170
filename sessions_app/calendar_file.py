"""The .ics file sent with invites: one stable UID per session and a SEQUENCE that rises with every change,
so calendar programs update the same event instead of adding another."""

from datetime import UTC, datetime

from django.conf import settings
from icalendar import Calendar, Event, vCalAddress, vText

from sessions_app.models import Participant


def calendar_file(*, participant: Participant, join_link: str, method: str = "REQUEST") -> bytes:
    session = participant.session
    calendar = Calendar()
    calendar.add("prodid", "-//Consultations//Session scheduler//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", f"{session.uid}@consultations")
    event.add("sequence", session.calendar_sequence)
    event.add("dtstamp", datetime.now(UTC))
    # Times are written in the participant's zone; the VTIMEZONE is added below so the file is
    # self-contained and survives daylight-saving changes.
    event.add("dtstart", session.start_at.astimezone(participant.zone))
    event.add("dtend", session.end_at.astimezone(participant.zone))
    event.add("summary", f"{session.title} with {session.host.full_name}")
    event.add("description", f"Join the video session: {join_link}")
    event.add("location", join_link)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{settings.DEFAULT_FROM_EMAIL.split('<')[-1].rstrip('>')}")
    organizer.params["cn"] = vText(session.host.full_name)
    event["organizer"] = organizer
    if participant.email:
        attendee = vCalAddress(f"mailto:{participant.email}")
        attendee.params["cn"] = vText(participant.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
