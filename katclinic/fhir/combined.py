"""Rows of a resource type served from more than one source (Observation: instrument totals
and the vital signs of dosing sessions).

Each source is a queryset annotated with the names every source shares (``patient_id``,
``effective`` and the fields its links follow), so that a filter, a patient's compartment or
an include's reference applies to all of them alike. A search parameter that means
something different per source applies each source's own filter (``Source.params``); one a
source does not serve matches none of its rows.

A page is read in the database: one UNION of the sources' (sort key, source, id) ordered by
the search's order, then source and id, so pages are stable and never overlap, then each
source's rows of that page by primary key. Nothing reads a whole table into Python.

A resource's id is the row's number for the first source (``key`` empty) and
``<key>-<number>`` for the others, so ids of different sources never collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db.models import IntegerField, Q, QuerySet, Value

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import Link, ResourceType, SearchParam
from katclinic.lib.parse import BadParameter, parse_id

PART = "fhir_part"  # the annotation naming a row's source (its index)
DEFAULT_ORDER = ("-effective",)


@dataclass(frozen=True)
class Source:
    """One place a type's resources come from."""

    # The id prefix ("" for plain record numbers; at most one source may use it).
    key: str
    # The clinic's rows, annotated with the shared names (patient_id, effective, links).
    rows: Callable[[Clinic], QuerySet[Any]]
    render: Callable[[Any], dict[str, Any]]
    # How each search parameter that is not a shared field filters this source's rows.
    params: dict[str, Callable[[QuerySet[Any], str], QuerySet[Any]]] = field(default_factory=dict)
    changed_at: Callable[[Any], datetime | None] = field(default=lambda row: None)

    def id_of(self, pk: int) -> str:
        return f"{self.key}-{pk}" if self.key else str(pk)


def _order_keys(order: Sequence[str]) -> tuple[str, ...]:
    """The search's order made total: ``pk`` stands for (source, pk), and both close it.
    A name given twice keeps its first direction."""
    out: list[str] = []
    for name in (*order, PART, "-pk"):
        bare = name.removeprefix("-")
        if bare == "pk" and PART not in {n.removeprefix("-") for n in out}:
            out.append(f"{'-' if name.startswith('-') else ''}{PART}")
        if bare not in {n.removeprefix("-") for n in out}:
            out.append(name)
    return tuple(out)


class Combined:
    """The rows of several sources, filtered, counted and paged as one queryset would be."""

    def __init__(
        self,
        sources: Sequence[Source],
        parts: Sequence[QuerySet[Any]],
        order: Sequence[str] = DEFAULT_ORDER,
    ) -> None:
        self.sources = tuple(sources)
        self.parts = tuple(parts)
        self.order = tuple(order)

    @classmethod
    def of(cls, sources: Sequence[Source], clinic: Clinic) -> Combined:
        parts = [
            source.rows(clinic).annotate(**{PART: Value(index, output_field=IntegerField())})
            for index, source in enumerate(sources)
        ]
        return cls(sources, parts)

    def _with(self, parts: Sequence[QuerySet[Any]]) -> Combined:
        return Combined(self.sources, parts, self.order)

    def each(self, change: Callable[[Source, QuerySet[Any]], QuerySet[Any]]) -> Combined:
        """Each source's rows changed by ``change(source, rows)``."""
        return self._with(
            [change(s, rows) for s, rows in zip(self.sources, self.parts, strict=True)]
        )

    def filter(self, *args: Q, **kwargs: Any) -> Combined:
        return self._with([rows.filter(*args, **kwargs) for rows in self.parts])

    def exclude(self, *args: Q, **kwargs: Any) -> Combined:
        return self._with([rows.exclude(*args, **kwargs) for rows in self.parts])

    def none(self) -> Combined:
        return self._with([rows.none() for rows in self.parts])

    def order_by(self, *names: str) -> Combined:
        return Combined(self.sources, self.parts, names)

    def any_of(self, matches: Sequence[Combined]) -> Combined:
        """The rows in any of ``matches`` (each narrowed from these rows)."""

        def either(index: int, rows: QuerySet[Any]) -> QuerySet[Any]:
            query = Q(pk__in=[])
            for found in matches:
                query |= Q(pk__in=found.parts[index].values("pk"))
            return rows.filter(query)

        return self._with([either(index, rows) for index, rows in enumerate(self.parts)])

    def _own_order(self) -> list[str]:
        """The order within one source (every key but the source's own index)."""
        return [name for name in _order_keys(self.order) if name.removeprefix("-") != PART]

    def _keys(self, stop: int | None) -> QuerySet[Any]:
        """(sort values..., source, pk) of the rows, as one UNION in the database; with
        ``stop``, each source gives only its first ``stop`` rows (read in index order)."""
        keys = _order_keys(self.order)
        names = list(dict.fromkeys(name.removeprefix("-") for name in keys))
        parts = self.parts
        if stop is not None:
            own = self._own_order()
            parts = tuple(p.filter(pk__in=p.order_by(*own).values("pk")[:stop]) for p in parts)
        selects = [rows.order_by().values_list(*names) for rows in parts]
        union = selects[0].union(*selects[1:], all=True) if len(selects) > 1 else selects[0]
        return union.order_by(*keys)

    def values_list(self, name: str, flat: bool = True) -> list[Any]:
        """The values of one shared name over every source's rows (``flat`` only)."""
        return [value for rows in self.parts for value in rows.values_list(name, flat=flat)]

    def count(self) -> int:
        return sum(rows.count() for rows in self.parts)

    def __getitem__(self, window: slice) -> list[Any]:
        keys = _order_keys(self.order)
        names = list(dict.fromkeys(name.removeprefix("-") for name in keys))
        at_part, at_pk = names.index(PART), names.index("pk")
        found = [(key[at_part], key[at_pk]) for key in self._keys(window.stop)[window]]
        wanted: dict[int, list[int]] = {}
        for part, pk in found:
            wanted.setdefault(part, []).append(pk)
        rows = {
            (part, row.pk): row
            for part, pks in wanted.items()
            # Unordered, so the database finds them by key rather than in an index's order.
            for row in self.parts[part].filter(pk__in=pks).order_by()
        }
        return [rows[key] for key in found if key in rows]

    def first(self) -> Any:
        page = self[0:1]
        return page[0] if page else None

    def __iter__(self) -> Iterator[Any]:
        """Every row, source after source (each in the search's order)."""
        order = self._own_order()
        for rows in self.parts:
            yield from rows.order_by(*order).iterator(chunk_size=500)

    def iterator(self, chunk_size: int = 500) -> Iterator[Any]:
        return iter(self)

    # Ids: ``123`` (first source) or ``<key>-123``.

    def with_ids(self, raws: Sequence[str]) -> Combined:
        """The rows whose resource ids are among ``raws`` (an id no source serves: none)."""
        wanted: dict[int, list[int]] = {}
        for raw in raws:
            if (place := self.place(raw)) is not None:
                wanted.setdefault(place[0], []).append(place[1])
        return self._with(
            [rows.filter(pk__in=wanted.get(index, [])) for index, rows in enumerate(self.parts)]
        )

    def place(self, raw: str) -> tuple[int, int] | None:
        """(source index, record number) of the resource id ``raw``; None if none serves it."""
        key, dash, number = raw.rpartition("-")
        index = next((i for i, s in enumerate(self.sources) if s.key == key), None)
        if index is None or (dash and not key) or not number.isascii() or not number.isdigit():
            return None
        try:
            found = parse_id(number, "id")
        except BadParameter:
            return None
        # A prefixed id is written one way only (hr-12, never hr-012).
        return None if key and str(found) != number else (index, found)


def by_source(sources: Sequence[Source]) -> Callable[[Any], Source]:
    """The source a row came from (the ``fhir_part`` annotation every source's rows carry)."""
    return lambda row: sources[row.fhir_part]


def each_source(name: str) -> Callable[[Any, str], Any]:
    """A search parameter's filter that applies each source's own (none where it has none)."""

    def apply(rows: Any, raw: str) -> Any:
        def one(source: Source, part: QuerySet[Any]) -> QuerySet[Any]:
            own = source.params.get(name)
            return own(part, raw) if own is not None else part.none()

        return cast(Combined, rows).each(one)

    return apply


def combined_type(
    *,
    name: str,
    perm: Perm,
    sources: Sequence[Source],
    params: tuple[SearchParam, ...],
    links: tuple[Link, ...],
    mandatory: tuple[str, ...],
    profiles: tuple[str, ...],
    documentation: str,
) -> ResourceType:
    """A type whose rows come from ``sources``, each rendered and dated by its own source."""
    source_of = by_source(sources)
    return ResourceType(
        name=name,
        perm=perm,
        rows=lambda clinic: Combined.of(sources, clinic),
        render=lambda row: source_of(row).render(row),
        changed_at=lambda row: source_of(row).changed_at(row),
        lookup=lambda rows, raw: rows.with_ids([raw]).first(),
        with_ids=lambda rows, raws: rows.with_ids(raws),
        id_of=lambda row: source_of(row).id_of(row.pk),
        params=params,
        links=links,
        mandatory=mandatory,
        profiles=profiles,
        documentation=documentation,
    )
