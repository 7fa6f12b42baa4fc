"""Hot-path reads and writes in plain SQL that still give back ordinary model instances.

Building a query through the ORM (filters, joins, ordering, compilation) costs several
times more than running it on SQLite, and the questionnaire-submission path runs about
ten of them per request. The few queries on that path are written here once as SQL;
the column lists come from the models' own metadata and every value goes through the
same database converters the ORM applies, so an instance built here is the instance
``Model.objects.get`` would return (a test compares them field by field on every backend).

Only names from model metadata are interpolated into SQL; values are always bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


def connection_for(model: type[models.Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_read(model)]


def table(model: type[models.Model]) -> str:
    return _table(model, connection_for(model).alias)


@cache
def _table(model: type[models.Model], db_alias: str) -> str:
    return connections[db_alias].ops.quote_name(model._meta.db_table)


@cache
def _fields(model: type[models.Model], only: tuple[str, ...]) -> tuple[models.Field[Any, Any], ...]:
    fields = model._meta.concrete_fields
    if not only:
        return tuple(fields)
    unknown = set(only) - {f.attname for f in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    return tuple(f for f in fields if f.attname in only)


def columns(model: type[models.Model], alias: str, only: Sequence[str] = ()) -> str:
    """``"alias"."col", ...`` for the model's concrete fields (or just ``only``, by attname)."""
    return _columns(model, alias, tuple(only), connection_for(model).alias)


@cache
def _columns(model: type[models.Model], alias: str, only: tuple[str, ...], db_alias: str) -> str:
    quote = connections[db_alias].ops.quote_name
    return ", ".join(f"{quote(alias)}.{quote(f.column or f.attname)}" for f in _fields(model, only))


@cache
def _converters(
    model: type[models.Model], only: tuple[str, ...], db_alias: str
) -> tuple[tuple[Any, tuple[Converter, ...]], ...]:
    """Per column: the column expression and the converters the ORM would apply to it."""
    connection = connections[db_alias]
    out = []
    for field in _fields(model, only):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        out.append((column, tuple(found)))
    return tuple(out)


def convert(
    model: type[models.Model], row: Sequence[Any], start: int = 0, only: Sequence[str] = ()
) -> list[Any]:
    """The values of ``row[start:]``, laid out as ``columns(model, ..., only)`` selected them,
    converted as the ORM converts them (what ``values_list`` gives, with no instance built)."""
    connection = connection_for(model)
    values = []
    for offset, (column, converters) in enumerate(
        _converters(model, tuple(only), connection.alias)
    ):
        value = row[start + offset]
        for step in converters:
            value = step(value, column, connection)
        values.append(value)
    return values


def hydrate[M: models.Model](
    model: type[M], row: Sequence[Any], start: int = 0, only: Sequence[str] = ()
) -> M:
    """The instance for ``row[start:]``, laid out as ``columns(model, ..., only)`` selected it."""
    connection = connection_for(model)
    names = [f.attname for f in _fields(model, tuple(only))]
    return model.from_db(connection.alias, names, convert(model, row, start, only))


def attnames(model: type[models.Model], only: Sequence[str] = ()) -> tuple[str, ...]:
    """The attribute names of the columns ``columns(model, ..., only)`` selects, in its order."""
    return tuple(f.attname for f in _fields(model, tuple(only)))


def width(model: type[models.Model], only: Sequence[str] = ()) -> int:
    return len(_fields(model, tuple(only)))


def now_param(model: type[models.Model]) -> Any:
    """The current time as the ORM binds it for ``model``'s database (naive UTC text on
    SQLite, so comparisons with stored values match the ORM's exactly)."""
    return connection_for(model).ops.adapt_datetimefield_value(timezone.now())


def fetch_one(model: type[models.Model], sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def fetch_all(model: type[models.Model], sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def execute(model: type[models.Model], sql: str, params: Sequence[Any]) -> int:
    """Run one write statement on ``model``'s database; the number of rows it changed."""
    with connection_for(model).cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def insert[M: models.Model](instance: M) -> M:
    """INSERT one new instance and mark it saved, with its new primary key.

    As with ``bulk_create``, no ``save()`` override or signal runs, so models that
    need either (or ``auto_now``) must not come through here; the values are the
    instance's own, defaults included, prepared exactly as ``save()`` prepares them.
    """
    connection = connection_for(type(instance))
    sql, fields = _insert_plan(type(instance), connection.alias)
    params = [
        field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


@cache
def _insert_plan(
    model: type[models.Model], db_alias: str
) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    quote = connections[db_alias].ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise ValueError(
                f"{model.__name__}.{field.name} needs save(): auto_now is not set here"
            )
    names = ", ".join(quote(f.column or f.attname) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = quote(model._meta.pk.column or "id")
    sql = f"INSERT INTO {_table(model, db_alias)} ({names}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608
    return sql, fields
