"""Fast multi-row writes for the hot paths of queueing and dispatch.

``QuerySet.bulk_update`` builds one ``CASE WHEN pk=... THEN ...`` expression per field over
every row and compiles it through the ORM: for a batch of 200 texts and seven fields that is
most of a dispatcher's time (measured by ``bench/dispatch.py``). ``update_rows`` writes the
same values, field by field prepared exactly as the ORM prepares them
(``get_db_prep_save``), with one parameterised ``UPDATE ... WHERE pk = %s`` run through
``executemany`` inside one transaction: the database reuses one prepared statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router, transaction
from django.db.models import Model


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
