"""The resource types the facade serves, each registered once with its search parameters.

A registration joins a pure mapping (``resources/<type>.py``) to the rows it reads: which
permission a staff token needs, how the clinic's rows are fetched, which field links a
row to its patient (the Patient compartment), and how each search parameter filters.
The URLconf, the CapabilityStatement and ``$everything`` are all built from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.search import DateRange, SearchValueError, parse_date, parse_token
from katclinic.lib.parse import BadParameter, parse_id

ParamType = Literal["string", "token", "date", "reference", "uri"]
Rows = Any  # a QuerySet for stored types; a list for Questionnaire


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: ParamType
    documentation: str
    # (rows, raw value) -> filtered rows; raises SearchValueError for a value it cannot read.
    apply: Callable[[Rows, str], Rows]
    # The field _sort orders by when it names this parameter (None: not sortable).
    sort_field: str | None = None


@dataclass(frozen=True)
class Link:
    """A reference a type's rows hold, for ``_include`` and ``_revinclude``."""

    # The search parameter naming it (``Claim:patient``), the type it points at, and the
    # rows' field holding the target's id.
    name: str
    target: str
    field: str


@dataclass(frozen=True)
class ResourceType:
    name: str
    # What a staff token needs to read it; None for definitions that hold no patient data.
    perm: Perm | None
    rows: Callable[[Clinic], Rows]
    render: Callable[[Any], dict[str, Any]]
    params: tuple[SearchParam, ...] = ()
    # The field linking a row to its patient; None when the type is outside the compartment.
    patient_field: str | None = "patient_id"
    lookup: Callable[[Rows, str], Any] = field(default=lambda rows, raw: by_pk(rows, raw))
    # What a client should know about the type, shown in the CapabilityStatement.
    documentation: str = ""
    # When the row itself says it last changed (None when it has no such time).
    changed_at: Callable[[Any], datetime | None] = field(default=lambda row: None)
    # Sort names beyond _id and the date parameters: name -> the rows' field.
    sorts: tuple[tuple[str, str], ...] = ()
    # Elements always kept by _elements (the type's mandatory ones; a prefix for choices).
    mandatory: tuple[str, ...] = ()
    # References beyond patient and subject that _include and _revinclude follow.
    links: tuple[Link, ...] = ()
    # Patients a row names though it is no one's record (a Group's members), so that a
    # read of it is audited as a read about them.
    names_patients: Callable[[Any], list[int]] | None = None
    # The profiles its resources declare in meta.profile (each where it meets them).
    profiles: tuple[str, ...] = ()
    # The rows with the given resource ids (by default an id is the row's number).
    with_ids: Callable[[Rows, list[str]], Rows] | None = None
    # A row's resource id, for the audit trail.
    id_of: Callable[[Any], str] = field(default=lambda row: str(row.pk))

    @property
    def slug(self) -> str:
        return self.name.lower()

    def param(self, name: str) -> SearchParam | None:
        return next((p for p in self.all_params() if p.name == name), None)

    def all_params(self) -> tuple[SearchParam, ...]:
        """``_id`` and, for compartment types, ``patient``, then the type's own parameters."""
        common = [
            SearchParam(
                "_id",
                "token",
                "Logical id",
                lambda rows, raw: rows_with_ids(self, rows, raw.split(",")),
            )
        ]
        link = self.patient_field
        if link and self.name != "Patient":
            common += [
                SearchParam(
                    name,
                    "reference",
                    f"The patient (Patient/123 or 123){note}",
                    lambda rows, raw: rows.filter(**{link: patient_ref(raw)}),
                )
                for name, note in (("patient", ""), ("subject", "; same as patient"))
            ]
        return (*common, *self.params)

    def all_links(self) -> tuple[Link, ...]:
        """``patient`` and ``subject`` for compartment types, then the type's own links."""
        link = self.patient_field
        common: tuple[Link, ...] = ()
        if link and self.name != "Patient":
            common = (Link("patient", "Patient", link), Link("subject", "Patient", link))
        return (*common, *self.links)

    def link(self, name: str) -> Link | None:
        return next((item for item in self.all_links() if item.name == name), None)

    def sort_fields(self) -> dict[str, str]:
        """What ``_sort`` accepts for this type: a name -> the field it orders by."""
        fields = {"_id": "pk", **dict(self.sorts)}
        fields |= {p.name: p.sort_field for p in self.params if p.sort_field}
        return fields

    def patient_of(self, row: object) -> int | None:
        return getattr(row, self.patient_field) if self.patient_field else None


REGISTRY: dict[str, ResourceType] = {}


def register(resource_type: ResourceType) -> ResourceType:
    REGISTRY[resource_type.name] = resource_type
    return resource_type


def by_pk[M: Model](rows: QuerySet[M], raw: str) -> M | None:
    return rows.filter(pk=number).first() if (number := _record_number(raw)) else None


def _record_number(raw: str) -> int | None:
    """The record number written in `raw`, or None if it is not one (a resource is not found)."""
    try:
        return parse_id(raw, "id")
    except BadParameter:
        return None


def rows_with_ids(resource_type: ResourceType, rows: Rows, raws: list[str]) -> Rows:
    """The rows among ``rows`` whose resource ids are in ``raws`` (an unknown id: none)."""
    if resource_type.with_ids is not None:
        return resource_type.with_ids(rows, raws)
    if isinstance(rows, list):
        return [row for row in rows if resource_type.render(row)["id"] in raws]
    ids = [number for part in raws if (number := _record_number(part))]
    return rows.filter(pk__in=ids)


def patient_ref(raw: str) -> int:
    """``Patient/123`` or ``123`` -> 123."""
    return reference_number(raw, "Patient")


def reference_number(raw: str, type_name: str) -> int:
    """``<type_name>/123`` or ``123`` -> 123; anything else is a SearchValueError."""
    number = _record_number(raw.removeprefix(f"{type_name}/"))
    if number is None:
        raise SearchValueError(f"{raw!r} is not a {type_name} reference such as {type_name}/123")
    return number


def _range_q(name: str, when: DateRange, as_dates: bool) -> Q:
    start: datetime | date = when.start.date() if as_dates else when.start
    end: datetime | date = when.end.date() if as_dates else when.end
    inside = Q(**{f"{name}__gte": start, f"{name}__lt": end})
    return {
        "eq": inside,
        "ne": ~inside,
        "lt": Q(**{f"{name}__lt": start}),
        "le": Q(**{f"{name}__lt": end}),
        "gt": Q(**{f"{name}__gte": end}),
        "ge": Q(**{f"{name}__gte": start}),
    }[when.prefix]


def date_param(
    name: str, field_name: str, documentation: str, as_dates: bool = False
) -> SearchParam:
    """A date parameter over a DateTimeField (or a DateField with ``as_dates``)."""

    def apply[M: Model](rows: QuerySet[M], raw: str) -> QuerySet[M]:
        return rows.filter(
            _range_q(field_name, parse_date(raw, timezone.get_current_timezone()), as_dates)
        )

    return SearchParam(name, "date", documentation, apply, sort_field=field_name)


def token_param(
    name: str, documentation: str, codes: Callable[[str | None, str], Q]
) -> SearchParam:
    """A token parameter; ``codes(system, code)`` gives the filter for one value (values OR)."""
    return SearchParam(name, "token", documentation, token_filter(codes))


def token_filter(
    codes: Callable[[str | None, str], Q],
) -> Callable[[QuerySet[Model], str], QuerySet[Model]]:
    """The rows matching any of a token search's comma-separated values."""

    def apply[M: Model](rows: QuerySet[M], raw: str) -> QuerySet[M]:
        query = Q(pk__in=[])
        for part in raw.split(","):
            system, code = parse_token(part)
            query |= codes(system, code)
        return rows.filter(query)

    return apply


def choice_token(
    name: str, documentation: str, field_name: str, mapping: dict[str, list[str]]
) -> SearchParam:
    """A token over a choice column: ``mapping`` turns each FHIR code into stored values."""

    def codes(system: str | None, code: str) -> Q:
        # A code this server does not use matches nothing: an empty page, not an error.
        return Q(**{f"{field_name}__in": mapping.get(code, [])})

    return token_param(name, documentation, codes)
