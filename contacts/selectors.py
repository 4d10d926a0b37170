import re

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Organization, User
from contacts.models import Contact
from documents.models import Submission
from notifications.models import Notification
from sessions_app.models import Participant, Session
from sessions_app.selectors import sessions_visible_to

AUTOCOMPLETE_MIN_LENGTH = 2
AUTOCOMPLETE_LIMIT = 8
# The longest name or email a contact can have: a longer query cannot match (and SQLite refuses a LIKE
# pattern of 50,000 characters).
AUTOCOMPLETE_MAX_LENGTH = max(Contact._meta.get_field(name).max_length for name in ("name", "email"))


def _searchable(query: str) -> bool:
    return "\x00" not in query and len(query) <= AUTOCOMPLETE_MAX_LENGTH


def contacts_matching(
    *, organization: Organization | None, query: str, limit: int = AUTOCOMPLETE_LIMIT
) -> QuerySet[Contact]:
    """The organisation's contacts whose name or email contains the query, names starting with it first.

    Fewer than two characters match nothing: one letter would list most of the address book to anyone who
    types it, and helps nobody pick a person. Neither does a NUL character, which no form lets into a name
    or an email, and which PostgreSQL refuses in a query.
    """
    query = query.strip()
    if organization is None or not _searchable(query) or len(query) < AUTOCOMPLETE_MIN_LENGTH:
        return Contact.objects.none()
    return (
        Contact.objects.filter(organization=organization)
        .filter(Q(name__icontains=query) | Q(email__icontains=query))
        .annotate(
            rank=Case(
                When(name__istartswith=query, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("rank", "name", "id")[:limit]
    )


def contacts_of(*, actor: User) -> QuerySet[Contact]:
    """The contacts the actor manages: all of their organisation's when they are one of its hosts or
    schedulers (contacts are the organisation's, not one host's), none otherwise."""
    if not actor.is_authenticated or not (actor.is_host or actor.is_scheduler) or actor.organization is None:
        return Contact.objects.none()
    return Contact.objects.filter(organization=actor.organization)


def contact_get_for(*, actor: User, pk: int) -> Contact:
    """The one way a view loads a contact: in the actor's organisation, or a 404."""
    return get_object_or_404(contacts_of(actor=actor), pk=pk)


# What people type between the digits of a phone number.
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")


def contacts_search(*, actor: User, query: str = "") -> QuerySet[Contact]:
    """The Contacts page: the actor's contacts whose name, email or phone contains the query (all of them
    for none), by name. A query no contact could match (a NUL, longer than any field) matches nothing."""
    contacts = contacts_of(actor=actor).order_by("name", "id")
    query = query.strip()
    if not query:
        return contacts
    if not _searchable(query):
        return Contact.objects.none()
    matches = Q(name__icontains=query) | Q(email__icontains=query)
    if digits := _PHONE_PUNCTUATION.sub("", query):
        matches |= Q(phone__contains=digits)
    return contacts.filter(matches)


def contacts_emails_taken(*, organization: Organization, emails: list[str]) -> set[str]:
    """Which of these emails (lower-cased) already belong to one of the organisation's contacts, compared
    without regard to case as contacts_match_or_create does. One query."""
    wanted = {email.strip().lower() for email in emails if email.strip()}
    if not wanted:
        return set()
    return set(
        Contact.objects.filter(organization=organization)
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted)
        .values_list("email_lower", flat=True)
    )


def contact_participations_open(*, contact: Contact) -> QuerySet[Participant]:
    """The contact's participations on sessions not yet ended (scheduled or live) that they are still on:
    these follow a changed contact, and these keep a contact from being erased."""
    return Participant.objects.active().filter(contact=contact, session__in=Session.objects.open())


def contact_session_history(*, actor: User, contact: Contact) -> QuerySet[Participant]:
    """The contact's participations on the sessions the actor may see (a host their own, a scheduler the
    organisation's), newest first, with their sessions and hosts."""
    return (
        Participant.objects.filter(contact=contact, session__in=sessions_visible_to(actor))
        .select_related("session", "session__host")
        .order_by("-session__start_at", "-id")
    )


def contact_submissions(*, contact: Contact) -> QuerySet[Submission]:
    """The documents the contact has submitted, newest first, with the document's title."""
    return (
        Submission.objects.filter(contact=contact, status=Submission.Status.SUBMITTED)
        .select_related("document")
        .order_by("-submitted_at", "-id")
    )


def _moment(value) -> str | None:
    return value.isoformat() if value else None


def contact_data_export(*, contact: Contact) -> dict:
    """Everything held about a contact, as JSON-ready data (times in UTC, ISO 8601): their details, every
    participation, the notices sent to them (what, how, where and when; never the text) and their
    submitted answers. A fixed number of queries however much there is."""
    participations = list(
        Participant.objects.filter(contact=contact)
        .select_related("session")
        .order_by("session__start_at", "id")
    )
    notices = Notification.objects.filter(participant__in=participations).order_by("created_at", "id")
    submissions = (
        Submission.objects.filter(Q(contact=contact) | Q(participant__in=participations))
        .select_related("document")
        .prefetch_related("files")
        .order_by("created_at", "id")
    )
    now = timezone.now()
    return {
        "exported_at": now.isoformat(),
        "organization": contact.organization.name,
        "contact": {
            "name": contact.name,
            "email": contact.email,
            "phone": str(contact.phone or ""),
            "preferred_method": contact.preferred_method,
            "time_zone": contact.time_zone,
            "note": contact.note,
            "sms_opted_out_at": _moment(contact.sms_opted_out_at),
            "created_at": _moment(contact.created_at),
            "updated_at": _moment(contact.updated_at),
        },
        "participations": [
            {
                "session": p.session.title,
                "start_at": _moment(p.session.start_at),
                "end_at": _moment(p.session.end_at),
                "status": p.session.outcome,
                "name": p.name,
                "email": p.email,
                "phone": str(p.phone or ""),
                "invite_method": p.invite_method,
                "time_zone": p.time_zone,
                "joined_at": _moment(p.joined_at),
                "no_show": p.no_show,
                "removed_at": _moment(p.removed_at),
            }
            for p in participations
        ],
        "notices": [
            {
                "kind": n.kind,
                "channel": n.channel,
                "recipient": n.recipient,
                "status": n.status,
                "sent_at": _moment(n.sent_at),
            }
            for n in notices
        ],
        "submissions": [
            {
                "document": s.document.title,
                "status": s.status,
                "submitted_at": _moment(s.submitted_at),
                "questions": s.snapshot,
                "answers": s.answers,
                "signed_name": s.signed_name,
                "signed_at": _moment(s.signed_at),
                "signed_from": s.signed_from,
                "files": [{"name": f.original_name, "size": f.size} for f in s.files.all()],
            }
            for s in submissions
        ],
    }
