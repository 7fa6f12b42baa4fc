"""Clinic settings: every clinical threshold is a setting with a cited default.

Each app declares its settings in `<app>/clinic_settings.py` as module constants made by
`define_int`, `define_decimal`, `define_bool` or `define_text` (the module is imported from
its AppConfig.ready(), so the settings page lists every setting). A clinic admin may change
a value, with a reason; the change is audited.

Code reads a value through its constant, so a misspelt name fails at import and a wrong
type in mypy: `MAX_MB.value(clinic)` is an int. Where one request reads several,
`values = all_settings(clinic)` reads them all in one query and `values[MAX_MB]` is typed
the same way. `setting_named(key, kind)` is only for a key that is data (an instrument
definition naming the setting that holds its threshold), checked when the data loads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal, TypedDict, Unpack

from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic, ClinicSetting, ClinicSettingChange
from katclinic.lib import rows

Kind = Literal["int", "decimal", "bool", "text"]
# A clinic, or its id where only the id is at hand.
ClinicRef = Clinic | int
# What a value is stored as (a JSON value): decimals are kept as their text.
Stored = int | bool | str
TEXT_MAX = 2000


class SettingFields(TypedDict, total=False):
    """The optional parts of a setting's declaration, shared by the four `define_*`."""

    unit: str
    verified: bool
    minimum: Decimal | None
    maximum: Decimal | None
    group: str
    area: str
    slug: str


class UnknownSetting(KeyError):
    """A key that names no setting of the expected kind (raised when data naming it loads)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Setting[T]:
    """One clinic setting: its key, plain-language label, cited default and limits."""

    kind: ClassVar[Kind]
    key: str
    label: str
    default: T
    source: str
    unit: str = ""
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

    def coerce(self, stored: object) -> T:
        """A stored value (or the default) as the setting's type."""
        raise NotImplementedError

    def parse(self, raw: object) -> Stored:
        """Turn a submitted value into what is stored, or raise ValueError naming the problem."""
        raise NotImplementedError

    def value(self, clinic: ClinicRef) -> T:
        """The clinic's value, or the cited default."""
        row = (
            ClinicSetting.objects.filter(clinic=clinic, key=self.key)
            .values_list("value", flat=True)
            .first()
        )
        return self.coerce(self.default if row is None else row)

    def _number(self, raw: object, *, whole: bool = False) -> Decimal:
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a number")
        if whole and number != number.to_integral_value():
            raise ValueError("must be a whole number")
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"must be at least {self.minimum} {self.unit}".rstrip())
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"must be at most {self.maximum} {self.unit}".rstrip())
        return number


@dataclass(frozen=True)
class IntSetting(Setting[int]):
    kind: ClassVar[Kind] = "int"

    def coerce(self, stored: object) -> int:
        return int(Decimal(str(stored)))

    def parse(self, raw: object) -> Stored:
        return int(self._number(raw, whole=True))


@dataclass(frozen=True)
class DecimalSetting(Setting[Decimal]):
    kind: ClassVar[Kind] = "decimal"

    def coerce(self, stored: object) -> Decimal:
        return Decimal(str(stored))

    def parse(self, raw: object) -> Stored:
        return str(self._number(raw))


TRUE = (True, "true", "on", "1", 1)


@dataclass(frozen=True)
class BoolSetting(Setting[bool]):
    kind: ClassVar[Kind] = "bool"

    def coerce(self, stored: object) -> bool:
        return stored in TRUE

    def parse(self, raw: object) -> Stored:
        return raw in TRUE


@dataclass(frozen=True)
class TextSetting(Setting[str]):
    kind: ClassVar[Kind] = "text"

    def coerce(self, stored: object) -> str:
        return "" if stored is None else str(stored)

    def parse(self, raw: object) -> Stored:
        text = str(raw).strip()
        if len(text) > TEXT_MAX:
            raise ValueError(f"is longer than {TEXT_MAX} characters")
        if "\x00" in text:
            raise ValueError("contains a character that cannot be stored")
        return text


# A setting of any of the four kinds: what the registry holds and the settings pages walk.
type SettingDefinition = IntSetting | DecimalSetting | BoolSetting | TextSetting

REGISTRY: dict[str, SettingDefinition] = {}


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


def _register[S: SettingDefinition](definition: S) -> S:
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


def define_int(
    *, key: str, label: str, default: int, source: str, **fields: Unpack[SettingFields]
) -> IntSetting:
    return _register(IntSetting(key=key, label=label, default=default, source=source, **fields))


def define_decimal(
    *, key: str, label: str, default: Decimal, source: str, **fields: Unpack[SettingFields]
) -> DecimalSetting:
    setting = DecimalSetting(key=key, label=label, default=default, source=source, **fields)
    return _register(setting)


def define_bool(
    *, key: str, label: str, default: bool, source: str, **fields: Unpack[SettingFields]
) -> BoolSetting:
    return _register(BoolSetting(key=key, label=label, default=default, source=source, **fields))


def define_text(
    *, key: str, label: str, default: str, source: str, **fields: Unpack[SettingFields]
) -> TextSetting:
    return _register(TextSetting(key=key, label=label, default=default, source=source, **fields))


def by_slug(slug: str) -> SettingDefinition | None:
    return next((d for d in REGISTRY.values() if d.slug == slug), None)


def setting_named[S: SettingDefinition](key: str, kind: type[S]) -> S:
    """The setting a piece of data names by its key, which must be of `kind`."""
    found = REGISTRY.get(key)
    if not isinstance(found, kind):
        raise UnknownSetting(f"{key!r} is not a clinic setting of kind {kind.kind}")
    return found


def shown(value: object, definition: SettingDefinition) -> str:
    """A value as a person reads it, with its unit."""
    if definition.kind == "bool":
        return "Yes" if value in TRUE else "No"
    if value in (None, ""):
        return "(empty)"
    return f"{value} {definition.unit}".strip()


class SettingValues:
    """Every setting's value for one clinic, read in one query: `values[SETTING]` is typed."""

    def __init__(self, stored: dict[str, object]) -> None:
        self._stored = stored

    def __getitem__[T](self, setting: Setting[T]) -> T:
        return setting.coerce(self._stored.get(setting.key, setting.default))


def all_settings(clinic: ClinicRef) -> SettingValues:
    """Every setting's value for `clinic` in one query:
    ``ClinicSetting.objects.filter(clinic=clinic).values_list("key", "value")`` as plain SQL,
    since the dosing pages and the nurse's reading form read it on every request (see
    katclinic.lib.rows)."""
    clinic_id = clinic if isinstance(clinic, int) else clinic.pk
    only = ("key", "value")
    sql = f"SELECT {rows.columns(ClinicSetting, 's', only)} FROM {rows.table(ClinicSetting)} s WHERE s.clinic_id = %s"  # noqa: S608
    found = rows.fetch_all(ClinicSetting, sql, [clinic_id])
    pairs = (rows.convert(ClinicSetting, row, only=only) for row in found)
    return SettingValues({key: value for key, value in pairs})


def _check_reason(reason: str) -> None:
    if not reason.strip():
        raise ValueError("a reason is required to change a clinical setting")
    if "\x00" in reason:
        raise ValueError("the reason contains a character that cannot be stored")


@transaction.atomic
def set_setting(
    *,
    clinic: Clinic,
    key: str,
    raw: object,
    by: User,
    reason: str,
    request: HttpRequest | None = None,
) -> Stored:
    definition = REGISTRY[key]
    value = definition.parse(raw)
    _check_reason(reason)
    previous = definition.value(clinic)
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
