"""What the Manage menu (dashboard) and the Quick actions (details page) offer for a session.

Worked out from the session alone, so the dashboard and details views need not know about the actions.
The services enforce the same rules; this only decides what is worth offering, and why something is not.
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

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


# Stand-ins for the primary keys in a reversed address; no other part of the product's paths is this number.
SESSION_PK_MARK, PARTICIPANT_PK_MARK = 987654321, 987654322


class SessionUrls:
    """The addresses of a page's many rows: each route is reversed once per page, with stand-in keys, and
    every row's address is that pattern with its own keys put in. A dashboard of 30 sessions asked
    reverse() over 500 times, a fifth of the time it took to serve (docs/benchmarks.md, Pages)."""

    def __init__(self, next_url: str = ""):
        self._patterns: dict[str, str] = {}
        # The page a link leads back to (?next=), written once for every row.
        self.next_query = f"?next={quote(next_url, safe='/')}" if next_url else ""

    def __call__(self, name: str, pk: int, participant_pk: int | None = None) -> str:
        pattern = self._patterns.get(name)
        if pattern is None:
            kwargs = {"pk": SESSION_PK_MARK}
            if participant_pk is not None:
                kwargs["participant_pk"] = PARTICIPANT_PK_MARK
            pattern = self._patterns[name] = reverse(f"sessions:{name}", kwargs=kwargs)
        url = pattern.replace(str(SESSION_PK_MARK), str(pk))
        if participant_pk is not None:
            url = url.replace(str(PARTICIPANT_PK_MARK), str(participant_pk))
        return url


def session_action_items(
    session: Session, moment: datetime | None = None, urls: SessionUrls | None = None
) -> list[SessionAction]:
    moment = moment or timezone.now()
    urls = urls or SessionUrls()

    def action(name: str, label: str, **options) -> SessionAction:
        return SessionAction(name, label, urls(name, session.pk), **options)

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


def prepare_session_rows(sessions, *, next_url: str) -> None:
    """Give each session (and each of its `active_participants`) what its row of the dashboard or the
    session page shows, worked out once: whether it is still open and every address, with the page to come
    back to. The templates then only print; a {% url %} or a property that reads the clock, asked per row
    and per participant, was most of these pages' time. The Manage menu's items are not among them: the
    menu fetches them when it opens (sessions:manage_menu)."""
    urls = SessionUrls(next_url)
    for session in sessions:
        session.open_now = session.is_open
        session.detail_url = urls("detail", session.pk)
        session.manage_menu_url = urls("manage_menu", session.pk)
        session.connect_url = urls("connect", session.pk)
        session.add_participant_url = urls("participant_add", session.pk) + urls.next_query
        session.waiting_room_url = urls("waiting_room", session.pk) + urls.next_query
        # Edit, Remind and Remove (_participant_actions.html), and the payment if one is asked: the
        # selectors that load these participants bring it in the same query.
        for participant in session.active_participants:
            participant.payment_shown = getattr(participant, "payment", None)
            participant.edit_url = urls("participant_edit", session.pk, participant.pk) + urls.next_query
            participant.remind_url = urls("participant_remind", session.pk, participant.pk)
            participant.remove_url = urls("participant_remove", session.pk, participant.pk) + urls.next_query


@register.filter
def availability_reasons(availability: Availability) -> list[str]:
    """Why a time is not free, with the times in the viewer's zone."""
    return availability.reasons(timezone.get_current_timezone_name())
