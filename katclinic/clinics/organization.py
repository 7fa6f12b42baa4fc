"""An organization admin adds a clinic, optionally copying another clinic's settings."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import (
    Clinic,
    ClinicSetting,
    ClinicSettingChange,
    Organization,
    OrganizationAdmin,
    StaffMembership,
)
from katclinic.clinics.permissions import Role
from katclinic.clinics.registry import REGISTRY
from katclinic.lib.npi import npi_is_valid
from katclinic.protocols.services import load_shipped_protocols


@dataclass(frozen=True)
class NewClinic:
    name: str
    timezone: str
    address: str = ""
    phone: str = ""
    npi: str = ""
    tax_id: str = ""
    crisis_resources: str = ""


def is_organization_admin(user: User, organization_id: int) -> bool:
    return OrganizationAdmin.objects.filter(
        organization_id=organization_id, user=user, user__is_active=True
    ).exists()


def validate(details: NewClinic) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not details.name.strip():
        errors["name"] = "Give the clinic a name."
    elif len(details.name) > 200:
        errors["name"] = "Keep the name under 200 characters."
    if details.timezone not in zoneinfo.available_timezones():
        errors["timezone"] = "Enter a time zone such as America/New_York."
    if details.npi and not npi_is_valid(details.npi):
        errors["npi"] = "An NPI is 10 digits and its last digit must match the check digit."
    if len(details.phone) > 40:
        errors["phone"] = "Keep the phone number under 40 characters."
    if len(details.tax_id) > 20:
        errors["tax_id"] = "Keep the tax id under 20 characters."
    return errors


def _unique_slug(name: str) -> str:
    base = slugify(name)[:44] or "clinic"
    slug, n = base, 1
    while Clinic.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_new_clinic(
    organization: Organization, by: User, details: NewClinic, copy_from: Clinic | None
) -> None:
    """PermissionError unless `by` administers the organization; ValidationError by field."""
    if not is_organization_admin(by, organization.pk):
        raise PermissionError("only an organization administrator may add a clinic")
    errors = validate(details)
    if copy_from is not None and copy_from.organization_id != organization.pk:
        errors["copy_from"] = "Choose a clinic of this organization."
    if errors:
        raise ValidationError(errors)


def _store_clinic(organization: Organization, details: NewClinic) -> Clinic:
    return Clinic.objects.create(
        organization=organization,
        name=details.name.strip(),
        slug=_unique_slug(details.name),
        timezone=details.timezone,
        address=details.address.strip(),
        phone=details.phone.strip(),
        npi=details.npi,
        tax_id=details.tax_id.strip(),
        crisis_resources=details.crisis_resources.strip(),
    )


def _copy_settings(clinic: Clinic, copy_from: Clinic, by: User) -> list[str]:
    """Each setting `copy_from` changed, set on `clinic` as a recorded change; their keys."""
    copied = []
    reason = f"Copied from {copy_from.name} when the clinic was added"
    for row in ClinicSetting.objects.filter(clinic=copy_from, key__in=list(REGISTRY)):
        ClinicSetting.objects.create(
            clinic=clinic, key=row.key, value=row.value, changed_by=by, reason=reason
        )
        ClinicSettingChange.objects.create(
            clinic=clinic,
            key=row.key,
            old_value=None,
            new_value=row.value,
            changed_by=by,
            reason=reason,
        )
        copied.append(row.key)
    return copied


def add_clinic(
    *,
    organization: Organization,
    by: User,
    details: NewClinic,
    copy_from: Clinic | None,
    adopt_protocols: bool,
    request: HttpRequest | None = None,
) -> Clinic:
    """Create a clinic in `organization`, with `by` as its first administrator.

    With `copy_from` (a clinic of the same organization) its changed settings are copied,
    each as a recorded change. With `adopt_protocols` the shipped protocols are adopted.
    Raises ValidationError by field; PermissionError when `by` is not an organization admin.
    Nothing is stored when either is raised.
    """
    _check_new_clinic(organization, by, details, copy_from)
    with transaction.atomic():
        clinic = _store_clinic(organization, details)
        StaffMembership.objects.create(user=by, clinic=clinic, role=Role.ADMIN)
        copied = [] if copy_from is None else _copy_settings(clinic, copy_from, by)
        audit.record(
            request=request,
            user=by,
            action=Action.CREATE,
            clinic_id=clinic.pk,
            object_type="clinic",
            object_id=str(clinic.pk),
            detail={
                "added_clinic": clinic.name,
                "organization": organization.pk,
                "copied_from": copy_from.pk if copy_from else None,
                "settings_copied": sorted(copied),
            },
        )
        if adopt_protocols:
            load_shipped_protocols(clinic=clinic, by=by)
    return clinic
