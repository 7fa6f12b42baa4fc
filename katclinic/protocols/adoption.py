"""Adopting shipped protocols into a clinic's library, and clinic versions built from a form.

Every write inserts a new version (`services._store_version`): a version a plan uses is never
changed, and a newer shipped version is adopted beside the old one, not over it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic
from katclinic.protocols import services
from katclinic.protocols.diff import Change, describe_changes
from katclinic.protocols.models import ProtocolStatus, ProtocolVersion
from katclinic.protocols.schema import Protocol, load_library, load_protocol

# The source every number a clinic changes by form is tied to: no paper stands behind a
# clinic's own choice, so the detail page shows it as awaiting the medical director.
CLINIC_SOURCE_KEY = "clinic_choice"


def shipped_library() -> dict[str, Protocol]:
    """The protocols shipped with this release (a deployment may point at another folder)."""
    folder = getattr(settings, "KATCLINIC_PROTOCOL_LIBRARY_DIR", None)
    return load_library(Path(folder) if folder else None)


@dataclass
class ShippedRow:
    """One shipped protocol as this clinic stands with it."""

    shipped: Protocol
    versions: list[ProtocolVersion]
    adopted_from: int | None  # the newest shipped version the clinic adopted
    current: ProtocolVersion | None  # the clinic's active version, else its newest
    changes: list[Change] = field(default_factory=list)

    @property
    def can_adopt(self) -> bool:
        return self.adopted_from is None or self.shipped.version > self.adopted_from

    @property
    def newer(self) -> bool:
        return self.adopted_from is not None and self.shipped.version > self.adopted_from


def overview(clinic: Clinic) -> tuple[list[ShippedRow], list[ProtocolVersion]]:
    """Each shipped protocol with the clinic's versions of it, and the clinic's own protocols
    that were never shipped."""
    library = shipped_library()
    versions = list(
        ProtocolVersion.objects.for_clinic(clinic)
        .select_related("created_by")
        .order_by("key", "-version")
    )
    rows = []
    for key, shipped in sorted(library.items(), key=lambda item: item[1].title):
        mine = [v for v in versions if v.key == key]
        adopted = [v.shipped_version for v in mine if v.shipped_version is not None]
        current = next((v for v in mine if v.status == ProtocolStatus.ACTIVE), None) or (
            mine[0] if mine else None
        )
        row = ShippedRow(shipped, mine, max(adopted) if adopted else None, current)
        if current is not None and row.can_adopt:
            row.changes = describe_changes(current.protocol, shipped)
        rows.append(row)
    own = [v for v in versions if v.key not in library]
    return rows, own


class AdoptionError(ValueError):
    """An adoption that cannot be made, in words an administrator can act on."""


@transaction.atomic
def adopt_shipped_protocol(
    *,
    clinic: Clinic,
    key: str,
    activate: bool,
    by: User,
    request: HttpRequest | None = None,
) -> ProtocolVersion:
    """Add the shipped protocol `key` to the clinic as a new version (never over one)."""
    shipped = shipped_library().get(key)
    if shipped is None:
        raise AdoptionError("There is no shipped protocol by that name.")
    adopted = ProtocolVersion.objects.filter(clinic=clinic, key=key).aggregate(
        m=Max("shipped_version")
    )["m"]
    if adopted is not None and adopted >= shipped.version:
        raise AdoptionError(
            f"The clinic already adopted shipped version {adopted} of {shipped.title}."
        )
    return services._store_version(
        clinic=clinic,
        protocol=shipped,
        note=f"Adopted shipped version {shipped.version}",
        activate=activate,
        by=by,
        request=request,
        shipped_version=shipped.version,
        detail={"adopted": True, "shipped_version": shipped.version},
    )


@dataclass(frozen=True)
class CheckpointEdit:
    label: str
    minutes_after_start: int
    measures: list[str]
    repeat_every_minutes: int | None = None
    repeat_until_minutes: int | None = None


@dataclass(frozen=True)
class ProtocolEdits:
    """The numbers an administrator may change by form; `None` removes an optional limit."""

    title: str
    starting_dose: Decimal
    hard_min: Decimal
    hard_max: Decimal
    soft_min: Decimal | None
    soft_max: Decimal | None
    absolute_max_mg: Decimal | None
    min_interval_hours: int
    max_doses_per_week: int
    min_observation_minutes: int
    checkpoints: list[CheckpointEdit]
    mg_per_kg: Decimal | None = None
    duration_minutes: int | None = None
    step_mg: Decimal | None = None


def _plain(data: Any) -> Any:
    """JSON-ready copy with decimals as strings (protocol files accept decimal strings)."""
    return json.loads(json.dumps(data, default=str))


def _sourced(old: dict[str, Any] | None, value: Decimal | int | None) -> dict[str, Any] | None:
    """A sourced number: kept with its citation when unchanged, else tied to the clinic."""
    if value is None:
        return None
    if old is not None and Decimal(str(old["value"])) == Decimal(value):
        return old
    return {"value": value, "source": CLINIC_SOURCE_KEY}


def _cites(node: Any, key: str) -> bool:
    """Whether any part of a protocol (as data) cites the source `key`."""
    if isinstance(node, list):
        return any(_cites(item, key) for item in node)
    if isinstance(node, dict):
        return any(
            (name.endswith("source") and value == key) or _cites(value, key)
            for name, value in node.items()
            if name != "sources"
        )
    return False


def _mark(node: dict[str, Any], name: str, value: Decimal | int | None) -> None:
    """Set `node[name]` (None removes it), tying the node to the clinic when it changes."""
    old = node.get(name)
    same = (old is None and value is None) or (
        old is not None and value is not None and Decimal(str(old)) == Decimal(value)
    )
    if same:
        return
    if value is None:
        node.pop(name, None)
    else:
        node[name] = value
    node["source"] = CLINIC_SOURCE_KEY


def _edit_dose(data: dict[str, Any], edits: ProtocolEdits) -> None:
    """The starting dose, and the dose rule's numbers for its basis."""
    _mark(data["starting_dose"], "dose", edits.starting_dose)
    rule = data["dose_rule"]
    if rule["basis"] == "mg_per_kg":
        _mark(rule, "mg_per_kg", edits.mg_per_kg)
        _mark(rule, "duration_minutes", edits.duration_minutes)
    else:
        _mark(rule, "step_mg", edits.step_mg)


def _edit_limits(data: dict[str, Any], edits: ProtocolEdits) -> None:
    """Dose limits (an optional one left empty is removed) and spacing."""
    limits = data["limits"]
    for name, value in (
        ("hard_min", edits.hard_min),
        ("hard_max", edits.hard_max),
        ("soft_min", edits.soft_min),
        ("soft_max", edits.soft_max),
        ("absolute_max_mg", edits.absolute_max_mg),
    ):
        new = _sourced(limits.get(name), value)
        if new is None:
            limits.pop(name, None)
        else:
            limits[name] = new
    spacing = data["spacing"]
    spacing["min_interval_hours"] = _sourced(
        spacing["min_interval_hours"], edits.min_interval_hours
    )
    spacing["max_doses_per_week"] = _sourced(
        spacing["max_doses_per_week"], edits.max_doses_per_week
    )


def _checkpoint(edit: CheckpointEdit, before: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One checkpoint as data, keeping its source when the same-named one is unchanged."""
    point: dict[str, Any] = {
        "label": edit.label.strip(),
        "minutes_after_start": edit.minutes_after_start,
        "measures": list(edit.measures),
    }
    if edit.repeat_every_minutes is not None:
        point["repeat_every_minutes"] = edit.repeat_every_minutes
    if edit.repeat_until_minutes is not None:
        point["repeat_until_minutes"] = edit.repeat_until_minutes
    old = before.get(point["label"])
    if old is not None and {k: v for k, v in old.items() if k != "source"} == point:
        point["source"] = old["source"]
    else:
        point["source"] = CLINIC_SOURCE_KEY
    return point


def _edit_monitoring(data: dict[str, Any], edits: ProtocolEdits) -> None:
    monitoring = data["monitoring"]
    monitoring["min_observation_minutes"] = _sourced(
        monitoring["min_observation_minutes"], edits.min_observation_minutes
    )
    before = {c["label"]: c for c in monitoring["checkpoints"]}
    monitoring["checkpoints"] = [_checkpoint(edit, before) for edit in edits.checkpoints]


def _cite_clinic(data: dict[str, Any], clinic: Clinic, note: str) -> None:
    """Add the clinic's own choice to the sources when a number cites it."""
    if not _cites(data, CLINIC_SOURCE_KEY):
        return
    if not any(s["key"] == CLINIC_SOURCE_KEY for s in data["sources"]):
        data["sources"].append(
            {
                "key": CLINIC_SOURCE_KEY,
                "citation": f"Set by {clinic.name} for this version: {note.strip()}"[:500],
                "grade": "clinic_default",
            }
        )


def apply_edits(base: Protocol, edits: ProtocolEdits, *, clinic: Clinic, note: str) -> Protocol:
    """The base protocol with the edited numbers; raises ProtocolError naming each bad field."""
    data: dict[str, Any] = base.model_dump(mode="json", exclude_none=True)
    data["title"] = edits.title.strip()
    _edit_dose(data, edits)
    _edit_limits(data, edits)
    _edit_monitoring(data, edits)
    _cite_clinic(data, clinic, note)
    return load_protocol(_plain(data))


@transaction.atomic
def create_version_from_edits(
    *,
    base: ProtocolVersion,
    edits: ProtocolEdits,
    note: str,
    activate: bool,
    by: User,
    request: HttpRequest | None = None,
) -> ProtocolVersion:
    """A clinic version built from `base` with edited numbers, as the key's next version.

    Raises ProtocolError (nothing stored) when the result is not a valid protocol."""
    protocol = apply_edits(base.protocol, edits, clinic=base.clinic, note=note)
    return services._store_version(
        clinic=base.clinic,
        protocol=protocol,
        note=note,
        activate=activate,
        by=by,
        request=request,
        detail={"based_on_version": base.version, "from_form": True},
    )
