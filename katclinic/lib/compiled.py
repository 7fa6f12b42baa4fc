"""``values_list`` reads compiled by the ORM once per process and database, then run again.

A chart tab runs a dozen or more short reads of one patient's rows, and building each
QuerySet (filters, joins, ordering) and compiling it costs several times more than running
it. ``CompiledValues`` keeps the QuerySet as the one statement of the rule: the first call
on a database builds it with stand-in values, has the ORM compile it and keeps the SQL;
every call binds its own values where the stand-ins were, runs that same SQL through
``katclinic.lib.rows`` and applies the converters the ORM would, so the rows are the rows
``list(queryset)`` gives (``katclinic/lib/tests/test_compiled.py`` compares them on every
backend). Only compiled SQL is kept, never a row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections, models
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

from katclinic.lib import rows

Value = int | str | datetime

# Never a real value in a query here; the integer fits a 32-bit column.
_STAND_INS: dict[type, Callable[[int], Value]] = {
    int: lambda i: rows.STAND_IN_ID + i,
    str: lambda i: f"\x00stand-in {i}\x00",
    datetime: lambda i: datetime(1901, 2, 3, 4, 5, 6, 700_001 + i, tzinfo=UTC),
}


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]
    width: int
    converters: tuple[tuple[int, tuple[rows.Converter, ...], Any], ...]


class CompiledValues:
    """``list(build(**values))`` for a ``values_list`` QuerySet, compiled once.

    ``build`` takes the values named in ``kinds`` (each an ``int``, ``str`` or timezone-aware
    ``datetime``, compared with a ``DateTimeField``) by keyword and returns a ``values_list``
    QuerySet (not flat, not named) whose shape does not depend on them: an ``__in`` list
    has a fixed length, and anything else in it is fixed when it is compiled. A stand-in
    the compiled SQL does not bind is refused.
    """

    def __init__(
        self,
        model: type[models.Model],
        build: Callable[..., QuerySet[Any, tuple[Any, ...]]],
        **kinds: type[int] | type[str] | type[datetime],
    ) -> None:
        self._model, self._build, self._kinds = model, build, kinds
        self._plans: dict[str, _Plan] = {}

    def __call__(self, **values: Value) -> list[tuple[Any, ...]]:
        if set(values) != set(self._kinds):
            raise TypeError(f"expected {sorted(self._kinds)}, got {sorted(values)}")
        connection = rows.connection_for(self._model)
        plan = self._plans.get(connection.alias) or self._compile(connection.alias)
        params = list(plan.params)
        for index, name in plan.slots:
            params[index] = self._bound(values[name], connection.alias)
        found = rows.fetch_all(self._model, plan.sql, params)
        if not plan.converters:
            return [row[: plan.width] for row in found]
        out = []
        for row in found:
            cells = list(row[: plan.width])
            for position, converters, expression in plan.converters:
                for convert in converters:
                    cells[position] = convert(cells[position], expression, connection)
            out.append(tuple(cells))
        return out

    def _bound(self, value: Value, alias: str) -> Any:
        if isinstance(value, datetime):
            return connections[alias].ops.adapt_datetimefield_value(value)
        return value

    def _compile(self, alias: str) -> _Plan:
        stand_ins = {
            name: _STAND_INS[kind](i) for i, (name, kind) in enumerate(self._kinds.items())
        }
        queryset = self._build(**stand_ins)
        if queryset.model is not self._model or queryset._iterable_class is not ValuesListIterable:
            raise ValueError("a CompiledValues query is a values_list of its model")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        bound = {name: self._bound(value, alias) for name, value in stand_ins.items()}
        slots = rows.stand_in_slots(params, bound)
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = tuple(
            (position, tuple(found), expression)
            for position, (found, expression) in compiler.get_converters(fields).items()
        )
        plan = _Plan(sql, tuple(params), slots, compiler.col_count, converters)
        self._plans[alias] = plan
        return plan


class ByIds:
    """A ``values_list`` read of the rows of some ids (patients, sessions): compiled once for
    one id, as a chart page reads one patient's, and built by the ORM for more.

    ``query(ids, **values)`` is the one statement of the read for both; the values named in
    ``kinds`` are bound as in ``CompiledValues``.
    """

    def __init__(
        self,
        model: type[models.Model],
        query: Callable[..., QuerySet[Any, tuple[Any, ...]]],
        **kinds: type[int] | type[str] | type[datetime],
    ) -> None:
        self._query = query
        self._one = CompiledValues(model, self._for_one, one=int, **kinds)

    def _for_one(self, one: int, **values: Value) -> QuerySet[Any, tuple[Any, ...]]:
        return self._query([one], **values)

    def __call__(self, ids: Collection[int], **values: Value) -> list[tuple[Any, ...]]:
        if len(ids) == 1:
            (one,) = ids
            return self._one(one=one, **values)
        return list(self._query(list(ids), **values))
