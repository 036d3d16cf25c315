"""Fast insertion of many new rows: PostgreSQL COPY, or bulk_create on other databases.

bulk_create prepares every field of every row through the ORM and compiles one huge statement;
for the thousand files of one request-uploads call that is most of the request's time. COPY
takes the rows as they are. Only for plain new rows: primary keys set (UUIDs) or left to the
database, no signals, defaults and auto_now_add applied here as the ORM would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import connections, models, router
from psycopg.types.json import Jsonb

ModelT = TypeVar("ModelT", bound=models.Model)


def bulk_insert(objects: Sequence[ModelT]) -> Sequence[ModelT]:
    if not objects:
        return objects
    model = type(objects[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql" or model._meta.pk is None:
        return model._default_manager.using(alias).bulk_create(list(objects))
    pk = model._meta.pk
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field is pk and getattr(objects[0], pk.attname) is None)
    ]
    stamped = [field for field in fields if getattr(field, "auto_now_add", False)]
    json_fields = {field.attname for field in fields if isinstance(field, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                for field in stamped:
                    field.pre_save(obj, add=True)
                copy.write_row(
                    [
                        Jsonb(value) if name in json_fields else value
                        for name, value in ((f.attname, getattr(obj, f.attname)) for f in fields)
                    ]
                )
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias
    return objects
