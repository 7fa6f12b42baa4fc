"""Coverage, Claim and ExplanationOfBenefit from the insurance app's records."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import (
    Link,
    ResourceType,
    SearchParam,
    choice_token,
    date_param,
    patient_ref,
    register,
    token_param,
)
from katclinic.fhir.resources.insurance import (
    CLAIM_STATUS,
    to_fhir_claim,
    to_fhir_coverage,
    to_fhir_explanation_of_benefit,
)
from katclinic.fhir.search import SearchValueError
from katclinic.insurance.models import Claim, ClaimStatus, Coverage, RemittanceClaim
from katclinic.lib.parse import BadParameter, parse_id


def _only_active(system: str | None, code: str) -> Q:
    return Q(pk__isnull=False) if code == "active" else Q(pk__in=[])


def _reference(kind: str, field_name: str) -> SearchParam:
    """A reference parameter: ``Kind/123`` or ``123`` matched against ``field_name``."""

    def apply(rows: QuerySet[Claim], raw: str) -> QuerySet[Claim]:
        ids = []
        for part in raw.split(","):
            try:
                ids.append(parse_id(part.removeprefix(f"{kind}/"), kind.lower()))
            except BadParameter as error:
                raise SearchValueError(f"{part!r} is not a reference such as {kind}/123") from error
        return rows.filter(**{f"{field_name}__in": ids})

    return SearchParam(kind.lower(), "reference", f"The {kind} ({kind}/123 or 123)", apply)


def _beneficiary(rows: QuerySet[Coverage], raw: str) -> QuerySet[Coverage]:
    return rows.filter(patient_id__in=[patient_ref(part) for part in raw.split(",")])


COVERAGE = register(
    ResourceType(
        name="Coverage",
        # The front desk records coverage; the roles that may do so read it.
        perm=Perm.MANAGE_COVERAGE,
        rows=lambda clinic: Coverage.objects.for_clinic(clinic).order_by(
            "priority", "-valid_from", "pk"
        ),
        render=to_fhir_coverage,
        changed_at=lambda row: row.updated_at,
        mandatory=("status", "beneficiary", "payor"),
        links=(Link("beneficiary", "Patient", "patient_id"),),
        documentation="Insurance recorded for the patient; the payer is named by its payer id "
        "(payers are not served as Organizations), so the US Core Coverage profile, which "
        "needs a payer Organization, is not declared.",
        params=(
            SearchParam(
                "beneficiary", "reference", "The patient covered; same as patient", _beneficiary
            ),
            token_param("status", "Always active", _only_active),
        ),
    )
)


def _claims(clinic: Clinic) -> QuerySet[Claim]:
    return (
        Claim.objects.for_clinic(clinic)
        .select_related("coverage", "charge")
        .prefetch_related("lines")
        .order_by("-created_at", "-pk")
    )


_CLAIM_STATES: dict[str, list[str]] = {"draft": [], "active": []}
for _state in ClaimStatus.values:
    _CLAIM_STATES[CLAIM_STATUS.get(_state, "active")].append(_state)

CLAIM = register(
    ResourceType(
        name="Claim",
        perm=Perm.MANAGE_CLAIMS,
        rows=_claims,
        render=to_fhir_claim,
        changed_at=lambda row: row.created_at,
        mandatory=("status", "type", "use", "patient", "created", "provider", "priority"),
        links=(
            Link("coverage", "Coverage", "coverage_id"),
            Link("provider", "Organization", "clinic_id"),
            Link("care-team", "Practitioner", "charge__rendering_clinician_id"),
        ),
        documentation="Professional claims built from posted charges: draft until sent, then "
        "active. Item codes are HCPCS or CPT, diagnoses ICD-10-CM, amounts in the claim's "
        "currency.",
        params=(
            choice_token("status", "draft (not yet sent) or active", "status", _CLAIM_STATES),
            date_param("created", "created_at", "When the claim was built"),
            token_param(
                "use",
                "Always claim",
                lambda s, c: Q(pk__isnull=False) if c == "claim" else Q(pk__in=[]),
            ),
        ),
    )
)


def _answers(clinic: Clinic) -> QuerySet[RemittanceClaim]:
    return (
        RemittanceClaim.objects.filter(clinic=clinic, claim__isnull=False)
        .annotate(patient_id=F("claim__patient_id"), created=F("remittance__imported_at"))
        .select_related("claim__coverage", "remittance")
        .prefetch_related("lines__adjustments", "lines__claim_line")
        .order_by("-remittance__imported_at", "-pk")
    )


EXPLANATION_OF_BENEFIT = register(
    ResourceType(
        name="ExplanationOfBenefit",
        perm=Perm.MANAGE_CLAIMS,
        rows=_answers,
        render=to_fhir_explanation_of_benefit,
        changed_at=lambda row: row.remittance.imported_at,
        mandatory=("status", "type", "use", "patient", "created", "insurer", "provider", "outcome"),
        links=(
            Link("claim", "Claim", "claim_id"),
            Link("coverage", "Coverage", "claim__coverage_id"),
            Link("provider", "Organization", "clinic_id"),
        ),
        documentation="The payer's answer to one of our claims, from an imported 835 "
        "remittance: per line the amount submitted, the eligible amount, the patient's share "
        "(copay, deductible, or other patient responsibility) and the payer's benefit.",
        params=(
            token_param("status", "Always active", _only_active),
            date_param("created", "remittance__imported_at", "When the remittance was imported"),
            _reference("Claim", "claim_id"),
        ),
    )
)
