"""Group (one per protocol of the clinic, its members the patients with a signed plan under
it) and MedicationRequest (one per signed version of a treatment plan).

A protocol's versions are rows of their own; the Group is read through the protocol's
first version, whose id never changes as the protocol is revised. Members are read per
Group (a clinic keeps a handful of protocols). Who takes part in a ketamine treatment
program is clinical information, so reading a Group needs the clinical chart's permission,
and no patient's own access reaches one: it names other patients.

A MedicationRequest is read from its plan version, with the plan's status and the signed
versions before and after it (which give its status and ``priorPrescription``) taken in the
same query, and the version's planned doses in one more for the whole page.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet, Subquery

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import (
    Link,
    ResourceType,
    SearchParam,
    date_param,
    patient_ref,
    register,
    token_param,
)
from katclinic.fhir.resources.group import PROTOCOL_SYSTEM, Member, to_fhir_group
from katclinic.fhir.resources.medication_request import (
    CURRENT_STATUS,
    PLAN_SYSTEM,
    PLAN_VERSION_SYSTEM,
    US_CORE_MEDICATION_REQUEST,
    to_fhir_medication_request,
)
from katclinic.fhir.search import SearchValueError
from katclinic.lib.parse import BadParameter, parse_id
from katclinic.protocols.models import (
    Plan,
    PlanStatus,
    PlanVersion,
    ProtocolStatus,
    ProtocolVersion,
)


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


def _signed(after: bool) -> QuerySet[PlanVersion]:
    """The outer version's plan's signed versions after it (or before it), nearest first."""
    rows = PlanVersion.objects.filter(plan=OuterRef("plan"), signed_at__isnull=False)
    if after:
        return rows.filter(number__gt=OuterRef("number")).order_by("number")
    return rows.filter(number__lt=OuterRef("number")).order_by("-number")


def _requests(clinic: Clinic) -> QuerySet[PlanVersion]:
    return (
        PlanVersion.objects.filter(clinic=clinic, signed_at__isnull=False)
        .annotate(
            patient_id=F("plan__patient_id"),
            plan_status=F("plan__status"),
            replaced_by=Subquery(_signed(after=True).values("pk")[:1]),
            replaced_at=Subquery(_signed(after=True).values("signed_at")[:1]),
            prior_id=Subquery(_signed(after=False).values("pk")[:1]),
        )
        .select_related("plan__protocol_version", "signed_by")
        .prefetch_related("doses")
        .order_by("-signed_at", "-pk")
    )


def _render_request(version: PlanVersion) -> dict[str, Any]:
    return to_fhir_medication_request(
        version,
        patient_id=version.patient_id,  # type: ignore[attr-defined]
        plan_status=version.plan_status,  # type: ignore[attr-defined]
        replaced_by=version.replaced_by,  # type: ignore[attr-defined]
        prior_id=version.prior_id,  # type: ignore[attr-defined]
    )


def _request_status(system: str | None, code: str) -> Q:
    current = Q(replaced_by__isnull=True)
    if code == "stopped":
        return ~current | Q(plan_status=PlanStatus.STOPPED)
    plan_statuses = [key for key, status in CURRENT_STATUS.items() if status == code]
    return current & Q(plan_status__in=plan_statuses) if plan_statuses else Q(pk__in=[])


def _version_identifier(system: str | None, code: str) -> Q:
    """A version by ``<plan>.<number>`` in the plan-version system."""
    plan, _, number = code.partition(".")
    digits = (plan + number).isascii() and plan.isdigit() and number.isdigit()
    if system not in (None, "", PLAN_VERSION_SYSTEM) or not digits:
        return Q(pk__in=[])
    if len(plan) > 18 or len(number) > 9:
        return Q(pk__in=[])
    return Q(plan_id=int(plan), number=int(number))


def _reference(kind: str, raw: str) -> int:
    """``Kind/123`` or ``123`` -> 123; anything else is a 400 naming what was expected."""
    try:
        return parse_id(raw.removeprefix(f"{kind}/"), "id")
    except BadParameter:
        raise SearchValueError(f"{raw!r} is not a {kind} reference such as {kind}/123") from None


def _requester(rows: QuerySet[PlanVersion], raw: str) -> QuerySet[PlanVersion]:
    return rows.filter(signed_by_id__in=[_reference("Practitioner", p) for p in raw.split(",")])


def _encounter(rows: QuerySet[PlanVersion], raw: str) -> QuerySet[PlanVersion]:
    """No plan is written during a served Encounter: a well-formed reference finds none."""
    for part in raw.split(","):
        _reference("Encounter", part)
    return rows.none()


MEDICATION_REQUEST = register(
    ResourceType(
        name="MedicationRequest",
        perm=Perm.VIEW_CLINICAL,
        rows=_requests,
        render=_render_request,
        changed_at=lambda row: row.replaced_at or row.signed_at,
        mandatory=("status", "intent", "medication", "subject"),
        links=(Link("requester", "Practitioner", "signed_by_id"),),
        profiles=(US_CORE_MEDICATION_REQUEST,),
        documentation="One order per signed version of a treatment plan (the first plan and "
        "each amendment), meeting and declaring US Core MedicationRequest (6.1.0). The "
        "newest signed version is active (on-hold while the plan is paused, stopped once it "
        "is stopped); a version replaced by a later signature is stopped and named by the "
        "next one's priorPrescription. Unsigned drafts are not served. The medication is "
        "the protocol's product as text (no RxNorm code: not yet verified); the dose in mg "
        "(and mg/kg where the protocol sizes by weight), route and planned sessions are in "
        f"dosageInstruction. The plan is groupIdentifier ({PLAN_SYSTEM}). Plans record no "
        "indication and no encounter, so reasonCode and encounter are not sent.",
        params=(
            token_param(
                "status",
                "active, on-hold or stopped (a version replaced by a later one is stopped)",
                _request_status,
            ),
            token_param(
                "intent",
                "Always order",
                lambda s, c: Q(pk__isnull=False) if c == "order" else Q(pk__in=[]),
            ),
            date_param("authoredon", "signed_at", "When the version was signed"),
            SearchParam(
                "requester", "reference", "The signing prescriber (Practitioner/123)", _requester
            ),
            SearchParam(
                "encounter",
                "reference",
                "Plans are not written during a served Encounter: finds nothing",
                _encounter,
            ),
            token_param(
                "identifier",
                f"The plan and version number ({PLAN_VERSION_SYSTEM}|12.2)",
                _version_identifier,
            ),
        ),
    )
)
