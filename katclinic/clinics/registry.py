"""Clinic settings: every clinical threshold is a setting with a cited default.

Each app declares its settings in `<app>/clinic_settings.py` by calling `define(...)`,
imported from its AppConfig.ready(). A clinic admin may change a value, with a
reason; the change is audited. Code reads values with `get_setting(clinic, key)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify

from katclinic.audit import services as audit
from katclinic.audit.models import Action

Kind = Literal["int", "decimal", "bool", "text"]


@dataclass(frozen=True)
class SettingDef:
    key: str
    label: str
    kind: Kind
    default: Any
    unit: str = ""
    source: str = ""
    # False where no published source confirms the default: the settings page says so.
    verified: bool = True
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    group: str = "General"
    # The area of the settings page it appears in (a key of AREAS); derived from the group
    # when a definition does not name it.
    area: str = ""
    # A stable name for the setting in page addresses and form fields, made from its label,
    # so that no internal key reaches a screen.
    slug: str = ""

    def parse(self, raw: Any) -> Any:
        """Turn a submitted value into the stored type, or raise ValueError naming the problem."""
        if self.kind == "bool":
            return raw in (True, "true", "on", "1", 1)
        if self.kind == "text":
            text = str(raw).strip()
            if len(text) > 2000:
                raise ValueError("is longer than 2000 characters")
            if "\x00" in text:
                raise ValueError("contains a character that cannot be stored")
            return text
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a number")
        if self.kind == "int" and number != number.to_integral_value():
            raise ValueError("must be a whole number")
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"must be at least {self.minimum} {self.unit}".rstrip())
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"must be at most {self.maximum} {self.unit}".rstrip())
        return int(number) if self.kind == "int" else str(number)


REGISTRY: dict[str, SettingDef] = {}


@dataclass(frozen=True)
class Area:
    slug: str
    title: str
    summary: str


# The areas of the settings page, in the order shown.
AREAS: dict[str, Area] = {
    a.slug: a
    for a in (
        Area("dosing", "Dosing", "Limits before dosing, treatment plans and the drug ledger."),
        Area(
            "monitoring",
            "Monitoring",
            "Thresholds during a session and long-term safety reviews.",
        ),
        Area("measures", "Measures and outcomes", "Questionnaires, safety alerts and outcomes."),
        Area("scheduling", "Scheduling", "Visit lengths, reminders and online requests."),
        Area("athome", "At-home sessions", "Take-home treatment checks and check-ins."),
        Area("intake", "Intake", "Suitability screening, consent and the public request form."),
        Area(
            "messaging",
            "Messages",
            "Secure messages with patients: reply time, attachments and crisis words.",
        ),
        Area("security", "Security", "Sign-in links and staff account safeguards."),
        Area(
            "billing",
            "Billing and insurance",
            "Charges, prior authorizations, claims and the clearinghouse.",
        ),
        Area("other", "Other", "Settings that belong to no other area."),
    )
}
# Where a definition names no area: the first group prefix that matches decides.
_AREA_BY_GROUP = (
    ("dosing: in-session", "monitoring"),
    ("dosing", "dosing"),
    ("protocols", "dosing"),
    ("long-term surveillance", "monitoring"),
    ("measures", "measures"),
    ("outcomes", "measures"),
    ("scheduling", "scheduling"),
    ("take-home", "athome"),
    ("intake", "intake"),
    ("messages", "messaging"),
    ("portal", "security"),
    ("security", "security"),
    ("billing", "billing"),
    ("insurance", "billing"),
)


def area_for(group: str) -> str:
    lowered = group.lower()
    return next((area for prefix, area in _AREA_BY_GROUP if lowered.startswith(prefix)), "other")


def define(**fields: Any) -> SettingDef:
    definition = SettingDef(**fields)
    if not definition.label.strip():
        raise ValueError(f"setting {definition.key} needs a plain-language label")
    area = definition.area or area_for(definition.group)
    if area not in AREAS:
        raise ValueError(f"setting {definition.key} names an unknown area {area!r}")
    slug = definition.slug or slugify(definition.label)[:60].strip("-")
    if any(d.slug == slug for d in REGISTRY.values() if d.key != definition.key):
        slug = f"{slug[:49]}-{hashlib.sha256(definition.key.encode()).hexdigest()[:10]}"
    definition = replace(definition, area=area, slug=slug)
    REGISTRY[definition.key] = definition
    return definition


def by_slug(slug: str) -> SettingDef | None:
    return next((d for d in REGISTRY.values() if d.slug == slug), None)


def shown(value: Any, definition: SettingDef) -> str:
    """A value as a person reads it, with its unit."""
    if definition.kind == "bool":
        return "Yes" if value in (True, "true", "on", "1", 1) else "No"
    if value in (None, ""):
        return "(empty)"
    return f"{value} {definition.unit}".strip()


def get_setting(clinic: Any, key: str) -> Any:
    """The clinic's value, or the cited default. Decimals come back as Decimal."""
    from katclinic.clinics.models import ClinicSetting

    definition = REGISTRY[key]
    row = (
        ClinicSetting.objects.filter(clinic=clinic, key=key).values_list("value", flat=True).first()
    )
    value = definition.default if row is None else row
    return Decimal(str(value)) if definition.kind == "decimal" else value


def all_settings(clinic: Any) -> dict[str, Any]:
    """Every setting's value for `clinic` in one query."""
    from katclinic.clinics.models import ClinicSetting

    stored = dict(ClinicSetting.objects.filter(clinic=clinic).values_list("key", "value"))
    values = {}
    for key, definition in REGISTRY.items():
        value = stored.get(key, definition.default)
        values[key] = Decimal(str(value)) if definition.kind == "decimal" else value
    return values


@transaction.atomic
def set_setting(
    *, clinic: Any, key: str, raw: Any, by: Any, reason: str, request: HttpRequest | None = None
) -> Any:
    from katclinic.clinics.models import ClinicSetting

    definition = REGISTRY[key]
    value = definition.parse(raw)
    if not reason.strip():
        raise ValueError("a reason is required to change a clinical setting")
    if "\x00" in reason:
        raise ValueError("the reason contains a character that cannot be stored")
    from katclinic.clinics.models import ClinicSettingChange

    previous = get_setting(clinic, key)
    stored_before = (
        ClinicSetting.objects.filter(clinic=clinic, key=key).values_list("value", flat=True).first()
    )
    ClinicSetting.objects.update_or_create(
        clinic=clinic,
        key=key,
        defaults={"value": value, "changed_by": by, "reason": reason.strip()},
    )
    ClinicSettingChange.objects.create(
        clinic=clinic,
        key=key,
        old_value=stored_before,
        new_value=value,
        changed_by=by,
        reason=reason.strip(),
    )
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=clinic.pk,
        object_type="clinic.setting",
        object_id=key,
        detail={"from": str(previous), "to": str(value), "reason": reason.strip()},
    )
    return value
