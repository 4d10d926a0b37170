"""What the Manage menu (dashboard) and the Quick actions (details page) offer for a session.

Worked out from the session alone, so the dashboard and details views need not know about the actions.
The services enforce the same rules; this only decides what is worth offering, and why something is not.
"""

from dataclasses import dataclass
from datetime import datetime

from django import template
from django.urls import reverse
from django.utils import timezone

from sessions_app.availability import Availability
from sessions_app.models import Session
from sessions_app.services.common import CANCEL_GRACE
from sessions_app.timefmt import format_when, in_zone

register = template.Library()

NOT_WHILE_LIVE = "Not while the host is connected to the session."


@dataclass(frozen=True)
class SessionAction:
    name: str
    label: str
    url: str
    # Why the action is shown but cannot be used now; empty when it can.
    blocked: str = ""
    danger: bool = False


def cancel_offered(session: Session, moment: datetime | None = None) -> bool:
    """Cancel until 5 minutes after the start; after that the session can only be removed (no notice)."""
    return (moment or timezone.now()) <= session.start_at + CANCEL_GRACE


def session_action_items(session: Session, moment: datetime | None = None) -> list[SessionAction]:
    moment = moment or timezone.now()

    def action(name: str, label: str, **options) -> SessionAction:
        return SessionAction(name, label, reverse(f"sessions:{name}", kwargs={"pk": session.pk}), **options)

    if session.status == Session.Status.COMPLETED:
        return [action("schedule_next", "Schedule next")]
    if not session.is_open:
        return []
    live = session.status == Session.Status.LIVE
    items = [action("reschedule", "Reschedule", blocked=NOT_WHILE_LIVE if live else "")]
    if session.end_at > moment:
        items.append(action("change_end", "Modify duration"))
    items.append(action("schedule_next", "Schedule next"))
    if moment >= session.start_at:
        items.append(action("no_show", "Mark no-show"))
    items.append(action("reassign", "Reassign", blocked=NOT_WHILE_LIVE if live else ""))
    if cancel_offered(session, moment):
        items.append(action("cancel", "Cancel", danger=True))
    else:
        items.append(action("remove", "Remove", danger=True))
    return items


@register.simple_tag
def session_actions(session: Session) -> list[SessionAction]:
    """{% session_actions session as actions %}: the actions to offer, in menu order."""
    return session_action_items(session)


@register.filter
def when(moment: datetime | None) -> str:
    """A moment in the viewer's zone (activated per request), written out with the zone's abbreviation."""
    if moment is None:
        return ""
    return format_when(moment, timezone.get_current_timezone_name())


@register.filter
def when_until(start: datetime, end: datetime) -> str:
    """A start and end in the viewer's zone: 'Monday 23 November 2026, 14:00–14:50 CET (Europe/Paris)',
    with the end's date written out when it falls on another day."""
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
def availability_reasons(availability: Availability) -> list[str]:
    """Why a time is not free, with the times in the viewer's zone."""
    return availability.reasons(timezone.get_current_timezone_name())
