"""Clinic settings: every clinical threshold is a setting with a cited default.

Each app declares its settings in `<app>/clinic_settings.py` by calling `define(...)`,
imported from its AppConfig.ready(). A clinic admin may change a value, with a
reason; the change is audited. Code reads values with `get_setting(clinic, key)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest

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

    def parse(self, raw: Any) -> Any:
        """Turn a submitted value into the stored type, or raise ValueError naming the problem."""
        if self.kind == "bool":
            return raw in (True, "true", "on", "1", 1)
        if self.kind == "text":
            text = str(raw).strip()
            if len(text) > 2000:
                raise ValueError("is longer than 2000 characters")
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


def define(**fields: Any) -> SettingDef:
    definition = SettingDef(**fields)
    REGISTRY[definition.key] = definition
    return definition


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
    previous = get_setting(clinic, key)
    ClinicSetting.objects.update_or_create(
        clinic=clinic,
        key=key,
        defaults={"value": value, "changed_by": by, "reason": reason.strip()},
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
