"""Versions of served resources: ``meta.versionId`` and ``meta.lastUpdated``.

Only the current version of a resource is kept, so its version id is a digest of what
is served: it changes whenever anything shown changes (a correction, a withdrawal, an
edited name) and never otherwise. ``lastUpdated`` is the latest of the row's own
timestamps and the last recorded change of it in the audit trail (read through the
patient index, as every change to a patient's record is recorded with the patient).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Max, Model

from katclinic.audit.models import Action, AuditEvent
from katclinic.fhir import wire
from katclinic.fhir.registry import ResourceType
from katclinic.fhir.search import utc

CHANGES = (Action.CREATE, Action.UPDATE, Action.SIGN)


def version_id(resource: dict[str, Any]) -> str:
    """A digest of the resource as served, without its ``meta``."""
    content = {k: v for k, v in resource.items() if k != "meta"}
    text = wire.dumps(content, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _changes(resource_type: ResourceType, rows: Sequence[Any]) -> dict[tuple[str, str], datetime]:
    """The last recorded change of each row ((model, object id) -> when), one query per
    model among the rows (a type served from several sources has rows of several)."""
    if resource_type.perm is None:
        return {}
    by_model: dict[str, list[Model]] = {}
    for row in rows:
        if isinstance(row, Model):
            by_model.setdefault(row._meta.label_lower, []).append(row)
    found: dict[tuple[str, str], datetime] = {}
    for label, group in by_model.items():
        found |= {(label, pk): at for pk, at in _model_changes(resource_type, label, group)}
    return found


def _model_changes(
    resource_type: ResourceType, label: str, rows: Sequence[Any]
) -> list[tuple[str, datetime]]:
    clinics = {getattr(row, "clinic_id", None) for row in rows} - {None}
    # A change to a patient's record is recorded with the patient: read through that index.
    patients = {resource_type.patient_of(row) for row in rows} - {None}
    if not patients:
        return []
    found = (
        AuditEvent.objects.filter(
            patient_id__in=patients,
            clinic_id__in=clinics,
            object_type=label,
            object_id__in=[str(row.pk) for row in rows],
            action__in=CHANGES,
        )
        .values("object_id")
        .annotate(last=Max("at"))
    )
    return [(item["object_id"], item["last"]) for item in found]


def stamped(resource_type: ResourceType, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Each row rendered with ``meta.versionId`` and (where known) ``meta.lastUpdated``."""
    changes = _changes(resource_type, rows)
    out = []
    for row in rows:
        resource = resource_type.render(row)
        meta = dict(resource.get("meta") or {})
        meta["versionId"] = version_id(resource)
        # Rows of a stored type are model instances; a Questionnaire is a parsed definition.
        key = (row._meta.label_lower, str(row.pk)) if isinstance(row, Model) else ("", "")
        moments = [m for m in (resource_type.changed_at(row), changes.get(key)) if m]
        if moments:
            meta["lastUpdated"] = utc(max(moments))
        out.append(
            {**resource, "meta": meta} if "meta" in resource else _first_meta(resource, meta)
        )
    return out


def _first_meta(resource: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` placed right after ``id``, where readers expect it."""
    out: dict[str, Any] = {}
    for key, value in resource.items():
        out[key] = value
        if key == "id":
            out["meta"] = meta
    out.setdefault("meta", meta)
    return out


def last_updated(resource: dict[str, Any]) -> datetime | None:
    value = (resource.get("meta") or {}).get("lastUpdated")
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
