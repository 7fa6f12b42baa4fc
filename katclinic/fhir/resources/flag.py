"""SafetyAlert -> FHIR Flag (R4; identical in R4B here).

An alert not yet closed is an ``active`` Flag (open or acknowledged), a closed one
``inactive``; the period runs from raising to closing. Category ``safety``; the code
names the alert kind in a local system, with the alert's reason as its text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.measures.models import SafetyAlert

ALERT_KIND_SYSTEM = "urn:katclinic:safety-alert-kind"
SAFETY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/flag-category",
            "code": "safety",
            "display": "Safety",
        }
    ]
}


def to_fhir_flag(alert: SafetyAlert) -> dict[str, Any]:
    period = {"start": utc(alert.raised_at)}
    if alert.closed_at is not None:
        period["end"] = utc(alert.closed_at)
    return {
        "resourceType": "Flag",
        "id": str(alert.pk),
        "status": "inactive" if alert.state == "closed" else "active",
        "category": [SAFETY],
        "code": {
            "coding": [
                {
                    "system": ALERT_KIND_SYSTEM,
                    "code": alert.kind,
                    "display": alert.get_kind_display(),
                }
            ],
            "text": alert.reason,
        },
        "subject": {"reference": f"Patient/{alert.patient_id}"},
        "period": period,
    }
