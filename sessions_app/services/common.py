from datetime import UTC, date, datetime, time

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import hosts_actor_may_act_for
from config.errors import PermissionDeniedError, ValidationFailedError
from sessions_app.availability import Availability
from sessions_app.models import Session

# A session starts at most this many years before or after today. Real bookings sit well inside it, and it
# keeps every date the product derives from a start (local midnights, reminders, a series' later dates) far
# from the ends of Python's calendar, where the arithmetic overflows into a 500.
SESSION_YEARS_BACK = 2
SESSION_YEARS_AHEAD = 5
SESSION_WINDOW_HELP = f"Within {SESSION_YEARS_AHEAD} years from today."
# The calendar and the history look further back than a session can be booked, since held sessions stay on
# record; a date outside this is a typo or a probe, never a page anyone wants.
PAGE_YEARS_BACK = 50


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        # 29 February, in a year that has none.
        return day.replace(year=day.year + years, day=28)


def session_date_window() -> tuple[date, date]:
    """The first and the last day (UTC) a session may start on."""
    today = timezone.now().astimezone(UTC).date()
    return _years_from(today, -SESSION_YEARS_BACK), _years_from(today, SESSION_YEARS_AHEAD)


def page_date_window() -> tuple[date, date]:
    """The days the calendar and the history's filters accept."""
    today = timezone.now().astimezone(UTC).date()
    return _years_from(today, -PAGE_YEARS_BACK), _years_from(today, SESSION_YEARS_AHEAD)


def date_window_message(window: tuple[date, date]) -> str:
    first, last = window
    return f"Choose a date between {first.day} {first:%B %Y} and {last.day} {last:%B %Y}."


def check_session_start(start_at: datetime, *, field: str = "start") -> None:
    """Refuse a start outside session_date_window, before any arithmetic on it can overflow."""
    first, last = session_date_window()
    # Aware datetimes compare without converting, so even the first or last instant Python has is safe here.
    if not datetime.combine(first, time(), UTC) <= start_at < datetime.combine(last, time.max, UTC):
        raise ValidationFailedError(date_window_message((first, last)), field=field)


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
        reasons = availability.reasons(zone) or [availability.label]
        raise ValidationFailedError(" ".join(reasons), field="start", details=reasons)


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
