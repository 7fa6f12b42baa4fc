"""Patient: search by name, birthdate, identifier (the record number) and gender."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import (
    ResourceType,
    SearchParam,
    choice_token,
    date_param,
    register,
    token_param,
)
from katclinic.fhir.resources.patient import GENDERS, MRN_SYSTEM, to_fhir_patient
from katclinic.fhir.resources.patient_detail import US_CORE_PATIENT
from katclinic.fhir.search import SearchValueError
from katclinic.patients.models import Patient


def _rows(clinic: Clinic) -> QuerySet[Patient]:
    return Patient.objects.for_clinic(clinic).order_by("last_name", "first_name", "pk")


def _starts(*fields: str) -> Callable[[QuerySet[Patient], str], QuerySet[Patient]]:
    """FHIR string search: case-insensitive, matching the start of any of ``fields``."""

    def apply(rows: QuerySet[Patient], raw: str) -> QuerySet[Patient]:
        values = [value.strip() for value in raw.split(",")]
        return rows & Patient.objects.names_starting(fields, values)

    return apply


def _mrn(system: str | None, code: str) -> Q:
    if system not in (None, "", MRN_SYSTEM):
        raise SearchValueError(f"identifier system must be {MRN_SYSTEM}")
    return Q(mrn__iexact=code)


PATIENT = register(
    ResourceType(
        name="Patient",
        perm=Perm.VIEW_DEMOGRAPHICS,
        rows=_rows,
        render=to_fhir_patient,
        changed_at=lambda row: row.created_at,
        sorts=(("birthdate", "date_of_birth"), ("family", "last_name"), ("given", "first_name")),
        patient_field="pk",
        profiles=(US_CORE_PATIENT,),
        documentation="Meets and declares US Core Patient (6.1.0): the record number and "
        "other systems' identifiers, official and usual names, gender and birth sex (the "
        "record keeps sex at birth), birth date, phone, email, address (by part when an "
        "import gave the parts), preferred language, and race and ethnicity when an import "
        "gave them. An import keeps each of these or refuses the element it cannot keep.",
        params=(
            SearchParam(
                "name",
                "string",
                "Start of the family, given or preferred name",
                _starts("last_name", "first_name", "preferred_name"),
            ),
            SearchParam("family", "string", "Start of the family name", _starts("last_name")),
            SearchParam("given", "string", "Start of the given name", _starts("first_name")),
            date_param("birthdate", "date_of_birth", "Date of birth", as_dates=True),
            token_param("identifier", f"Record number ({MRN_SYSTEM}|K000123)", _mrn),
            choice_token("gender", "Sex at birth", "sex_at_birth", {g: [g] for g in GENDERS}),
        ),
    )
)
