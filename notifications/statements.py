"""The statements a delivery runs for every notice it sends, with their SQL built once per process or by hand
instead of by the ORM's query compiler on every call; on PostgreSQL the read is also prepared once per
connection.

Building a query's SQL cost a worker more CPU than the database took to run it: a quarter of a worker's time
under load; and planning the read's join of seven tables was three quarters of what the read cost
PostgreSQL (docs/benchmarks.md, "Notice delivery"). Both functions return what the ORM would: the same model
instances with the same related objects, the same prepared values in the same columns. The tests compare
them with the ORM's own results (tests/notifications/test_statements.py).
"""

from django.db import connections
from django.db.models import Model
from django.db.models.query import get_related_populators
from django.db.models.sql import UpdateQuery

from config.prepared import execute_prepared, numbered, statement_name

# (database alias, vendor, model, related, number of ids) -> the read's compiled parts. At most a batch's
# size of entries per model and alias: a read asks for a window of a batch's rows.
_reads: dict[tuple, tuple] = {}


def _read_statement(model: type[Model], related: tuple[str, ...], count: int, using: str) -> tuple:
    connection = connections[using]
    key = (using, connection.vendor, model, related, count)
    if (statement := _reads.get(key)) is None:
        # Distinct stand-in ids: the IN list gets one placeholder each, and they are the only parameters.
        stand_ins = list(range(1, count + 1))
        queryset = model._default_manager.using(using).select_related(*related).filter(pk__in=stand_ins)
        compiler = queryset.order_by().query.get_compiler(using)
        sql, params = compiler.as_sql()
        if list(params) != stand_ins:
            raise ValueError(f"The read of {model.__name__} has parameters besides its ids: {params!r}")
        select, klass_info = compiler.select, compiler.klass_info
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        statement = (
            sql,
            first,
            last,
            [column[0].target.attname for column in select[first:last]],
            compiler.get_converters([column[0] for column in select]),
            get_related_populators(klass_info, select, using),
        )
        _reads[key] = statement
    return statement


def converted(rows: list[tuple], converters: dict, connection) -> list:
    """The rows as the ORM reads them: `converters` maps a column's position to the functions the compiler
    applies to it and the expression they are given (SQLCompiler.get_converters)."""
    if not converters:
        return rows
    result = []
    for row in rows:
        row = list(row)
        for position, (functions, expression) in converters.items():
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        result.append(row)
    return result


def read_with_related(model: type[Model], related: tuple[str, ...], ids: list[int], *, using: str) -> list:
    """model.objects.select_related(*related).filter(pk__in=ids), in no particular order: the instances the
    ORM would build, their related objects set, from SQL compiled once per number of ids. `ids` must be
    distinct."""
    if not ids:
        return []
    sql, first, last, attnames, converters, populators = _read_statement(model, related, len(ids), using)
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Its only parameters are the ids, typed by the column they are compared with.
            name = statement_name("delivery_read", sql)
            execute_prepared(connection, cursor, name=name, statement=numbered(sql), arguments=ids)
        else:
            cursor.execute(sql, ids)
        rows = cursor.fetchall()
    instances = []
    for row in converted(rows, converters, connection):
        instance = model.from_db(using, attnames, row[first:last])
        for populator in populators:
            populator.populate(row, instance)
        instances.append(instance)
    return instances


def update_where(model: type[Model], *, where: dict, values: dict, using: str) -> int:
    """model.objects.filter(**where).update(**values) for a `where` of plain equalities, written without the
    query compiler: each value prepared as its field prepares it for saving, an expression (the database's
    clock, a retry's moment) resolved and compiled as an UPDATE compiles it. Returns the rows changed."""
    connection = connections[using]
    meta = model._meta
    quote = connection.ops.quote_name
    query = UpdateQuery(model)
    compiler = query.get_compiler(using)
    assignments, params = [], []
    for name, value in values.items():
        field = meta.get_field(name)
        if hasattr(value, "resolve_expression"):
            sql, value_params = compiler.compile(
                value.resolve_expression(query, allow_joins=False, for_save=True)
            )
            assignments.append(f"{quote(field.column)} = {sql}")
            params.extend(value_params)
            continue
        value = field.get_db_prep_save(value, connection=connection)
        if value is None:
            assignments.append(f"{quote(field.column)} = NULL")
        else:
            assignments.append(f"{quote(field.column)} = %s")
            params.append(value)
    conditions = []
    for name, value in where.items():
        field = meta.pk if name == "pk" else meta.get_field(name)
        if value is None:
            conditions.append(f"{quote(field.column)} IS NULL")
        else:
            conditions.append(f"{quote(field.column)} = %s")
            params.append(field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True))
    # Names quoted by the backend, every value a parameter.
    statement = f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount
