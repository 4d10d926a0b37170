"""Reads of sessions and what surrounds them, each scoped to the actor (DESIGN.md rule 4) and each a fixed
number of queries however many rows there are. Views load sessions and participants only through these."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for
from billing.models import Invoice, Refund
from documents.models import Document
from documents.selectors import sessions_with_missing_required_documents
from notifications.models import Notification
from sessions_app.models import Answer, BlockedSlot, Participant, Room, Session, WorkingHours


def sessions_visible_to(actor: User) -> QuerySet[Session]:
    """Every session the actor may see: a host's own; for a scheduler or an admin, those of the hosts of
    their organisation they book for (a colleague who has left keeps their past sessions in view)."""
    if not actor.is_authenticated or actor.membership is None:
        return Session.objects.none()
    membership = actor.membership
    if actor.is_scheduler:
        sessions = Session.objects.filter(organization_id=membership.organization_id)
        if membership.books_for_chosen_hosts:
            sessions = sessions.filter(host_id__in=membership.bookable_hosts.values("id"))
        return sessions
    if actor.is_host:
        return Session.objects.filter(host=actor)
    return Session.objects.none()


def session_get_for(*, actor: User, pk: int, connecting: bool = False) -> Session:
    """The one way a view loads a session: in the actor's scope, with its host, room and series, or a 404.
    Only the host connects to their own session (`connecting`); schedulers never do."""
    sessions = sessions_visible_to(actor)
    if connecting:
        sessions = sessions.filter(host=actor) if actor.is_host else Session.objects.none()
    return get_object_or_404(sessions.select_related("host", "room", "series"), pk=pk)


def participant_get_for(*, session: Session, pk: int) -> Participant:
    """A participant still on a session the caller has already loaded through session_get_for, or a 404."""
    participant = get_object_or_404(session.participants.active(), pk=pk)
    participant.session = session
    return participant


def _active_participants(to_attr: str = "active_participants", queryset=None) -> Prefetch:
    return Prefetch(
        "participants",
        queryset=(queryset if queryset is not None else Participant.objects.all()).active().order_by("id"),
        to_attr=to_attr,
    )


def _cancelled_themselves(to_attr: str = "cancelled_participants") -> Prefetch:
    """The participants who cancelled their own place and were taken off the session: the host's pages
    still show them, with their reason, under "Cancelled by participant"."""
    return Prefetch(
        "participants",
        queryset=Participant.objects.filter(removed_at__isnull=False, answer=Answer.CANCELLED).order_by("id"),
        to_attr=to_attr,
    )


def _required_documents(actor: User) -> QuerySet[Document]:
    """The required documents of the actor's organisation, the hosts' they act for included."""
    organization_id = actor.membership.organization_id if actor.membership else None
    return Document.objects.filter(organization_id=organization_id, is_active=True, is_required=True)


def sessions_upcoming_for(*, actor: User, host: User) -> QuerySet[Session]:
    """The host's dashboard: sessions that have not ended, and those that ended less than
    DASHBOARD_KEEP_ENDED_HOURS ago; an ended session some participant still owes a required document stays
    (its `missing_required_documents` is true) until the documents arrive or the host removes it. A session
    its participant cancelled stays until its time has passed, since the host did not cancel it and learns
    of it here. With participants (also those who cancelled their place) and their latest notices, in a
    fixed number of queries however many sessions there are."""
    now = timezone.now()
    # The badge under each participant shows a failed notice first (so a failure is never hidden behind a
    # later one), else the latest notice that has gone or is going out; planned reminders and withdrawn
    # notices say nothing about what the participant has received.
    notices = (
        Notification.objects.only(
            "id", "participant_id", "kind", "channel", "status", "last_error", "created_at"
        )
        .exclude(status=Notification.Status.WITHDRAWN)
        .exclude(status=Notification.Status.PENDING, send_at__gt=now)
        .order_by(
            Case(When(status=Notification.Status.FAILED, then=Value(0)), default=Value(1)),
            "-created_at",
            "-id",
        )
    )
    # Each participant's payment comes in the same query (a one-to-one), for the badge beside the name.
    participants = Participant.objects.select_related("payment").prefetch_related(
        # Only the one the badge shows: PostgreSQL and SQLite pick it per participant (a window function).
        Prefetch("notifications", queryset=notices[:1], to_attr="notices")
    )
    # Nothing is deleted or re-statused when a session leaves: the dashboard stops selecting it, and the
    # history keeps it as it ended.
    kept_since = now - timedelta(hours=settings.DASHBOARD_KEEP_ENDED_HOURS)
    sessions = (
        sessions_visible_to(actor)
        .filter(host=host)
        .filter(
            ~Q(status__in=Session.CLOSED_STATUSES)
            | Q(status=Session.Status.CANCELLED, cancelled_by_participant=True, start_at__gt=now)
        )
    )
    # Documents can be owed only where the organisation requires one. Without one (the usual case) the
    # per-session test is left out: building its SQL was a third of the dashboard's time in Python, and
    # running it a hashed scan of every participant of every organisation in PostgreSQL (docs/benchmarks.md).
    if _required_documents(actor).exists():
        sessions = sessions_with_missing_required_documents(sessions).filter(
            Q(end_at__gt=kept_since) | Q(missing_required_documents=True)
        )
    else:
        sessions = sessions.filter(end_at__gt=kept_since).annotate(missing_required_documents=Value(False))
    return (
        sessions.select_related("host", "room")
        .prefetch_related(_active_participants("active_participants", participants), _cancelled_themselves())
        .order_by("start_at", "id")
    )


def session_page_participants(*, session: Session) -> list[Participant]:
    """The session page's participants, each with their contact and payment, in one query."""
    participants = list(session.participants.active().select_related("contact", "payment").order_by("id"))
    for participant in participants:
        participant.session = session
    return participants


def participants_cancelled_themselves(*, session: Session) -> list[Participant]:
    """The session page's participants who cancelled their own place (and so left it), in one query."""
    participants = list(
        session.participants.filter(removed_at__isnull=False, answer=Answer.CANCELLED).order_by("id")
    )
    for participant in participants:
        participant.session = session
    return participants


def session_refunds_and_invoices(*, session: Session) -> tuple[list[Refund], list[Invoice]]:
    """What the session page lists under Payments, in two queries however many there are."""
    refunds = list(
        Refund.objects.filter(payment__session=session).select_related("payment__participant").order_by("-id")
    )
    invoices = list(session.invoices.select_related("participant").order_by("-id"))
    return refunds, invoices


def participants_waiting(*, session: Session) -> list[Participant]:
    """Who is in the session's waiting room (arrived, not yet let in), first come first, in one query."""
    waiting = list(
        session.participants.active()
        .filter(waiting_since__isnull=False, admitted_at__isnull=True)
        .order_by("waiting_since", "id")
    )
    for participant in waiting:
        participant.session = session
    return waiting


def working_hours_of(*, actor: User, host: User) -> QuerySet[WorkingHours]:
    return WorkingHours.objects.filter(host__in=hosts_actor_may_act_for(actor=actor)).filter(host=host)


def blocked_slots_of(*, actor: User, host: User) -> QuerySet[BlockedSlot]:
    return BlockedSlot.objects.filter(host__in=hosts_actor_may_act_for(actor=actor)).filter(host=host)


def rooms_of_organization(*, actor: User) -> QuerySet[Room]:
    """The actor's organisation's rooms, each with how many open sessions are still to come in it."""
    if not actor.is_authenticated or actor.organization is None:
        return Room.objects.none()
    return Room.objects.filter(organization=actor.organization).annotate(
        upcoming_sessions=Count(
            "sessions",
            filter=Q(sessions__status__in=Session.OPEN_STATUSES, sessions__end_at__gt=timezone.now()),
        )
    )


def sessions_between(*, actor: User, host: User, start: datetime, end: datetime) -> QuerySet[Session]:
    """The host's sessions touching [start, end) for the calendar; removed ones are left out, because
    removing takes a session off the host's pages."""
    return (
        sessions_visible_to(actor)
        .filter(host=host, start_at__lt=end, end_at__gt=start)
        .exclude(status=Session.Status.REMOVED)
        .select_related("room")
        .prefetch_related(_active_participants())
        .order_by("start_at", "id")
    )


def _history_filtered(
    *, actor: User, host: User, now: datetime, start: datetime | None, end: datetime | None, outcome: str
) -> QuerySet[Session]:
    """The host's sessions with their `outcome_value`, under the History page's filters; both parts of the
    page (and the CSV) start from this, so a filter means the same everywhere."""
    sessions = (
        sessions_visible_to(actor)
        .filter(host=host)
        .with_outcome(at=now)
        .select_related("host")
        .prefetch_related(_active_participants())
    )
    if start is not None:
        sessions = sessions.filter(start_at__gte=start)
    if end is not None:
        sessions = sessions.filter(start_at__lt=end)
    if outcome:
        sessions = sessions.filter(outcome_value=outcome)
    return sessions


def sessions_history_for(
    *,
    actor: User,
    host: User,
    start: datetime | None = None,
    end: datetime | None = None,
    outcome: str = "",
) -> QuerySet[Session]:
    """The host's past sessions (ended, or called off for a time that has passed), newest first, each with
    its `outcome_value`: the History table and its CSV."""
    now = timezone.now()
    sessions = _history_filtered(actor=actor, host=host, now=now, start=start, end=end, outcome=outcome)
    return sessions.ended(at=now).order_by("-start_at", "-id")


def sessions_called_off_ahead_for(
    *,
    actor: User,
    host: User,
    start: datetime | None = None,
    end: datetime | None = None,
    outcome: str = "",
) -> QuerySet[Session]:
    """The host's sessions cancelled or removed for a time still ahead, soonest first. The History page lists
    them apart from the past sessions: they have not happened (nor failed to), and a clinic looks at them
    as the gaps in the coming weeks. Each joins the past sessions once its start has passed."""
    now = timezone.now()
    sessions = _history_filtered(actor=actor, host=host, now=now, start=start, end=end, outcome=outcome)
    return sessions.called_off_ahead(at=now).order_by("start_at", "id")


def history_answer_counts(
    *,
    actor: User,
    host: User,
    start: datetime | None = None,
    end: datetime | None = None,
    outcome: str = "",
) -> list[tuple[str, int]]:
    """How the participants of the History's past sessions (under the same filters) answered themselves:
    (label, count) for each answer, in one query."""
    sessions = sessions_history_for(actor=actor, host=host, start=start, end=end, outcome=outcome)
    counts = dict(
        Participant.objects.filter(session__in=sessions.values("pk"))
        .exclude(answer="")
        .values_list("answer")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [(answer.label, counts.get(answer.value, 0)) for answer in Answer]
