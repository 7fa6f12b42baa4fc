"""Practitioner (clinic staff) and Organization (the clinic) (R4; R4B identical here).

Only what a directory shows is served: a staff member's name and NPI, never their email,
sign-in or roles; the clinic's name, organization NPI, phone and address, never its tax id.
Neither declares a US Core profile: US Core 6.1.0 Practitioner needs a family name, and a
staff member's name is kept whole; US Core Organization needs a structured address, and the
clinic's address is kept as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from katclinic.accounts.models import User
    from katclinic.clinics.models import Clinic

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


def to_fhir_practitioner(user: User) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(user.pk),
        "active": bool(getattr(user, "is_current", user.is_active)),
        "name": [{"text": user.full_name}],
    }
    if user.npi:
        resource["identifier"] = [{"system": NPI_SYSTEM, "value": user.npi}]
    return resource


def to_fhir_organization(clinic: Clinic) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": str(clinic.pk),
        "active": True,
        "type": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }
                ]
            }
        ],
        "name": clinic.name,
    }
    if clinic.npi:
        resource["identifier"] = [{"system": NPI_SYSTEM, "value": clinic.npi}]
    if clinic.phone:
        resource["telecom"] = [{"system": "phone", "value": clinic.phone}]
    if clinic.address.strip():
        resource["address"] = [{"text": clinic.address.strip()}]
    return resource
