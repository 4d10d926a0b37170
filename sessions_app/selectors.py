from django.db.models import Case, Prefetch, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from notifications.models import Notification
from sessions_app.models import Participant, Session


def sessions_visible_to(actor: User) -> QuerySet[Session]:
    """Every session the actor may see (DESIGN.md rule 4): a host's own, or, for a scheduler, those of the
    hosts of their organisation. Views load sessions only through this."""
    if not actor.is_authenticated:
        return Session.objects.none()
    if actor.is_host:
        return Session.objects.filter(host=actor)
    if actor.is_scheduler:
        return Session.objects.filter(organization=actor.organization)
    return Session.objects.none()


def sessions_connectable_by(actor: User) -> QuerySet[Session]:
    """Only the host connects to their own session; schedulers never do."""
    if not actor.is_authenticated or not actor.is_host:
        return Session.objects.none()
    return Session.objects.filter(host=actor)


def sessions_upcoming_for(*, actor: User, host: User) -> QuerySet[Session]:
    """The host's sessions that have not ended, with participants and their latest notices in a fixed number
    of queries however many sessions there are."""
    now = timezone.now()
    # The badge under each participant shows a failed notice first (so a failure is never hidden behind a
    # later one), else the latest notice that has gone or is going out; planned reminders and withdrawn
    # notices say nothing about what the participant has received.
    notices = (
        Notification.objects.only(
            "id", "participant_id", "kind", "channel", "status", "last_error", "created_at"
        )
        .exclude(status=Notification.Status.CANCELLED)
        .exclude(status=Notification.Status.PENDING, send_at__gt=now)
        .order_by(
            Case(When(status=Notification.Status.FAILED, then=Value(0)), default=Value(1)),
            "-created_at",
            "-id",
        )
    )
    participants = (
        Participant.objects.filter(removed_at__isnull=True)
        .order_by("id")
        .prefetch_related(Prefetch("notifications", queryset=notices, to_attr="notices"))
    )
    return (
        sessions_visible_to(actor)
        .filter(host=host, status__in=[Session.Status.SCHEDULED, Session.Status.LIVE], end_at__gt=now)
        .select_related("host")
        .prefetch_related(Prefetch("participants", queryset=participants))
        .order_by("start_at", "id")
    )
