"""Structural validation of incoming resources with the ``fhir.resources`` R4B models.

R4B is wire-compatible with R4 for every resource type the facade accepts, so an R4
client's resources validate unchanged. Errors come back as issues whose expression is
the FHIRPath of the failing element (``Patient.name[0].family``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from katclinic.fhir.outcome import Issue


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def fhir_path(resource_type: str, location: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a FHIRPath such as ``Patient.name[0].given``."""
    path = resource_type
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def library_issues(resource: Mapping[str, Any], resource_type: str) -> list[Issue]:
    """Every structural problem the R4B model finds in ``resource`` (empty when valid)."""
    try:
        _model(resource_type).model_validate(resource)
    except ValidationError as error:
        return [
            Issue(
                str(item.get("msg", "is invalid")).removeprefix("Value error, "),
                fhir_path(resource_type, tuple(item.get("loc", ()))),
                "structure",
            )
            for item in error.errors()
        ]
    return []
