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


def session_action_items(session: Session, moment: datetime | None = None) -> list[SessionAction]:
    moment = moment or timezone.now()

    def action(name: str, label: str, **options) -> SessionAction:
        return SessionAction(name, label, reverse(f"sessions:{name}", kwargs={"pk": session.pk}), **options)

    if session.is_closed:
        return []
    if not session.is_open:
        # An ended session stays on the dashboard for a while (longer while required documents are missing):
        # Remove takes it off sooner.
        return [
            action("schedule_next", "Schedule next"),
            action("no_show", "Mark no-show"),
            action("remove", "Remove", danger=True),
        ]
    live = session.state == Session.Status.LIVE
    items = [action("reschedule", "Reschedule", blocked=NOT_WHILE_LIVE if live else "")]
    if session.end_at > moment:
        items.append(action("change_end", "Change end time"))
    items.append(action("schedule_next", "Schedule next"))
    if moment >= session.start_at:
        items.append(action("no_show", "Mark no-show"))
    items.append(action("reassign", "Reassign", blocked=NOT_WHILE_LIVE if live else ""))
    if session.cancel_offered(moment):
        items.append(action("cancel", "Cancel", danger=True))
    else:
        items.append(action("remove", "Remove", danger=True))
    return items


@register.simple_tag
def session_actions(session: Session) -> list[SessionAction]:
    """{% session_actions session as actions %}: the actions to offer, in menu order."""
    return session_action_items(session)


@register.filter
def availability_reasons(availability: Availability) -> list[str]:
    """Why a time is not free, with the times in the viewer's zone."""
    return availability.reasons(timezone.get_current_timezone_name())
