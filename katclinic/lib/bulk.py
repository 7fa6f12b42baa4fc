"""Fast multi-row inserts for imports: one INSERT ... RETURNING per batch, no model instances.

``QuerySet.bulk_create`` builds a model instance per row and prepares every value
through the SQL compiler, which costs more than the rest of an import together. Rows
here are plain dicts of already-validated values; only the columns whose database form
differs from the Python value (dates, times, JSON, decimals) go through the field's own
``get_db_prep_save``. Defaults are computed once per batch. Model ``save`` methods and
signals are not run, exactly as with ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connections, models, router

# Field classes whose Python values are already what the database adapter takes.
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
    models.BigIntegerField,
)
_SQLITE_MAX_PARAMS = 32766


def _converter(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any]:
    if isinstance(field, _PLAIN) and not isinstance(field, models.JSONField):
        return lambda value: value
    return lambda value: None if value is None else field.get_db_prep_save(value, connection)


def insert_rows(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, batch_size: int = 500
) -> list[int]:
    """Insert ``rows`` (keyed by field name or attname) and return their new keys, in order."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.attname) for f in fields)
    converters = [_converter(f, connection) for f in fields]
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    batch_size = max(1, min(batch_size, _SQLITE_MAX_PARAMS // len(fields)))
    pk_column = quote(model._meta.pk.column or "id")
    keys: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            defaults = [f.get_default() for f in fields]
            params: list[Any] = []
            for row in batch:
                for field, convert, default in zip(fields, converters, defaults, strict=True):
                    if field.attname in row:
                        value = row[field.attname]
                    else:
                        value = row.get(field.name, default)
                        if isinstance(value, models.Model):
                            value = value.pk
                    params.append(convert(value))
            # Only names from the model's own metadata (quoted) are interpolated; values are bound.
            values = ", ".join([row_marks] * len(batch))
            sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {values} RETURNING {pk_column}"  # noqa: S608
            cursor.execute(sql, params)
            keys += [row[0] for row in cursor.fetchall()]
    return keys
