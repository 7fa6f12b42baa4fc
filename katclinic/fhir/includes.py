"""``_include`` and ``_revinclude``: the resources a search page refers to, or that refer to it.

``Observation?_include=Observation:patient`` adds each matched Observation's Patient;
``Patient?_revinclude=Observation:patient`` adds the Observations of each matched Patient.
The references followed are the registry's links (``ResourceType.all_links``). Included
rows are read as a search of their own type would read them: the clinic's rows only, the
caller's permission and SMART scopes for that type, a patient token's own compartment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, QueryDict

from katclinic.fhir.access import readable_rows
from katclinic.fhir.outcome import FhirError, Issue
from katclinic.fhir.registry import REGISTRY, Link, ResourceType, rows_with_ids

PARAMS = ("_include", "_revinclude")


@dataclass(frozen=True)
class Include:
    value: str  # as the client wrote it, for the audit trail
    source: ResourceType  # the type holding the reference
    link: Link
    reverse: bool

    @property
    def found(self) -> ResourceType:
        """The type of the resources this include adds."""
        return self.source if self.reverse else REGISTRY[self.link.target]


def choices(resource_type: ResourceType) -> tuple[list[str], list[str]]:
    """What ``_include`` and ``_revinclude`` accept on this type."""
    forward = [f"{resource_type.name}:{link.name}" for link in resource_type.all_links()]
    reverse = [
        f"{source.name}:{link.name}"
        for source in REGISTRY.values()
        for link in source.all_links()
        if link.target == resource_type.name
    ]
    return forward, reverse


def _parse(resource_type: ResourceType, value: str, reverse: bool) -> Include | None:
    source_name, _, rest = value.partition(":")
    name, _, target = rest.partition(":")
    source = REGISTRY.get(source_name)
    if source is None or (not reverse and source is not resource_type):
        return None
    link = source.link(name)
    if link is None or target not in ("", link.target):
        return None
    if reverse and link.target != resource_type.name:
        return None
    return Include(value, source, link, reverse)


def parse_includes(resource_type: ResourceType, query: QueryDict) -> list[Include]:
    """Each include the query asks for; an unknown one is a 400 naming it."""
    found, issues = [], []
    forward, reverse = choices(resource_type)
    for param, accepted in zip(PARAMS, (forward, reverse), strict=True):
        for value in query.getlist(param):
            include = _parse(resource_type, value, param == "_revinclude")
            if include is not None:
                found.append(include)
                continue
            known = ", ".join(accepted) or "nothing"
            issues.append(
                Issue(
                    f"unknown {param} {value}; {resource_type.name} accepts {known}",
                    param,
                    "not-supported",
                )
            )
    if issues:
        raise FhirError(400, issues)
    return found


def included_rows(
    request: HttpRequest, resource_type: ResourceType, page: Sequence[Any], include: Include
) -> list[Any]:
    """The rows ``include`` adds to ``page`` (rows of ``resource_type``)."""
    if not page:
        return []
    keys = [row.pk for row in page]
    named = {p for p in (resource_type.patient_of(row) for row in page) if p is not None}
    found = include.found
    if include.reverse:
        rows = readable_rows(request, found, named)
        return list(rows.filter(**{f"{include.link.field}__in": keys}))
    clinic = request.clinic  # type: ignore[attr-defined]
    same = rows_with_ids(
        resource_type, resource_type.rows(clinic), [resource_type.id_of(row) for row in page]
    )
    targets = set(
        same.exclude(**{include.link.field: None}).values_list(include.link.field, flat=True)
    )
    if found.name == "Patient":
        named = set(targets)
    return list(readable_rows(request, found, named).filter(pk__in=sorted(targets)))
