"""Group: one per protocol of the clinic, its members the patients with a signed plan under it.

A protocol's versions are rows of their own; the Group is read through the protocol's
first version, whose id never changes as the protocol is revised. Members are read per
Group (a clinic keeps a handful of protocols). Who takes part in a ketamine treatment
program is clinical information, so reading a Group needs the clinical chart's permission,
and no patient's own access reaches one: it names other patients.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, Min, OuterRef, Q, QuerySet, Subquery

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import ResourceType, SearchParam, patient_ref, register, token_param
from katclinic.fhir.resources.group import PROTOCOL_SYSTEM, Member, to_fhir_group
from katclinic.protocols.models import Plan, PlanStatus, ProtocolStatus, ProtocolVersion


def _versions() -> QuerySet[ProtocolVersion]:
    """Every version of the outer row's protocol."""
    return ProtocolVersion.objects.filter(clinic=OuterRef("clinic"), key=OuterRef("key"))


def _groups(clinic: Clinic) -> QuerySet[ProtocolVersion]:
    first = (
        ProtocolVersion.objects.filter(clinic=clinic)
        .order_by()  # the default order (by version) would split the grouping
        .values("key")
        .annotate(first=Min("pk"))
        .values("first")
    )
    return (
        ProtocolVersion.objects.filter(clinic=clinic, pk__in=first)
        .annotate(
            newest_title=Subquery(_versions().order_by("-version").values("title")[:1]),
            in_use=Exists(_versions().filter(status=ProtocolStatus.ACTIVE)),
        )
        .order_by("key", "pk")
    )


def enrolled(clinic_id: int, key: str) -> QuerySet[Plan]:
    """The signed plans under any version of the protocol ``key``."""
    return Plan.objects.filter(clinic_id=clinic_id, protocol_version__key=key).exclude(
        status=PlanStatus.DRAFT
    )


def members(group: ProtocolVersion) -> list[Member]:
    """Each patient once, since their first signed plan; inactive when every plan stopped."""
    found: dict[int, Member] = {}
    rows = enrolled(group.clinic_id, group.key).order_by("created_at", "pk")
    for patient_id, status, created_at in rows.values_list("patient_id", "status", "created_at"):
        seen = found.get(patient_id)
        stopped = status == PlanStatus.STOPPED and (seen is None or seen.inactive)
        found[patient_id] = Member(patient_id, seen.since if seen else created_at, stopped)
    return sorted(found.values(), key=lambda m: m.patient_id)


def member_ids(group: ProtocolVersion) -> list[int]:
    return [member.patient_id for member in members(group)]


def _render(group: ProtocolVersion) -> dict[str, Any]:
    return to_fhir_group(
        group_id=group.pk,
        clinic_id=group.clinic_id,
        key=group.key,
        title=getattr(group, "newest_title", None) or group.title,
        active=bool(getattr(group, "in_use", group.status == ProtocolStatus.ACTIVE)),
        members=members(group),
    )


def _member(rows: QuerySet[ProtocolVersion], raw: str) -> QuerySet[ProtocolVersion]:
    """Groups with any of the named patients among their members."""
    patients = [patient_ref(part) for part in raw.split(",")]
    plans = Plan.objects.filter(
        clinic=OuterRef("clinic"), protocol_version__key=OuterRef("key"), patient_id__in=patients
    ).exclude(status=PlanStatus.DRAFT)
    return rows.filter(Exists(plans))


def _identifier(system: str | None, code: str) -> Q:
    if system not in (None, "", PROTOCOL_SYSTEM):
        return Q(pk__in=[])
    return Q(key=code)


GROUP = register(
    ResourceType(
        name="Group",
        perm=Perm.VIEW_CLINICAL,
        rows=_groups,
        render=_render,
        patient_field=None,
        changed_at=lambda row: row.created_at,
        names_patients=lambda row: list(member_ids(row)),
        mandatory=("type", "actual"),
        documentation="One Group per protocol of the clinic: the patients with a signed plan "
        "under any version of it (inactive once every plan stopped). Export a cohort with "
        "Group/[id]/$export.",
        params=(
            SearchParam("member", "reference", "A member (Patient/123 or 123)", _member),
            token_param(
                "identifier",
                f"The protocol's key ({PROTOCOL_SYSTEM}|iv_ketamine_elektd)",
                _identifier,
            ),
            token_param(
                "type",
                "Always person",
                lambda s, c: Q(pk__isnull=False) if c == "person" else Q(pk__in=[]),
            ),
            token_param(
                "actual",
                "Always true",
                lambda s, c: Q(pk__isnull=False) if c == "true" else Q(pk__in=[]),
            ),
        ),
    )
)
