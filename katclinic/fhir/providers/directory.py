"""Practitioner (the clinic's staff) and Organization (the clinic itself).

Neither holds patient data, so any token of the clinic reads them, as it reads the
Questionnaires; staff of other clinics are not found.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.fhir.registry import ResourceType, SearchParam, register, token_param
from katclinic.fhir.resources.directory import (
    NPI_SYSTEM,
    STAFF_SYSTEM,
    US_CORE_ORGANIZATION,
    US_CORE_PRACTITIONER,
    to_fhir_organization,
    to_fhir_practitioner,
)


def _staff(clinic: Clinic) -> QuerySet[User]:
    memberships = StaffMembership.objects.filter(clinic=clinic, user=OuterRef("pk"))
    current = memberships.filter(is_active=True)
    return (
        User.objects.filter(Exists(memberships))
        .annotate(is_current=Exists(current) & Q(is_active=True))
        .order_by("full_name", "pk")
    )


def _npi(system: str | None, code: str) -> Q:
    if system not in (None, "", NPI_SYSTEM):
        return Q(pk__in=[])  # no other identifiers are served
    return Q(npi=code)


def _staff_identifier(system: str | None, code: str) -> Q:
    """An NPI (with or without its system), or the staff number with its own system."""
    if system != STAFF_SYSTEM:
        return _npi(system, code)
    # A staff number is an account id: digits only, short enough for the id column.
    return Q(pk=int(code)) if code.isdecimal() and len(code) <= 18 else Q(pk__in=[])


def _name(*field_names: str) -> SearchParam:
    def apply(rows: QuerySet[User], raw: str) -> QuerySet[User]:
        query = Q(pk__in=[])
        for value in raw.split(","):
            for field_name in field_names:
                query |= Q(**{f"{field_name}__icontains": value.strip()})
        return rows.filter(query)

    return SearchParam("name", "string", "Part of the name, any case", apply)


PRACTITIONER = register(
    ResourceType(
        name="Practitioner",
        perm=None,
        rows=_staff,
        render=to_fhir_practitioner,
        patient_field=None,
        profiles=(US_CORE_PRACTITIONER,),
        mandatory=("name", "identifier"),
        documentation="The clinic's staff: name, NPI where recorded and the clinic's staff "
        f"number ({STAFF_SYSTEM}). A staff member whose family name is recorded meets and "
        "declares US Core Practitioner (6.1.0); one without it is served with the whole name "
        "as text and does not declare the profile, since the whole name is never split at a "
        "guess. Staff are reached through the clinic: phone and address are the "
        "Organization's, not kept per person.",
        params=(
            token_param(
                "identifier",
                f"NPI ({NPI_SYSTEM}|1234567893) or staff number ({STAFF_SYSTEM}|12)",
                _staff_identifier,
            ),
            _name("full_name", "family_name"),
        ),
    )
)

ORGANIZATION = register(
    ResourceType(
        name="Organization",
        perm=None,
        rows=lambda clinic: Clinic.objects.filter(pk=clinic.pk),
        render=to_fhir_organization,
        patient_field=None,
        profiles=(US_CORE_ORGANIZATION,),
        mandatory=("name",),
        documentation="The clinic: name, organization NPI, phone and address (its tax id is "
        "not served); meets and declares US Core Organization (6.1.0), with the address as "
        "text, as the clinic keeps it.",
        params=(
            token_param("identifier", f"NPI ({NPI_SYSTEM}|1234567893)", _npi),
            _name("name"),
        ),
    )
)
