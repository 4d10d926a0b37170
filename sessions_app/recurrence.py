"""The dates of a series, from its repeat rule: the Schedule form counts them and the service books them."""

from datetime import date, datetime, time
from itertools import islice

from dateutil.rrule import MONTHLY, WEEKLY, rrule

from sessions_app.models import Series

MAX_OCCURRENCES = 52


def occurrence_walls(
    *, first: datetime, frequency: str, count: int | None = None, until: date | None = None
) -> list[datetime]:
    """The wall-clock starts of a series (naive, in the host's zone), at most MAX_OCCURRENCES + 1 of them so
    a caller can tell that a rule asks for too many.

    A monthly series on the 29th, 30th or 31st falls on the last day of the months that are shorter."""
    if frequency == Series.Frequency.MONTHLY:
        options = {"freq": MONTHLY}
        if first.day > 28:
            options |= {"bymonthday": tuple(range(28, first.day + 1)), "bysetpos": -1}
    else:
        options = {"freq": WEEKLY, "interval": 2 if frequency == Series.Frequency.BIWEEKLY else 1}
    if until is not None:
        options["until"] = datetime.combine(until, time.max)
    rule = rrule(dtstart=first, **options)
    limit = min(count, MAX_OCCURRENCES + 1) if count else MAX_OCCURRENCES + 1
    return list(islice(rule, limit))


def series_length_until(first: date, frequency: str, until: date) -> int:
    """How many sessions a series starting on `first` has up to `until` (both local dates), counting at most
    one past the limit."""
    return len(occurrence_walls(first=datetime.combine(first, time()), frequency=frequency, until=until))
