"""A protocol cohort -> FHIR Group (R4; R4B identical here).

A Group is the patients treated under one of the clinic's protocols: everyone with a
signed plan under any version of it. A patient whose every plan under it has stopped
stays a member, marked ``inactive``, so a research export still finds the course. The
Group is named by the protocol's newest title and identified by the protocol's key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from katclinic.fhir.search import utc

PROTOCOL_SYSTEM = "urn:katclinic:protocol"


@dataclass(frozen=True)
class Member:
    patient_id: int
    since: datetime
    inactive: bool


def to_fhir_group(
    *, group_id: int, clinic_id: int, key: str, title: str, active: bool, members: Sequence[Member]
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Group",
        "id": str(group_id),
        "identifier": [{"system": PROTOCOL_SYSTEM, "value": key}],
        "active": active,
        "type": "person",
        "actual": True,
        "code": {"text": "Patients treated under this protocol"},
        "name": title,
        "quantity": len(members),
        "managingEntity": {"reference": f"Organization/{clinic_id}"},
    }
    if members:
        resource["member"] = [
            {
                "entity": {"reference": f"Patient/{member.patient_id}"},
                "period": {"start": utc(member.since)},
                "inactive": member.inactive,
            }
            for member in members
        ]
    return resource
