from django.db import IntegrityError, OperationalError, transaction

from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for
from config.errors import PermissionDeniedError, ValidationFailedError
from sessions_app.availability import Availability
from sessions_app.models import Session


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


def check_not_closed(session: Session) -> None:
    """Cancelled and removed sessions change no more."""
    if session.is_closed:
        raise ValidationFailedError(f"This session was {session.get_status_display().lower()}.")


def check_open(session: Session) -> None:
    """Only a session that has not ended can move, be cancelled or reassigned, or take new participants."""
    check_not_closed(session)
    if not session.is_open:
        raise ValidationFailedError("This session has ended.")


def check_not_live(session: Session, action: str) -> None:
    if session.state == Session.Status.LIVE:
        raise ValidationFailedError(f"The host is connected to this session now, so it cannot be {action}.")


def check_bookable(*, availability: Availability, zone: str) -> None:
    if not availability.may_save:
        raise ValidationFailedError(" ".join(availability.reasons(zone)) or availability.label, field="start")


def _lost_race(error: Exception) -> ValidationFailedError | None:
    if "no_overlap" in str(error) or "deadlock detected" in str(error):
        return ValidationFailedError(
            "Someone booked that time a moment ago: it overlaps another session. Choose another time.",
            field="start",
        )
    return None


def save_guarded(session: Session, fields: list[str] | None = None) -> None:
    """Save a session whose time, host or room changed. On PostgreSQL the exclusion constraints have the last
    word: a concurrent booking that committed first makes this one fail here instead of double-booking,
    with the same message the availability check gives.

    Two bookings into one slot can also each wait for the other's uncommitted row; PostgreSQL then aborts
    one of them as a deadlock. That one lost the same race, and is told so the same way."""
    try:
        with transaction.atomic():
            session.save(update_fields=[*fields, "updated_at"] if fields else None)
    except (IntegrityError, OperationalError) as error:
        lost = _lost_race(error)
        if lost is None:
            raise
        raise lost from error


def sessions_insert_guarded(sessions: list[Session]) -> None:
    """Insert new sessions in one statement, guarded like save_guarded."""
    try:
        with transaction.atomic():
            Session.objects.bulk_create(sessions)
    except (IntegrityError, OperationalError) as error:
        lost = _lost_race(error)
        if lost is None:
            raise
        raise lost from error
