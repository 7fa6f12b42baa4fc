"""Consent: signed consent documents, searchable by patient, date (signed) and status."""

from __future__ import annotations

from django.db.models import Q

from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import ResourceType, date_param, register, token_param
from katclinic.fhir.resources.consent import to_fhir_consent
from katclinic.intake.models import ConsentSignature


def _status(system: str | None, code: str) -> Q:
    if code not in ("active", "inactive"):
        return Q(pk__in=[])
    return Q(withdrawal__isnull=code == "active")


CONSENT = register(
    ResourceType(
        name="Consent",
        # Front desk issues consent documents, so reading them needs demographics access.
        perm=Perm.VIEW_DEMOGRAPHICS,
        rows=lambda clinic: (
            ConsentSignature.objects.filter(clinic=clinic)
            .select_related("document", "withdrawal")
            .order_by("-signed_at", "-pk")
        ),
        render=to_fhir_consent,
        changed_at=lambda row: (
            row.withdrawal.withdrawn_at if getattr(row, "withdrawal", None) else row.signed_at
        ),
        mandatory=("status", "scope", "category"),
        params=(
            date_param("date", "signed_at", "When the consent was signed"),
            token_param("status", "active, or inactive once withdrawn", _status),
        ),
    )
)
