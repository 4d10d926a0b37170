"""Reads behind the planning pages (availability, rooms, calendar, history), each scoped to the actor
(DESIGN.md rule 4) and each a fixed number of queries however many rows there are."""

from datetime import datetime

from django.db import models
from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for
from sessions_app.models import BlockedSlot, Participant, Room, Session, WorkingHours
from sessions_app.selectors import sessions_visible_to

OPEN_STATUSES = (Session.Status.SCHEDULED, Session.Status.LIVE)
ENDED_STATUSES = (Session.Status.CANCELLED, Session.Status.REMOVED)


class Outcome(models.TextChoices):
    """How a past session ended, as the history shows and filters it."""

    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    REMOVED = "removed", "Removed"
    NO_SHOW = "no_show", "No-show"


def _active_participants() -> Prefetch:
    return Prefetch(
        "participants",
        queryset=Participant.objects.filter(removed_at__isnull=True).order_by("id"),
        to_attr="active_participants",
    )


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
            filter=Q(sessions__status__in=OPEN_STATUSES, sessions__end_at__gt=timezone.now()),
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


def sessions_history_for(
    *,
    actor: User,
    host: User,
    start: datetime | None = None,
    end: datetime | None = None,
    outcome: str = "",
) -> QuerySet[Session]:
    """The host's past sessions, newest first: those that have ended, and those cancelled or removed
    whenever they were planned for. Each carries `history_outcome` (an Outcome value), worked out in the
    database so the history can filter on it: nothing marks a finished session Completed, so an ended
    session that was neither cancelled, removed nor a no-show counts as completed."""
    sessions = (
        sessions_visible_to(actor)
        .filter(host=host)
        .filter(Q(end_at__lte=timezone.now()) | Q(status__in=ENDED_STATUSES))
        .annotate(
            history_outcome=Case(
                When(status=Session.Status.CANCELLED, then=Value(Outcome.CANCELLED.value)),
                When(status=Session.Status.REMOVED, then=Value(Outcome.REMOVED.value)),
                When(no_show=True, then=Value(Outcome.NO_SHOW.value)),
                default=Value(Outcome.COMPLETED.value),
                output_field=models.CharField(),
            )
        )
        .select_related("host")
        .prefetch_related(_active_participants())
        .order_by("-start_at", "-id")
    )
    if start is not None:
        sessions = sessions.filter(start_at__gte=start)
    if end is not None:
        sessions = sessions.filter(start_at__lt=end)
    if outcome:
        sessions = sessions.filter(history_outcome=outcome)
    return sessions
