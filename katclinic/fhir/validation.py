"""Structural validation of incoming resources.

A Patient is checked by the ``fhir.resources`` R4B Patient model alone, which names each
failing element. A QuestionnaireResponse is first checked against the project's strict
pydantic model of the subset of FHIR R4 the facade imports (compiled once per process;
every rule is at least as strict as the FHIR datatype it stands for, so what it accepts
is valid FHIR); when that refuses, the R4B model decides and names each failing element,
so a valid response that merely uses more of FHIR is still accepted.

The fast subset stays only for responses: for Patients the library model costs about a
tenth of a millisecond more per resource, a few per cent of a bulk import's CPU time.

R4B is wire-compatible with R4 for every resource type the facade accepts, so an R4
client's resources validate unchanged. Errors come back as issues whose expression is
the FHIRPath of the failing element (``Patient.name[0].family``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal

from fhir.resources.R4B import get_fhir_model_class
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from katclinic.fhir.outcome import Issue

# FHIR R4 primitive datatypes (https://hl7.org/fhir/R4/datatypes.html), as strict strings.
String = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=1_048_576, pattern=r"^[ \r\n\t\S]+$"),
]
Code = Annotated[str, StringConstraints(strict=True, pattern=r"^[^\s]+( [^\s]+)*$")]
Uri = Annotated[str, StringConstraints(strict=True, min_length=1, pattern=r"^\S*$")]


def _calendar_day(value: str) -> str:
    """A full date (or the date part of a dateTime) must exist in the calendar."""
    if len(value) >= 10:
        date.fromisoformat(value[:10])  # ValueError -> a validation error
    return value


DateTime = Annotated[
    str,
    AfterValidator(_calendar_day),
    StringConstraints(
        strict=True,
        pattern=r"^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$",
    ),
]
Integer = Annotated[int, Field(strict=True, ge=-2_147_483_648, le=2_147_483_647)]
Id = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9\-.]{1,64}$")]


class _Element(BaseModel):
    """Unknown elements are refused here (the library model then judges them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Valued(_Element):
    """An element with a choice of value[x]: FHIR allows at most one of them."""

    @model_validator(mode="after")
    def _one_value(self) -> _Valued:
        if sum(1 for name in self.__pydantic_fields_set__ if name.startswith("value")) > 1:
            raise ValueError("only one value[x] is allowed")
        return self


type NonEmpty[T] = Annotated[list[T], Field(min_length=1)]  # FHIR has no empty arrays


class Coding(_Element):
    system: Uri | None = None
    version: String | None = None
    code: Code | None = None
    display: String | None = None
    userSelected: StrictBool | None = None


class CodeableConcept(_Element):
    coding: NonEmpty[Coding] | None = None
    text: String | None = None


class Period(_Element):
    start: DateTime | None = None
    end: DateTime | None = None


class Extension(_Valued):
    url: Uri
    valueCode: Code | None = None
    valueString: String | None = None
    valueBoolean: StrictBool | None = None
    valueInteger: Integer | None = None
    valueCodeableConcept: CodeableConcept | None = None
    extension: NonEmpty[Extension] | None = None


class Identifier(_Element):
    use: Literal["usual", "official", "temp", "secondary", "old"] | None = None
    type: CodeableConcept | None = None
    system: Uri | None = None
    value: String | None = None
    period: Period | None = None


class Meta(_Element):
    versionId: Id | None = None
    lastUpdated: DateTime | None = None
    source: Uri | None = None
    profile: NonEmpty[Uri] | None = None


class Reference(_Element):
    reference: String | None = None
    type: Uri | None = None
    identifier: Identifier | None = None
    display: String | None = None


class Answer(_Valued):
    valueBoolean: StrictBool | None = None
    valueInteger: Integer | None = None
    valueCoding: Coding | None = None
    valueString: String | None = None


class ResponseItem(_Element):
    linkId: String
    definition: Uri | None = None
    text: String | None = None
    answer: NonEmpty[Answer] | None = None
    item: NonEmpty[ResponseItem] | None = None


class QuestionnaireResponse(_Element):
    resourceType: Literal["QuestionnaireResponse"]
    id: Id | None = None
    meta: Meta | None = None
    extension: NonEmpty[Extension] | None = None
    questionnaire: Uri | None = None
    status: Literal["in-progress", "completed", "amended", "entered-in-error", "stopped"]
    subject: Reference | None = None
    authored: DateTime | None = None
    author: Reference | None = None
    source: Reference | None = None
    item: NonEmpty[ResponseItem] | None = None


_FAST: dict[str, TypeAdapter[Any]] = {
    "QuestionnaireResponse": TypeAdapter(QuestionnaireResponse),
}


def accepted(resource: Mapping[str, Any], resource_type: str) -> bool:
    """True when the project's strict model of ``resource_type`` accepts ``resource``."""
    adapter = _FAST.get(resource_type)
    if adapter is None:
        return False
    try:
        adapter.validate_python(resource)
    except ValidationError:
        return False
    return True


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


def structure_issues(resource: Mapping[str, Any], resource_type: str) -> list[Issue]:
    """Every structural problem in ``resource``: the fast model first where there is one, the
    library model to decide and explain."""
    if accepted(resource, resource_type):
        return []
    return library_issues(resource, resource_type)
