"""Practitioner (clinic staff) and Organization (the clinic) (R4; R4B identical here).

Only what a directory shows is served: a staff member's name and NPI, never their email,
sign-in or roles; the clinic's name, organization NPI, phone and address, never its tax id.
The clinic meets US Core Organization 6.1.0 and declares it: active, name, its NPI where
recorded, phone and address. The profile makes every part of an address optional and
asks for the parts a server has; the clinic's address is kept as text, so it is served as
text. A staff member does not meet US Core Practitioner 6.1.0 and does not declare it:
the profile requires ``name.family`` (1..1), and a staff member's name is kept whole, as
they typed it. Splitting it at a space would misname people whose family name comes first
or has several words, so the name is sent whole as ``name.text`` until staff accounts
record the family name on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from katclinic.accounts.models import User
    from katclinic.clinics.models import Clinic

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
US_CORE_ORGANIZATION = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"


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
        "meta": {"profile": [US_CORE_ORGANIZATION]},
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
