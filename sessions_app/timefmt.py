import zoneinfo
from datetime import UTC, date, datetime, time

from django.core.exceptions import ValidationError


def in_zone(moment: datetime, zone_name: str) -> datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(zone_name))


def format_when(moment: datetime, zone_name: str) -> str:
    """'Monday 23 November 2026, 14:00 CET (Europe/Paris)': the reader's date written out, their local
    time, the zone's abbreviation at that date (so DST shows) and the zone's name."""
    local = in_zone(moment, zone_name)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()} ({zone_name.replace('_', ' ')})"


def format_short(moment: datetime, zone_name: str) -> str:
    """The compact form for SMS: 'Mon 23 Nov 14:00 CET'."""
    local = in_zone(moment, zone_name)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


def local_midnight(day: date, zone) -> datetime:
    """The UTC instant a local day begins in a zone (not always 24 hours after the previous one)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def local_to_utc(day: date, wall: time, zone_name: str) -> datetime:
    """A wall-clock date and time in a zone, as a UTC instant. Raises ValidationError for a time that does
    not exist there (skipped by a daylight-saving change)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    local = datetime.combine(day, wall).replace(tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValidationError(
            f"{wall:%H:%M} does not exist on {day:%d %B %Y} in {zone_name}: the clocks change then. "
            "Choose another time."
        )
    return instant
