"""Whose clock decides that a notice is due, or that a worker's claim on it has lapsed.

Web processes, workers and beat run on different machines whose clocks drift apart. A notice written by a
web server 2 s ahead of a worker would not be due for that worker and wait for the next re-hand; a beat
5 minutes ahead would release a live worker's claim and the notice would go out twice. So every such
moment is written and compared in SQL with the database's own clock, the one clock all processes share.
"""

from django.conf import settings
from django.db.models import DateTimeField, Value
from django.db.models.functions import Now
from django.utils import timezone


class DatabaseNow(Now):
    """Now() in SQL, written on SQLite the way Django writes datetimes there (six fractional digits):
    SQLite stores them as text and compares them as text, so 09:55:00.123 would not equal 09:55:00.123000."""

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="STRFTIME('%%%%Y-%%%%m-%%%%d %%%%H:%%%%M:%%%%f000', 'NOW')",
            **extra_context,
        )


def db_now():
    """The current moment as an SQL expression, to write or to compare with in a query.

    NOTIFICATION_CLOCK = "process" reads the calling process's clock instead. The unit tests use it because
    they move time with time_machine, which moves Python's clock but not PostgreSQL's; the tests of clock
    skew and the integration tier, where worker processes really run, use the database's."""
    if getattr(settings, "NOTIFICATION_CLOCK", "database") == "process":
        return Value(timezone.now(), output_field=DateTimeField())
    return DatabaseNow()
