"""Condition, AllergyIntolerance and MedicationStatement from the patient chart's records."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import Link, ResourceType, date_param, register, token_param
from katclinic.fhir.resources.charge_item import ICD10CM
from katclinic.fhir.resources.chart import (
    CONDITION_CATEGORY,
    US_CORE_ALLERGY_INTOLERANCE,
    US_CORE_CONDITION,
    to_fhir_allergy_intolerance,
    to_fhir_condition,
    to_fhir_medication_statement,
)
from katclinic.patients.models import Allergy, Diagnosis, Medication

RECORDER = (Link("recorder", "Practitioner", "recorded_by_id"),)


def _icd10(system: str | None, code: str) -> Q:
    if system not in (None, "", ICD10CM):
        return Q(pk__in=[])  # only ICD-10-CM codes are recorded: nothing else matches
    return Q(icd10_code__iexact=code)


def _problem(system: str | None, code: str) -> Q:
    ok = system in (None, "", CONDITION_CATEGORY) and code == "problem-list-item"
    return Q(pk__isnull=False) if ok else Q(pk__in=[])


def _is_active(active: str, inactive: str) -> Callable[[str | None, str], Q]:
    def codes(system: str | None, code: str) -> Q:
        if code not in (active, inactive):
            return Q(pk__in=[])
        return Q(is_active=code == active)

    return codes


CONDITION = register(
    ResourceType(
        name="Condition",
        perm=Perm.VIEW_CLINICAL,
        rows=lambda clinic: Diagnosis.objects.filter(clinic=clinic).order_by("-recorded_at", "-pk"),
        render=to_fhir_condition,
        changed_at=lambda row: row.recorded_at,
        mandatory=("code", "subject", "category", "clinicalStatus"),
        profiles=(US_CORE_CONDITION,),
        links=RECORDER,
        documentation="Diagnoses (ICD-10-CM) as active problem-list conditions; each meets and "
        "declares US Core Condition Problems and Health Concerns (6.1.0).",
        params=(
            token_param("code", f"ICD-10-CM code ({ICD10CM}|F33.2)", _icd10),
            token_param("category", "Always problem-list-item", _problem),
            token_param(
                "clinical-status",
                "Always active",
                lambda s, c: Q(pk__isnull=False) if c == "active" else Q(pk__in=[]),
            ),
            date_param("onset-date", "onset", "When the condition began", as_dates=True),
            date_param("recorded-date", "recorded_at", "When the diagnosis was recorded"),
        ),
    )
)

ALLERGY_INTOLERANCE = register(
    ResourceType(
        name="AllergyIntolerance",
        perm=Perm.VIEW_CLINICAL,
        rows=lambda clinic: Allergy.objects.filter(clinic=clinic).order_by("-recorded_at", "-pk"),
        render=to_fhir_allergy_intolerance,
        changed_at=lambda row: row.recorded_at,
        mandatory=("patient", "code", "clinicalStatus"),
        profiles=(US_CORE_ALLERGY_INTOLERANCE,),
        links=RECORDER,
        documentation="Allergies as recorded: the substance and reaction as text (no coded "
        "substance), with clinical status active or inactive; each meets and declares US Core "
        "AllergyIntolerance (6.1.0), whose extensible code and manifestation bindings allow "
        "text alone when only text is recorded. No verification status is recorded, so none "
        "is sent.",
        params=(
            token_param("clinical-status", "active or inactive", _is_active("active", "inactive")),
            date_param("date", "recorded_at", "When the allergy was recorded"),
        ),
    )
)

MEDICATION_STATEMENT = register(
    ResourceType(
        name="MedicationStatement",
        perm=Perm.VIEW_CLINICAL,
        rows=lambda clinic: Medication.objects.filter(clinic=clinic).order_by(
            "-recorded_at", "-pk"
        ),
        render=to_fhir_medication_statement,
        changed_at=lambda row: row.recorded_at,
        mandatory=("status", "medication", "subject"),
        links=(Link("source", "Practitioner", "recorded_by_id"),),
        documentation="Medications the patient takes or took, by name as recorded (no RxNorm "
        "code); status active or stopped. US Core 6.1.0 has no MedicationStatement profile.",
        params=(
            token_param("status", "active or stopped", _is_active("active", "stopped")),
            date_param("effective", "started_on", "When the medication was started", as_dates=True),
        ),
    )
)
