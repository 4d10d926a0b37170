"""On PostgreSQL, the database itself refuses overlapping open sessions of one host or one room, so two
schedulers saving at the same moment cannot double-book. SQLite has no exclusion constraints; there the
services' checks run inside SQLite's single-writer transactions, which serialise the same way."""

from django.db import migrations

OPEN = "('scheduled', 'live')"

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""ALTER TABLE sessions_app_session ADD CONSTRAINT session_host_no_overlap
        EXCLUDE USING gist (host_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&)
        WHERE (status IN {OPEN})""",
    f"""ALTER TABLE sessions_app_session ADD CONSTRAINT session_room_no_overlap
        EXCLUDE USING gist (room_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&)
        WHERE (room_id IS NOT NULL AND status IN {OPEN})""",
]
DROP = [
    "ALTER TABLE sessions_app_session DROP CONSTRAINT IF EXISTS session_room_no_overlap",
    "ALTER TABLE sessions_app_session DROP CONSTRAINT IF EXISTS session_host_no_overlap",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
