"""Setting up a new install: the organization, its first clinic and its first administrator.

The command `manage.py setup_clinic` and the first-run page both call `set_up_clinic`.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, Organization, OrganizationAdmin, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.clinics.staff import check_name
from katclinic.lib.npi import npi_is_valid


class SetupRefused(Exception):
    """The install already has an organization, so first-run setup does not apply."""


@dataclass(frozen=True)
class SetupDetails:
    organization: str
    clinic: str
    timezone: str
    admin_email: str
    admin_name: str
    admin_password: str
    admin_family_name: str = ""
    address: str = ""
    phone: str = ""
    npi: str = ""
    tax_id: str = ""
    crisis_resources: str = ""


def setup_needed() -> bool:
    """True while the install has no organization yet."""
    return not Organization.objects.exists()


def validate_details(details: SetupDetails) -> dict[str, str]:
    """Problems with the details, by field name; empty when they can be used."""
    errors: dict[str, str] = {}
    for field in ("organization", "clinic", "admin_name"):
        if not getattr(details, field).strip():
            errors[field] = "This is required."
    names = check_name(full_name=details.admin_name, family_name=details.admin_family_name)
    if "family_name" in names:
        errors["admin_family_name"] = names["family_name"]
    if "full_name" in names:
        errors.setdefault("admin_name", names["full_name"])
    if details.timezone not in zoneinfo.available_timezones():
        errors["timezone"] = "Enter a time zone such as America/New_York."
    if details.npi and not npi_is_valid(details.npi):
        errors["npi"] = "An NPI is 10 digits and its last digit must match the check digit."
    try:
        validate_email(details.admin_email)
    except ValidationError:
        errors["admin_email"] = "Enter a valid email address."
    try:
        validate_password(details.admin_password, User(email=details.admin_email))
    except ValidationError as exc:
        errors["admin_password"] = " ".join(exc.messages)
    return errors


def set_up_clinic(*, details: SetupDetails, ip: str | None = None) -> StaffMembership:
    """Create the organization, its first clinic and the administrator, once.

    Raises SetupRefused when an organization exists and ValidationError (by field) for bad
    details; nothing is stored in either case. The administrator has no authenticator yet,
    so the first sign-in goes straight to enrolling one.
    """
    errors = validate_details(details)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if Organization.objects.select_for_update().exists():
            raise SetupRefused("This install already has an organization.")
        organization = Organization.objects.create(name=details.organization.strip())
        clinic = Clinic.objects.create(
            organization=organization,
            name=details.clinic.strip(),
            slug=slugify(details.clinic)[:50] or "clinic",
            timezone=details.timezone,
            address=details.address.strip(),
            phone=details.phone.strip(),
            npi=details.npi,
            tax_id=details.tax_id.strip(),
            crisis_resources=details.crisis_resources.strip(),
        )
        return _create_admin(details=details, clinic=clinic, ip=ip)


def _create_admin(*, details: SetupDetails, clinic: Clinic, ip: str | None) -> StaffMembership:
    if User.objects.filter(email__iexact=details.admin_email).exists():
        raise ValidationError({"admin_email": "An account with this email already exists."})
    admin = User.objects.create_user(
        details.admin_email,
        details.admin_password,
        full_name=details.admin_name.strip(),
        family_name=details.admin_family_name.strip(),
    )
    membership = StaffMembership.objects.create(user=admin, clinic=clinic, role=Role.ADMIN)
    # The first administrator also administers the organization: they may add clinics.
    OrganizationAdmin.objects.create(organization=clinic.organization, user=admin)
    audit.record(
        request=None,
        action=Action.CREATE,
        clinic_id=clinic.pk,
        user=admin,
        object_type="clinic",
        object_id=str(clinic.pk),
        detail={"step": "first-run setup", "organization": clinic.organization_id, "ip": ip},
    )
    return membership
