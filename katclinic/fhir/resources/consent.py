"""ConsentSignature -> FHIR Consent (R4; identical in R4B for these elements).

A signature is an ``active`` Consent until withdrawn (then ``inactive``, with the
provision period ending at the withdrawal). Research consent has scope ``research``,
the others ``treatment``. The signed document version is the policy, named in a local
URN, since the document text stays inside KAT Clinic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.intake.models import ConsentSignature

SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
SERIES_SYSTEM = "urn:katclinic:consent-series"


def to_fhir_consent(signature: ConsentSignature) -> dict[str, Any]:
    document = signature.document
    withdrawal = getattr(signature, "withdrawal", None)
    scope = "research" if document.scope == "research" else "treatment"
    period = {"start": utc(signature.signed_at)}
    if withdrawal is not None:
        period["end"] = utc(withdrawal.withdrawn_at)
    return {
        "resourceType": "Consent",
        "id": str(signature.pk),
        "status": "inactive" if withdrawal is not None else "active",
        "scope": {"coding": [{"system": SCOPE_SYSTEM, "code": scope}]},
        "category": [
            {"coding": [{"system": SERIES_SYSTEM, "code": document.series}], "text": document.title}
        ],
        "patient": {"reference": f"Patient/{signature.patient_id}"},
        "dateTime": utc(signature.signed_at),
        "policy": [{"uri": f"urn:katclinic:consent:{document.series}:v{document.version}"}],
        "provision": {"type": "permit", "period": period},
    }
