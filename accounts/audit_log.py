"""The audit log page's reading side: which events a member may read, the page's filters, and each event's
details in words (never the JSON the services recorded)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.db.models import Q, QuerySet

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Membership, User
from sessions_app.forms.fields import WindowDateField
from sessions_app.forms.reminders import format_leads
from sessions_app.services.common import page_date_window
from sessions_app.timefmt import in_zone, local_midnight

# Reading ------------------------------------------------------------------------------------------------


def audit_events_visible_to(*, actor: User) -> QuerySet[AuditEvent]:
    """The events a member may read. An admin reads the whole organisation's log. A host reads the events
    about their own sessions and settings (done for them, by anyone) and what they did themselves. A
    scheduler reads what they did themselves: their bookings for every host are theirs to check, while what
    happened to a host's sessions otherwise is the host's and the admins' business."""
    if not actor.is_authenticated or not actor.is_active or actor.membership is None:
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(organization_id=actor.membership.organization_id)
    if actor.is_admin:
        return events
    if actor.is_host:
        return events.filter(Q(acting_for=actor) | Q(actor=actor))
    return events.filter(actor=actor)


@dataclass(frozen=True)
class AuditFilters:
    member_id: int | None = None
    host_id: int | None = None
    action: str = ""
    # The reader's local days, both included.
    start: date | None = None
    end: date | None = None

    def for_audit(self) -> dict:
        """The filters as an export records them (AUDIT_LOG_EXPORT), only those chosen."""
        chosen = {
            "member": self.member_id,
            "host": self.host_id,
            "action": self.action,
            "from": self.start.isoformat() if self.start else "",
            "until": self.end.isoformat() if self.end else "",
        }
        return {key: value for key, value in chosen.items() if value}


def audit_events_for(*, actor: User, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The page's events, newest first, with who did them and for whom in the same query."""
    events = audit_events_visible_to(actor=actor).select_related("actor", "acting_for")
    if filters.member_id:
        events = events.filter(actor_id=filters.member_id)
    if filters.host_id:
        events = events.filter(acting_for_id=filters.host_id)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.start:
        events = events.filter(created_at__gte=local_midnight(filters.start, actor.zone))
    if filters.end:
        events = events.filter(created_at__lt=local_midnight(filters.end + timedelta(days=1), actor.zone))
    return events.order_by("-created_at", "-id")


# The filters --------------------------------------------------------------------------------------------


def _person_label(membership: Membership) -> str:
    label = membership.user.full_name or membership.user.email
    return label if membership.user.is_active else f"{label} (deactivated)"


class AuditFilterForm(forms.Form):
    """Read from the query string, so a filtered page (and its CSV) has an address. The people are offered
    as a fixed list of the organisation's members: an id outside it is an invalid choice, never a query."""

    member = forms.TypedChoiceField(label="Member", required=False, coerce=int, empty_value=None)
    host = forms.TypedChoiceField(label="Acting for", required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any"), *AuditAction.choices])
    start = WindowDateField(label="From", required=False, window=page_date_window)
    end = WindowDateField(label="Until", required=False, window=page_date_window)

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        memberships = list(
            Membership.objects.filter(organization_id=actor.membership.organization_id)
            .select_related("user")
            .order_by("user__full_name", "id")
        )
        self.fields["member"].choices = [
            ("", "Anyone"),
            *((m.user_id, _person_label(m)) for m in memberships),
        ]
        self.fields["host"].choices = [
            ("", "Any host"),
            *((m.user_id, _person_label(m)) for m in memberships if m.hosts_sessions),
        ]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(Column("member"), Column("host"), Column("action"), Column("start"), Column("end"))
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", "The end date must not be before the start date.")
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            member_id=data.get("member"),
            host_id=data.get("host"),
            action=data.get("action") or "",
            start=data.get("start"),
            end=data.get("end"),
        )


# The details in words -----------------------------------------------------------------------------------

# Detail keys that hold user ids (one id, or a list of them).
USER_KEYS = frozenset({"member", "host", "new_host", "previous_host", "bookable_hosts"})
# Detail keys that hold lists of ids of other rows: told as how many.
COUNTED_KEYS = frozenset({"sessions", "participants", "link_revoked", "refunds"})
LEAD_KEYS = frozenset({"reminder_lead_minutes", "default_reminder_lead_minutes"})
KEY_WORDS = {
    "full_name": "name",
    "time_zone": "time zone",
    "default_participant_time_zone": "participants' default time zone",
    "default_reminder_lead_minutes": "hosts' default reminders",
    "reminder_lead_minutes": "reminders",
    "sender_name": "sender name",
    "cancellation_window_hours": "cancellation window (hours)",
    "participant_cancel_cancels_session": "the only participant's cancel cancels the session",
    "admin_hosts": "also hosts",
    "bookable_hosts": "books for",
    "start_at": "start",
    "end_at": "end",
    "duration_minutes": "minutes",
    "new_email": "new address",
    "old_email": "old address",
    "admin_email": "first admin",
    "until": "until",
}
ROLE_WORDS = dict(Membership.Role.choices)


@dataclass
class _Words:
    """What a page of events needs to be told in words: the reader's zone and the names behind the ids."""

    zone_name: str
    users: dict[int, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, str] = field(default_factory=dict)

    def user(self, user_id) -> str:
        if user_id == "all":
            return "every host"
        if isinstance(user_id, list):
            return ", ".join(self.user(one) for one in user_id) or "nobody"
        return self.users.get(user_id, "a former member") if isinstance(user_id, int) else str(user_id)

    def moment(self, value: str) -> str:
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return str(value)
        if moment.tzinfo is None:
            return str(value)
        local = in_zone(moment, self.zone_name)
        return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"

    def value(self, key: str, value) -> str:
        if value is None or value == "":
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if key in USER_KEYS:
            return self.user(value)
        if key in LEAD_KEYS and isinstance(value, list):
            return format_leads([m for m in value if isinstance(m, int)]) or "none"
        if key == "role":
            return ROLE_WORDS.get(value, str(value))
        if key == "action":
            return _action_label(value)
        if key in COUNTED_KEYS and isinstance(value, list):
            return str(len(value))
        if isinstance(value, list):
            return ", ".join(self.value(key, item) for item in value) or "none"
        if isinstance(value, dict):
            return "(" + self.pairs(value) + ")"
        if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
            return self.moment(value)
        return str(value)

    def pairs(self, details: dict, skip: Iterable[str] = ()) -> str:
        return "; ".join(
            f"{_key_words(key)}: {self.value(key, value)}"
            for key, value in details.items()
            if key not in skip
        )

    def changes(self, before: dict, after: dict) -> str:
        keys = [key for key in {**before, **after} if before.get(key) != after.get(key)]
        return "; ".join(
            f"{_key_words(key)}: {self.value(key, before.get(key))} → {self.value(key, after.get(key))}"
            for key in keys
        )


def _key_words(key: str) -> str:
    words = KEY_WORDS.get(key, key.replace("_", " "))
    return words[:1].upper() + words[1:]


def _action_label(action: str) -> str:
    try:
        return AuditAction(action).label
    except ValueError:
        return action.replace("_", " ").replace(".", ": ")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _series(details: dict) -> str:
    sessions = details.get("sessions")
    return (
        f" ({_count(len(sessions), 'session')} of the series)"
        if isinstance(sessions, list) and len(sessions) > 1
        else ""
    )


def _schedule(d: dict, w: _Words) -> str:
    text = f"{w.moment(d.get('start_at'))}, {d.get('duration_minutes')} minutes"
    if isinstance(d.get("participants"), list):
        text += f", {_count(len(d['participants']), 'participant')}"
    if (d.get("occurrences") or 1) > 1:
        text += f"; a series of {d['occurrences']} sessions"
    return text


def _reschedule(d: dict, w: _Words) -> str:
    text = f"From {w.moment(d.get('old_start'))} to {w.moment(d.get('new_start'))}{_series(d)}"
    if d.get("reason"):
        text += f". Reason: {d['reason']}"
    return text + (". Participants told." if d.get("notify") else ". Participants not told.")


def _cancel(d: dict, w: _Words) -> str:
    return (f"Reason: {d['reason']}" if d.get("reason") else "No reason given") + _series(d)


def _member(d: dict, w: _Words) -> str:
    who = w.user(d.get("member"))
    if "before" in d and "after" in d:
        return f"{who}: {w.changes(d['before'], d['after'])}"
    if "bookable_hosts" in d:
        return f"{who} books for {w.user(d['bookable_hosts'])}"
    rest = w.pairs(d, skip={"member", "sessions", "upcoming", "new_host"})
    sessions = d.get("sessions") or []
    if sessions and d.get("upcoming") == "reassign":
        rest = f"{_count(len(sessions), 'upcoming session')} reassigned to {w.user(d.get('new_host'))}"
    elif sessions and d.get("upcoming") == "cancel":
        rest = f"{_count(len(sessions), 'upcoming session')} cancelled"
    return f"{who}{': ' + rest if rest else ''}"


def _invitation(d: dict, w: _Words) -> str:
    text = d.get("email", "")
    if d.get("role"):
        text += f" as {ROLE_WORDS.get(d['role'], d['role']).lower()}"
        if d.get("admin_hosts"):
            text += " who also hosts"
    if isinstance(d.get("bookable_hosts"), list):
        text += f", booking for {w.user(d['bookable_hosts'])}"
    return text


# The order the page's filters read in; PostgreSQL's jsonb keeps an object's keys in an order of its own.
FILTER_ORDER = ("member", "host", "action", "from", "until")


def _export(d: dict, w: _Words) -> str:
    if not d.get("filters"):
        return "All events"
    filters = d["filters"]
    return f"Filters: {w.pairs({key: filters[key] for key in FILTER_ORDER if key in filters})}"


def _before_after(d: dict, w: _Words) -> str:
    if isinstance(d.get("before"), dict) and isinstance(d.get("after"), dict):
        return w.changes(d["before"], d["after"]) or "Nothing changed"
    return w.pairs(d)


SENTENCES = {
    AuditAction.SESSION_SCHEDULE: _schedule,
    AuditAction.SESSION_RESCHEDULE: _reschedule,
    AuditAction.SESSION_CANCEL: _cancel,
    AuditAction.SESSION_CHANGE_END: lambda d, w: (
        f"End moved from {w.moment(d.get('old_end'))} to {w.moment(d.get('new_end'))}"
    ),
    AuditAction.SESSION_REASSIGN: lambda d, w: (
        f"From {w.user(d.get('previous_host'))} to {w.user(d.get('new_host'))}"
    ),
    AuditAction.SESSION_NO_SHOW: lambda d, w: (
        "The whole session"
        if d.get("whole_session")
        else _count(len(d.get("participants") or []), "participant")
    ),
    AuditAction.MEMBER_ROLE_CHANGE: _member,
    AuditAction.MEMBER_HOSTS_SET: _member,
    AuditAction.MEMBER_DEACTIVATE: _member,
    AuditAction.MEMBER_REACTIVATE: _member,
    AuditAction.INVITATION_CREATE: _invitation,
    AuditAction.INVITATION_RESEND: _invitation,
    AuditAction.INVITATION_REVOKE: _invitation,
    AuditAction.INVITATION_ACCEPT: _invitation,
    AuditAction.EMAIL_CHANGE_REQUEST: lambda d, w: f"Confirmation link sent to {d.get('new_email')}",
    AuditAction.EMAIL_CHANGE_CONFIRM: lambda d, w: f"From {d.get('old_email')} to {d.get('new_email')}",
    AuditAction.ORGANIZATION_CREATE: lambda d, w: f"“{d.get('name')}”, first admin {d.get('admin_email')}",
    AuditAction.AUDIT_LOG_EXPORT: _export,
}


def _subject(event: AuditEvent, w: _Words) -> str:
    if event.object_type == "sessions_app.session" and event.object_id in w.sessions:
        return f"“{w.sessions[event.object_id]}”"
    if event.object_type == "contacts.contact" and event.object_id in w.contacts:
        return w.contacts[event.object_id]
    return ""


def describe(event: AuditEvent, words: _Words) -> str:
    """One event's details as a sentence for the reader: their zone, names for ids, never raw JSON."""
    details = event.details if isinstance(event.details, dict) else {}
    sentence = SENTENCES.get(event.action, _before_after)
    try:
        text = sentence(details, words)
    except (KeyError, TypeError, ValueError, AttributeError):
        # Events written before a service changed what it records: told key by key rather than not at all.
        text = words.pairs(details)
    subject = _subject(event, words)
    return f"{subject}: {text}" if subject and text else subject or text


def _user_ids(value) -> set[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {value}
    if isinstance(value, list):
        return {one for one in value if isinstance(one, int) and not isinstance(one, bool)}
    return set()


def _ids_in(details, keys: frozenset) -> set[int]:
    found: set[int] = set()
    if isinstance(details, dict):
        for key, value in details.items():
            if key in keys:
                found |= _user_ids(value)
            elif isinstance(value, dict):
                found |= _ids_in(value, keys)
    return found


def words_for(events: list[AuditEvent], *, zone_name: str) -> _Words:
    """The names a batch of events mentions, read in three queries however many events there are: the
    members named by id, the sessions' titles and the contacts' names (both of the events' organisation)."""
    from contacts.models import Contact
    from sessions_app.models import Session

    words = _Words(zone_name=zone_name)
    user_ids = set().union(*(_ids_in(event.details, USER_KEYS) for event in events)) if events else set()
    if user_ids:
        words.users = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "full_name"))
    organization_ids = {event.organization_id for event in events}

    def object_ids(object_type: str) -> list[int]:
        return [int(e.object_id) for e in events if e.object_type == object_type and e.object_id.isdigit()]

    if session_ids := object_ids("sessions_app.session"):
        sessions = Session.objects.filter(pk__in=session_ids, organization_id__in=organization_ids)
        words.sessions = {str(pk): title for pk, title in sessions.values_list("pk", "title")}
    if contact_ids := object_ids("contacts.contact"):
        contacts = Contact.objects.filter(pk__in=contact_ids, organization_id__in=organization_ids)
        words.contacts = {str(pk): name for pk, name in contacts.values_list("pk", "name")}
    return words


def described(events: Iterable[AuditEvent], *, zone_name: str) -> list[AuditEvent]:
    """The events with `.when` (in the reader's zone, with its abbreviation at that date), `.action_label`
    and `.description` set, their names resolved together."""
    events = list(events)
    words = words_for(events, zone_name=zone_name)
    for event in events:
        local = in_zone(event.created_at, zone_name)
        event.when = f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"
        event.action_label = _action_label(event.action)
        event.description = describe(event, words)
        event.participant_actor = _participant_actor(event)
    return events


def _participant_actor(event: AuditEvent) -> str:
    """Who answered, for an event a participant caused through their link or a text (no account behind it:
    the services record them in the details, sessions_app.services.participant_answers)."""
    details = event.details if isinstance(event.details, dict) else {}
    if event.actor_id is not None or "participant" not in details:
        return ""
    return f"{details.get('name') or 'A participant'} (participant)"
