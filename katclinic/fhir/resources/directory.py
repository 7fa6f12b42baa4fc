"""Practitioner (clinic staff) and Organization (the clinic) (R4; R4B identical here).

Only what a directory shows is served: a staff member's name, NPI and staff number, never
their email, sign-in or roles; the clinic's name, organization NPI, phone and address, never
its tax id. The clinic meets US Core Organization 6.1.0 and declares it: active, name, its
NPI where recorded, phone and address. The profile makes every part of an address optional
and asks for the parts a server has; the clinic's address is kept as text, so it is served as
text.

US Core Practitioner 6.1.0 asks for at least one identifier (system and value) and a name
whose ``family`` is present. Every staff member has the clinic's own staff identifier, and
their NPI where recorded. A staff member's name is kept whole, as they typed it, and the
family name is recorded on its own when they or an administrator give it; it is never cut
out of the whole name at a guess, since a name's family part may come first or have several
words. So a staff member with a family name declares the profile, one without does not and
is served with the whole name as ``name.text``. The given part is what comes before the
family name when the whole name ends with it, and is left out otherwise (a name that ends in
a credential, say). Telecom and address are must-support but not kept for staff: a
practitioner is reached through the clinic (the Organization), so they are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from katclinic.accounts.models import User
    from katclinic.clinics.models import Clinic

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
US_CORE_ORGANIZATION = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"
US_CORE_PRACTITIONER = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner"
# The clinic's own number for a staff member: their account's id, the same in every clinic.
STAFF_SYSTEM = "urn:katclinic:staff"


def human_name(full_name: str, family_name: str) -> dict[str, Any]:
    """A HumanName from the whole name and, where recorded, the family name on its own."""
    full_name, family_name = full_name.strip(), family_name.strip()
    name: dict[str, Any] = {"text": full_name} if full_name else {}
    if family_name:
        name["family"] = family_name
        before = full_name.removesuffix(family_name)
        # Only a whole last word counts: "Lindberg" does not end with the family name "berg".
        ends_with_it = before != full_name and (not before or before[-1] in " ,")
        given = before.strip(" ,") if ends_with_it else ""
        if given:
            name["given"] = [given]
    return name


def to_fhir_practitioner(user: User) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Practitioner", "id": str(user.pk)}
    if user.family_name.strip():
        resource["meta"] = {"profile": [US_CORE_PRACTITIONER]}
    identifiers = [{"system": NPI_SYSTEM, "value": user.npi}] if user.npi else []
    resource["identifier"] = [*identifiers, {"system": STAFF_SYSTEM, "value": str(user.pk)}]
    resource["active"] = bool(getattr(user, "is_current", user.is_active))
    resource["name"] = [human_name(user.full_name, user.family_name)]
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
