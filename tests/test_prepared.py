"""Statements prepared once per PostgreSQL connection (config.prepared)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config import prepared

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def test_the_driver_placeholders_become_numbered_parameters():
    assert prepared.numbered("SELECT %s, '100%%', %s WHERE a = %s") == "SELECT $1, '100%', $2 WHERE a = $3"
    assert prepared.numbered("SELECT 1") == "SELECT 1"


def test_the_same_sql_gets_the_same_name_and_other_sql_another():
    first = prepared.statement_name("x", "SELECT $1")
    assert first == prepared.statement_name("x", "SELECT $1")
    assert first != prepared.statement_name("x", "SELECT $1 + 1")
    assert first.startswith("x_")


def _run(name: str, value: int) -> int:
    with connection.cursor() as cursor:
        prepared.execute_prepared(
            connection, cursor, name=name, statement="SELECT $1::integer + 1", arguments=[value]
        )
        return cursor.fetchone()[0]


@postgresql_only
def test_a_statement_is_prepared_once_and_then_only_executed():
    name = prepared.statement_name("test", "SELECT $1::integer + 1 -- once")

    with CaptureQueriesContext(connection) as first:
        assert _run(name, 1) == 2
    with CaptureQueriesContext(connection) as again:
        assert _run(name, 41) == 42

    assert [q["sql"].split()[0] for q in first] == ["PREPARE", "EXECUTE"]
    assert [q["sql"].split()[0] for q in again] == ["EXECUTE"]


@postgresql_only
def test_a_connection_with_too_many_statements_drops_them_all_and_goes_on(monkeypatch):
    monkeypatch.setattr(prepared, "MAX_PREPARED", 2)
    names = [prepared.statement_name("test", f"SELECT $1::integer + 1 -- {n}") for n in range(3)]
    # This connection starts with nothing prepared, then two statements fill it.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    prepared._prepared.pop(connection.connection, None)
    _run(names[0], 0)
    _run(names[1], 0)

    with CaptureQueriesContext(connection) as queries:
        assert _run(names[2], 2) == 3
    # The first two are gone from the connection, and the registry knows it: they are prepared again.
    assert _run(names[0], 5) == 6

    assert [q["sql"].split()[0] for q in queries][:2] == ["DEALLOCATE", "PREPARE"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        assert {name for (name,) in cursor.fetchall()} == {names[2], names[0]}
