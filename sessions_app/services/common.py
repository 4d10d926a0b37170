from datetime import timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.errors import PermissionDeniedError, ValidationFailedError
from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for
from sessions_app.availability import Availability, availability_for
from sessions_app.models import Participant, Session

# Cancel is offered until 5 minutes after the start; after that the session can only be removed.
CANCEL_GRACE = timedelta(minutes=5)


def check_acts_for(*, actor: User, host: User) -> None:
    if not hosts_actor_may_act_for(actor=actor).filter(pk=host.pk).exists():
        raise PermissionDeniedError("You cannot manage sessions for this host.")


def lock_session(*, actor: User, session: Session) -> Session:
    """The session's row, locked for this transaction, after checking the actor may manage it."""
    check_acts_for(actor=actor, host=session.host)
    # of=("self",): only the session row is locked; room and series are nullable outer joins.
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("host", "room", "series")
        .get(pk=session.pk)
    )


def check_open(session: Session) -> None:
    if session.status in (Session.Status.CANCELLED, Session.Status.REMOVED):
        raise ValidationFailedError(f"This session was {session.get_status_display().lower()}.")


def check_not_live(session: Session, action: str) -> None:
    if session.status == Session.Status.LIVE:
        raise ValidationFailedError(f"The host is connected to this session now, so it cannot be {action}.")


def check_bookable(*, availability: Availability, zone: str) -> None:
    if not availability.may_save:
        raise ValidationFailedError(" ".join(availability.reasons(zone)) or availability.label, field="start")


def availability_excluding(session: Session, *, start_at, end_at, host=None, room=None) -> Availability:
    return availability_for(
        host=host or session.host,
        start_at=start_at,
        end_at=end_at,
        room=session.room if room is None else room,
        exclude=[session.pk],
    )


def save_guarded(session: Session, fields: list[str] | None = None) -> None:
    """Insert a session, or save one whose time, host or room changed. On PostgreSQL the exclusion
    constraints have the last word: a concurrent booking that committed first makes this one fail here
    instead of double-booking, with the same message the availability check gives.

    Two bookings into one slot can also each wait for the other's uncommitted row; PostgreSQL then aborts
    one of them as a deadlock. That one lost the same race, and is told so the same way."""
    try:
        with transaction.atomic():
            session.save(update_fields=[*fields, "updated_at"] if fields else None)
    except (IntegrityError, OperationalError) as error:
        lost_race = "no_overlap" in str(error) or "deadlock detected" in str(error)
        if not lost_race:
            raise
        raise ValidationFailedError(
            "Someone booked that time a moment ago: it overlaps another session. Choose another time.",
            field="start",
        ) from error


def audit(
    *, actor: User, session: Session, action: str, obj=None, acting_for: User | None = None, **details
) -> None:
    audit_record(
        actor=actor,
        acting_for=acting_for or session.host,
        action=action,
        obj=obj or session,
        organization_id=session.organization_id,
        details=details,
    )


def active_participants(session: Session) -> list[Participant]:
    return list(session.participants.filter(removed_at__isnull=True).order_by("id"))


def now():
    return timezone.now()
