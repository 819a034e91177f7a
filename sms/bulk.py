"""Fast multi-row writes for the hot paths of queueing and dispatch.

``QuerySet.bulk_update`` builds one ``CASE WHEN pk=... THEN ...`` expression per field over
every row and compiles it through the ORM: for a batch of 200 texts and seven fields that is
most of a dispatcher's time (measured by ``bench/dispatch.py``). ``update_rows`` writes the
same values, field by field prepared exactly as the ORM prepares them
(``get_db_prep_save``), with one parameterised ``UPDATE ... WHERE pk = %s`` run through
``executemany`` inside one transaction: SQLite reuses one prepared statement, psycopg 3
pipelines the statements to PostgreSQL without waiting for each answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict


def update_rows(objects: Sequence[Model], field_names: Sequence[str]) -> int:
    """Save ``field_names`` of each object (one row each, by primary key), atomically.

    Same semantics as ``Model.objects.bulk_update(objects, field_names)``: no signals, no
    ``auto_now``; the values are the objects' current attributes.
    """
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    rows = [
        [*(field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields), obj.pk]
        for obj in objects
    ]
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)


def insert_rows(objects: Sequence[Model], *, ignore_conflicts: bool = False) -> int:
    """INSERT unsaved objects with one ``executemany`` (SQLite), for rows nobody reads back at once.

    Like ``bulk_create`` but the objects' primary keys stay unset (use ``bulk_create`` when
    you need them) and defaults must already be on the objects (they are, once built).
    Used for the status history: three rows per text, the largest table we write.
    ``ignore_conflicts`` skips rows that break a unique constraint, as bulk_create's does.
    """
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor == "postgresql":  # UNNEST there (see create_rows) is the faster path
        model.objects.bulk_create(objects, ignore_conflicts=ignore_conflicts)
        return len(objects)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    sql = (
        f"{connection.ops.insert_statement(on_conflict=on_conflict)} {quote(meta.db_table)} ({columns}) "
        f"VALUES ({placeholders}) {connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None)}"
    )
    rows = [_values(obj, fields, connection) for obj in objects]
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)


def create_rows(objects: Sequence[Model]) -> list[Model]:
    """``bulk_create`` for the queue: multi-row INSERT ... RETURNING pk, compiled by hand.

    The ORM compiles every value of every row through its expression machinery, which costs
    more than the database's own work for wide rows such as OutboundMessage. Here values are
    prepared with ``get_db_prep_save`` (as the ORM does) and sent in batches that respect the
    database's parameter limit; the objects get their primary keys, in order, as with
    bulk_create. On PostgreSQL it is bulk_create: Django 5.2 inserts there with UNNEST (one
    array parameter per column), which beats a long VALUES list that the driver must parse;
    likewise where INSERT ... RETURNING is missing.
    """
    if not objects:
        return []
    model = type(objects[0])
    meta = model._meta
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor == "postgresql" or not connection.features.can_return_rows_from_bulk_insert:
        return model.objects.bulk_create(objects)
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    max_params = connection.features.max_query_params or 65_535
    per_statement = max(1, min(1000, max_params // len(fields)))
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) VALUES "  # noqa: S608  (quoted model identifiers; values are parameters)
    row_sql = f"({', '.join(['%s'] * len(fields))})"
    tail = f" RETURNING {quote(meta.pk.column)}"
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(objects), per_statement):
            chunk = objects[start : start + per_statement]
            params = [value for obj in chunk for value in _values(obj, fields, connection)]
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, params)
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = using
    return list(objects)


def _values(obj: Model, fields, connection) -> list:
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
