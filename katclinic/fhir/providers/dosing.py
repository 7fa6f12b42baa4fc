"""MedicationAdministration: doses given in dosing sessions, by patient, date, code and status."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.dosing.models import Administration
from katclinic.fhir.registry import ResourceType, date_param, register, token_param
from katclinic.fhir.resources.medication_administration import (
    KIND_SYSTEM,
    KINDS,
    PRODUCT_SYSTEM,
    product_code,
    to_fhir_medication_administration,
)


def _rows(clinic: Clinic) -> QuerySet[Administration]:
    # An administration reaches its patient through its session; the annotation puts the
    # patient on the row so compartment filters, $everything and audit read it directly.
    return (
        Administration.objects.filter(clinic=clinic)
        .annotate(patient_id=F("session__patient_id"))
        .select_related("given_by")
        .order_by("-started_at", "-pk")
    )


def _code(system: str | None, code: str) -> Q:
    """A product by its local code (the recorded product name, any case)."""
    if system not in (None, "", PRODUCT_SYSTEM):
        return Q(pk__in=[])  # no national drug codes are served: nothing matches
    return Q(product__iexact=product_code(code))


def _category(system: str | None, code: str) -> Q:
    if system not in (None, "", KIND_SYSTEM) or code not in KINDS:
        return Q(pk__in=[])
    return Q(is_adjunct=code == "adjunct")


def _status(system: str | None, code: str) -> Q:
    running = Q(rate_mg_per_h__isnull=False, ended_at__isnull=True)
    if code == "in-progress":
        return running
    if code == "completed":
        return ~running
    return Q(pk__in=[])


MEDICATION_ADMINISTRATION = register(
    ResourceType(
        name="MedicationAdministration",
        perm=Perm.VIEW_CLINICAL,
        rows=_rows,
        render=lambda row: to_fhir_medication_administration(row, row.patient_id),
        changed_at=lambda row: row.ended_at or row.started_at,
        mandatory=("status", "subject", "effective", "medication"),
        documentation="Doses given in dosing sessions, adjuncts included. The product is identified "
        "by its recorded name (local code and text) in a contained Medication with the lot; no "
        "RxNorm or SNOMED CT code is sent, because the codes for ketamine are not yet verified.",
        params=(
            date_param("effective-time", "started_at", "When the dose was started"),
            date_param("date", "started_at", "Same as effective-time"),
            token_param(
                "code",
                f"Product as recorded ({PRODUCT_SYSTEM}|Ketamine 10 mg/mL); no national drug codes",
                _code,
            ),
            token_param(
                "category",
                f"treatment (ketamine or esketamine) or adjunct ({KIND_SYSTEM})",
                _category,
            ),
            token_param("status", "completed, or in-progress for a running infusion", _status),
        ),
    )
)
