"""Fast insertion of many new rows: PostgreSQL COPY, or bulk_create on other databases.

bulk_create prepares every field of every row through the ORM and compiles one huge statement;
for the thousand files of one request-uploads call that is most of the request's time. COPY
takes the rows as they are. Only for plain new rows: primary keys set (UUIDs) or left to the
database, no signals, defaults and auto_now_add applied here as the ORM would.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connections, models, router
from psycopg.types.json import Jsonb

ModelT = TypeVar("ModelT", bound=models.Model)


def bulk_insert(objects: Sequence[ModelT]) -> Sequence[ModelT]:
    if not objects:
        return objects
    model = type(objects[0])
    alias = router.db_for_write(model)
    if connections[alias].vendor != "postgresql" or model._meta.pk is None:
        return model._default_manager.using(alias).bulk_create(list(objects))
    pk = model._meta.pk
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field is pk and getattr(objects[0], pk.attname) is None)
    ]
    stamped = [field for field in fields if getattr(field, "auto_now_add", False)]

    def rows() -> Iterator[list[Any]]:
        for obj in objects:
            for field in stamped:
                field.pre_save(obj, add=True)
            yield [getattr(obj, field.attname) for field in fields]

    _copy(model, alias, fields, rows())
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias
    return objects


def new_instances(
    model: type[ModelT],
    *,
    common: dict[str, Any],
    rows: Iterable[dict[str, Any]],
    related: dict[str, models.Model] | None = None,
) -> list[ModelT]:
    """Unsaved instances of `model` built positionally, as Django builds rows it reads (a
    third of the time of keyword construction, which looks every field's default up again
    for each object). `common` and each of `rows` give values by attribute name (`group_id`,
    not `group`); other fields take their defaults, callable ones (uuid4) called per row;
    `related` objects (by field name) are set on every instance, key and cached object, so
    reading them makes no query."""
    relations = [(model._meta.get_field(name), obj) for name, obj in (related or {}).items()]
    common = common | {relation.attname: obj.pk for relation, obj in relations}  # type: ignore[union-attr]
    fields = model._meta.concrete_fields
    names = {field.attname for field in fields}
    rows = list(rows)
    unknown = set(common).union(*(row.keys() for row in rows)) - names
    if unknown:
        raise TypeError(f"{model.__name__} has no fields {sorted(unknown)}")
    fixed: list[Any] = []
    per_row: list[tuple[int, Any]] = []
    for index, field in enumerate(fields):
        if field.attname in common:
            fixed.append(common[field.attname])
        elif field.has_default() and callable(field.default):
            fixed.append(None)
            per_row.append((index, field.default))
        else:
            fixed.append(field.get_default())
    position = {field.attname: index for index, field in enumerate(fields)}
    made: list[ModelT] = []
    for row in rows:
        values = list(fixed)
        for index, make in per_row:
            values[index] = make()
        for name, value in row.items():
            values[position[name]] = value
        obj = model(*values)
        for relation, value in relations:
            relation.set_cached_value(obj, value)  # type: ignore[union-attr]
        made.append(obj)
    return made


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """New rows of `model` given as values in the order of `columns` (attribute names), with
    no model instances made: for rows nobody reads back (audit rows of a thousand files).
    Columns left out take their database default; none is applied here."""
    alias = router.db_for_write(model)
    fields = [model._meta.get_field(name) for name in columns]
    if connections[alias].vendor != "postgresql":
        made = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model._default_manager.using(alias).bulk_create(made)
        return len(made)
    return _copy(model, alias, fields, rows)


def _copy(
    model: type[models.Model], alias: str, fields: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> int:
    connection = connections[alias]
    json_at = [i for i, field in enumerate(fields) if isinstance(field, models.JSONField)]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = Jsonb(row[i])
                copy.write_row(row)
                count += 1
    return count
