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
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
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


def subquery(sql: str, params: Sequence[Any]) -> RawSQL:
    """A plain one-column SELECT run inside a queryset's own statement, as in
    ``filter(pk__in=rows.subquery(sql, params))``: for a table the ORM has no model of."""
    return RawSQL(sql, tuple(params))  # noqa: S611 - constant SQL, values bound


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


# Statements compiled once from a QuerySet.
#
# A page that runs a dozen short reads pays more for the ORM building and compiling them
# than for running them. ``Compiled`` lets the ORM compile the QuerySet once per process and
# database, with stand-in ids, and runs that same SQL afterwards with the real ids bound in
# their place: the QuerySet stays the one statement of the rule (filters, joins, ordering),
# and the SQL is the ORM's own.

# Never a real id in a query here, and within a 32-bit integer column's range.
STAND_IN_ID = 1_987_654_301


def stand_in_slots(params: Sequence[Any], stand_ins: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    """Where a statement compiled with ``stand_ins`` binds each of them: ``(index, name)``
    pairs into ``params``. A stand-in the statement does not bind is refused, since the
    value given for it later would be ignored."""
    slots: list[tuple[int, str]] = []
    for name, value in stand_ins.items():
        found = [(i, name) for i, p in enumerate(params) if type(p) is type(value) and p == value]
        if not found:
            raise ValueError(f"{name} is not a value the query binds")
        slots += found
    return tuple(slots)


@dataclass(frozen=True)
class _Part:
    """One model of a compiled row: its columns, and the related models selected with it."""

    model: type[models.Model]
    start: int
    pk_offset: int
    local_setter: Callable[[models.Model, models.Model | None], None]
    remote_setter: Callable[[models.Model, models.Model], None]
    related: tuple[_Part, ...]


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]
    root: _Part


def _part(select: Sequence[Any], info: dict[str, Any], top: bool) -> _Part:
    model = info["model"]
    fields = tuple(model._meta.concrete_fields)
    positions = list(info["select_fields"])
    if info.get("from_parent") or not positions:
        raise ValueError(f"{model.__name__}: inherited models are not compiled here")
    start = positions[0]
    selected = tuple(entry[0].target for entry in select[start : positions[-1] + 1])
    if positions != list(range(start, start + len(fields))) or selected != fields:
        raise ValueError(f"{model.__name__}: only whole rows (no only(), defer()) are compiled")
    return _Part(
        model=model,
        start=start,
        pk_offset=fields.index(model._meta.pk),
        local_setter=_unused_setter if top else info["local_setter"],
        remote_setter=_unused_setter if top else info["remote_setter"],
        related=tuple(_part(select, r, False) for r in info.get("related_klass_infos", [])),
    )


def _instance(part: _Part, row: Sequence[Any]) -> models.Model:
    instance = hydrate(part.model, row, part.start)
    for related in part.related:
        found = None if row[related.start + related.pk_offset] is None else _instance(related, row)
        related.local_setter(instance, found)
        if found is not None:
            related.remote_setter(found, instance)
    return instance


def _unused_setter(instance: models.Model, found: models.Model | None) -> None:
    """The queried model's own part is set on nothing."""


class Compiled[M: models.Model]:
    """``list(build(**ids))``, with the QuerySet compiled once per process and database.

    ``build`` takes the integer ids named in ``names`` by keyword and returns a QuerySet of
    whole rows (``select_related`` allowed, no ``only``/``defer``, annotations or
    ``prefetch_related``); anything else in it is fixed when it is compiled. The first call
    on a database calls ``build`` with stand-in ids, has the ORM compile it and keeps the
    SQL; every call binds its ids where the stand-ins were and builds the instances as the
    ORM's iterator does (the related rows ``select_related`` fetched are cached on them).
    A stand-in the SQL does not bind is refused when compiling.
    """

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]], *names: str) -> None:
        self._model, self._build, self._names = model, build, names
        self._plans: dict[str, _Plan] = {}

    def __call__(self, **ids: int) -> list[M]:
        if set(ids) != set(self._names):
            raise TypeError(f"expected the ids {sorted(self._names)}, got {sorted(ids)}")
        alias = connection_for(self._model).alias
        plan = self._plans.get(alias) or self._compile(alias)
        params = list(plan.params)
        for index, name in plan.slots:
            params[index] = ids[name]
        rows = fetch_all(self._model, plan.sql, params)
        return [cast(M, _instance(plan.root, row)) for row in rows]

    def _compile(self, alias: str) -> _Plan:
        stand_ins = {name: STAND_IN_ID + i for i, name in enumerate(self._names)}
        queryset = self._build(**stand_ins)
        # The prefetches are kept by the QuerySet itself, not in its SQL (nor in the stubs).
        prefetches = queryset._prefetch_related_lookups  # type: ignore[attr-defined]
        if queryset.model is not self._model or prefetches:
            raise ValueError("a Compiled query reads whole rows of its model, no prefetches")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if compiler.annotation_col_map:
            raise ValueError("annotations are not compiled here")
        slots = stand_in_slots(params, stand_ins)
        plan = _Plan(sql, tuple(params), slots, _part(compiler.select, compiler.klass_info, True))
        self._plans[alias] = plan
        return plan


# Stands in an UPDATE given to `insert_linked` where the new row's key goes.
NEW_KEY = "{new}"


def insert_linked[M: models.Model](
    first: M,
    linked: Sequence[tuple[models.Model, str]] = (),
    updates: Sequence[tuple[str, Sequence[Any]]] = (),
) -> M:
    """INSERT ``first``; then each ``(instance, attname)`` of ``linked`` with that column set
    to ``first``'s new key (as the field's type: text for an audit event's object id); then
    each ``(sql, params)`` UPDATE with ``NEW_KEY`` where the new key goes, of another table
    than those inserted into (ValueError otherwise). All or nothing.

    On PostgreSQL this is one statement (the INSERTs and UPDATEs as data-modifying CTEs),
    which is atomic by itself, so outside a transaction it costs one round trip instead of
    BEGIN, one per statement and COMMIT. Elsewhere the same statements run in order in one
    transaction (the caller's, when there is one). Each INSERT is ``insert``'s, with no
    ``save()`` or signal; every instance is marked saved with its new key.
    """
    connection = connection_for(type(first))
    columns = [_field(type(instance), attname) for instance, attname in linked]  # before writing
    written: list[models.Model] = [first, *(instance for instance, _ in linked)]
    inserted = {table(type(instance)) for instance in written}
    for sql, _ in updates:
        if any(sql.startswith(f"UPDATE {name} ") for name in inserted):
            # PostgreSQL runs the parts of one statement on one snapshot: the UPDATE would
            # not see the rows inserted beside it (SQLite's would).
            raise ValueError(f"an UPDATE beside the INSERTs must not change their tables: {sql}")
    if connection.vendor != "postgresql":
        with transaction.atomic(using=connection.alias, savepoint=False):
            insert(first)
            for (instance, attname), column in zip(linked, columns, strict=True):
                setattr(instance, attname, column.to_python(first.pk))
                insert(instance)
            for sql, params in updates:
                at = sql[: sql.index(NEW_KEY)].count("%s")
                execute(
                    type(first), sql.replace(NEW_KEY, "%s"), [*params[:at], first.pk, *params[at:]]
                )
        return first
    links = tuple((type(instance), attname) for instance, attname in linked)
    sql, plan = _linked_plan(type(first), links, tuple(u for u, _ in updates), connection.alias)
    params = [
        field.get_db_prep_save(getattr(instance, field.attname), connection)
        for instance, fields in zip(written, plan, strict=True)
        for field in fields
    ]
    for _, update_params in updates:
        params += update_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    for instance, key in zip(written, found, strict=True):
        instance.pk = key
        instance._state.adding = False
        instance._state.db = connection.alias
    for (instance, attname), column in zip(linked, columns, strict=True):
        setattr(instance, attname, column.to_python(first.pk))
    return first


@cache
def _linked_plan(
    model: type[models.Model],
    links: tuple[tuple[type[models.Model], str], ...],
    updates: tuple[str, ...],
    db_alias: str,
) -> tuple[str, tuple[tuple[models.Field[Any, Any], ...], ...]]:
    """PostgreSQL's one statement for ``insert_linked``, and the fields whose values it
    binds, per INSERT in order (the linked column is the new key, not a parameter)."""
    connection = connections[db_alias]
    quote = connection.ops.quote_name
    new_key = f"(SELECT {quote(model._meta.pk.column or 'id')} FROM new_row)"  # noqa: S608
    sql, fields = _insert_plan(model, db_alias)
    parts, bound = [f"new_row AS ({sql})"], [fields]
    for n, (linked_model, attname) in enumerate(links):
        sql, fields = _insert_plan(linked_model, db_alias)
        column = _field(linked_model, attname)
        marks = ", ".join(
            f"CAST({new_key} AS {column.db_type(connection)})" if f is column else "%s"
            for f in fields
        )
        head, returning = sql[: sql.index(" VALUES (")], sql[sql.index(") RETURNING ") + 1 :]
        parts.append(f"linked_{n} AS ({head} VALUES ({marks}){returning})")
        bound.append(tuple(f for f in fields if f is not column))
    parts += [f"update_{n} AS ({u.replace(NEW_KEY, new_key)})" for n, u in enumerate(updates)]
    keys = [new_key] + [
        f"(SELECT {quote(m._meta.pk.column or 'id')} FROM linked_{n})"  # noqa: S608
        for n, (m, _) in enumerate(links)
    ]
    return f"WITH {', '.join(parts)} SELECT {', '.join(keys)}", tuple(bound)


def _field(model: type[models.Model], attname: str) -> models.Field[Any, Any]:
    """The concrete field stored in ``attname`` (ValueError if the model has none)."""
    return _fields(model, (attname,))[0]
