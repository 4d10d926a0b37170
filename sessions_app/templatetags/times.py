"""The one way templates write a time: in the reader's zone (activated per request), with the zone's
abbreviation at that date, and its name where the page says it once."""

from datetime import datetime

from django import template
from django.utils import timezone

from sessions_app.timefmt import format_when, in_zone

register = template.Library()


@register.filter
def when(moment: datetime | None) -> str:
    """'Monday 23 November 2026, 14:00 CET (Europe/Paris)'."""
    if moment is None:
        return ""
    return format_when(moment, timezone.get_current_timezone_name())


@register.filter
def when_until(start: datetime, end: datetime) -> str:
    """A start and end: 'Monday 23 November 2026, 14:00–14:50 CET (Europe/Paris)', with the end's date
    written out when it falls on another day."""
    zone_name = timezone.get_current_timezone_name()
    local_start, local_end = in_zone(start, zone_name), in_zone(end, zone_name)
    until = f"{local_end:%H:%M}"
    if local_end.date() != local_start.date():
        until = f"{local_end:%A} {local_end.day} {local_end:%B}, {until}"
    return (
        f"{local_start:%A} {local_start.day} {local_start:%B %Y, %H:%M}–{until} {local_end.tzname()} "
        f"({zone_name.replace('_', ' ')})"
    )


@register.filter
def time_range(start: datetime, end: datetime) -> str:
    """'14:00–14:50 CET', for a list whose heading already says the day and the zone."""
    zone_name = timezone.get_current_timezone_name()
    local_start, local_end = in_zone(start, zone_name), in_zone(end, zone_name)
    return f"{local_start:%H:%M}–{local_end:%H:%M} {local_start.tzname()}"


@register.filter
def clock(moment: datetime) -> str:
    """'14:00', the reader's wall clock."""
    return f"{in_zone(moment, timezone.get_current_timezone_name()):%H:%M}"


@register.filter
def span(start: datetime, end: datetime) -> str:
    """'Thu 26 Nov 2026, 08:00 – 18:00 GMT', or with the end's date when it falls on another day."""
    zone_name = timezone.get_current_timezone_name()
    local_start, local_end = in_zone(start, zone_name), in_zone(end, zone_name)
    until = f"{local_end:%H:%M}"
    if local_end.date() != local_start.date():
        until = f"{local_end:%a} {local_end.day} {local_end:%b %Y, %H:%M}"
    return f"{local_start:%a} {local_start.day} {local_start:%b %Y, %H:%M} – {until} {local_start.tzname()}"


@register.filter
def moment(moment: datetime | None) -> str:
    """'23 Nov 14:00 CET': a moment in a log or table, with the zone abbreviation at that date."""
    if moment is None:
        return ""
    local = in_zone(moment, timezone.get_current_timezone_name())
    return f"{local.day} {local:%b %H:%M} {local.tzname()}"
