"""Statements prepared once per PostgreSQL connection and executed by name after that.

PostgreSQL plans a statement each time it receives one. For a join of seven tables that is most of what a
query costs the database (docs/benchmarks.md): the page fragments' digest and the notices' delivery read run
thousands of times with the same SQL, so they are prepared once on each connection and then executed by
name. One registry for the whole process: a connection's prepared statements are dropped together
(DEALLOCATE ALL) when it has too many, and every user of this module must then know it.
"""

import hashlib
import re
from weakref import WeakKeyDictionary

# The names prepared on each connection, by its DB-API connection: a connection opened again (CONN_MAX_AGE,
# a health check that failed) starts with none.
_prepared: WeakKeyDictionary = WeakKeyDictionary()
MAX_PREPARED = 200
_PLACEHOLDER = re.compile(r"%([%s])")


def statement_name(prefix: str, sql: str) -> str:
    """A name for the statement: the same SQL always gets the same one."""
    return f"{prefix}_{hashlib.md5(sql.encode(), usedforsecurity=False).hexdigest()}"


def numbered(sql: str) -> str:
    """SQL as Django writes it for the driver (%s for each parameter, %% for a literal %) with PostgreSQL's
    numbered parameters instead ($1, $2, ...), as PREPARE takes them."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(replace, sql)


def execute_prepared(connection, cursor, *, name: str, statement: str, arguments=()) -> None:
    """EXECUTE the statement `name` with `arguments` on this PostgreSQL connection, preparing it from
    `statement` (its parameters numbered: $1, $2, ...) the first time this connection meets it."""
    prepared = _prepared.setdefault(connection.connection, set())
    if name not in prepared:
        if len(prepared) >= MAX_PREPARED:
            cursor.execute("DEALLOCATE ALL")
            prepared.clear()
        cursor.execute(f"PREPARE {name} AS {statement}")
        prepared.add(name)
    if arguments:
        cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(arguments))})", list(arguments))
    else:
        cursor.execute(f"EXECUTE {name}")
