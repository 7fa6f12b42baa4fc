"""Worklist sections for every staff role.

Each section reads the active clinic only and links each item straight to the page
where the work is done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.audit.services import verify_chain
from katclinic.clinics.models import ClinicSetting
from katclinic.clinics.permissions import Role
from katclinic.clinics.registry import REGISTRY
from katclinic.core.worklists import Item, Section
from katclinic.intake.models import ConsultationRequest, Screening
from katclinic.intake.services import consent_gaps
from katclinic.measures.models import SafetyAlert
from katclinic.portal import worklist_dosing as d
from katclinic.portal.models import AppointmentRequest, JournalEntry
from katclinic.protocols.models import PlanVersion

A, P, N, T, F = Role.ADMIN, Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.FRONT_DESK
LIMIT = 10  # a worklist shows the first few; the section link leads to the full list
AUDIT_STATUS_SECONDS = 600  # verifying a chain reads all of it: at most every 10 minutes


def _clinic(request: HttpRequest) -> Any:
    return request.clinic  # type: ignore[attr-defined]


def _when(at: Any) -> str:
    return f"{timezone.localtime(at):%d %b %H:%M}"


def screenings_to_decide(request: HttpRequest) -> Sequence[Item]:
    rows = (
        Screening.objects.for_clinic(_clinic(request))
        .current()
        .filter(decision__isnull=True)
        .select_related("patient")
        .order_by("created_at")[:LIMIT]
    )
    return [
        Item(
            f"{s.patient.full_name}: {s.get_route_display()} screening",
            reverse("intake:screening", args=[s.pk]),
            f"started {_when(s.created_at)}",
        )
        for s in rows
    ]


def plans_to_sign(request: HttpRequest) -> Sequence[Item]:
    rows = (
        PlanVersion.objects.filter(clinic=_clinic(request), signed_at__isnull=True)
        .select_related("plan__patient")
        .order_by("created_at")[:LIMIT]
    )
    return [
        Item(
            f"{v.plan.patient.full_name}: plan version {v.number} ({v.get_kind_display()})",
            reverse("protocols:patient_plans", args=[v.plan.patient_id]),
            f"drafted {_when(v.created_at)}",
            level="warn" if v.soft_limit else "",
        )
        for v in rows
    ]


def open_safety_alerts(request: HttpRequest) -> Sequence[Item]:
    rows = (
        SafetyAlert.objects.for_clinic(_clinic(request))
        .unhandled()
        .select_related("patient")
        .order_by("raised_at")[:LIMIT]
    )
    return [
        Item(
            f"{a.patient.full_name}: {a.get_kind_display()}",
            reverse("measures:alert_detail", args=[a.pk]),
            f"{a.get_state_display()} since {_when(a.raised_at)}",
            level="danger" if a.state == "open" else "warn",
        )
        for a in rows
    ]


def new_consultation_requests(request: HttpRequest) -> Sequence[Item]:
    rows = (
        ConsultationRequest.objects.for_clinic(_clinic(request))
        .filter(state="new")
        .order_by("-urgent", "submitted_at")[:LIMIT]
    )
    return [
        Item(
            f"{c.name}",
            reverse("intake:request_detail", args=[c.pk]),
            f"received {_when(c.submitted_at)}",
            level="warn" if c.urgent else "",
        )
        for c in rows
    ]


def appointment_requests(request: HttpRequest) -> Sequence[Item]:
    rows = (
        AppointmentRequest.objects.for_clinic(_clinic(request))
        .open()
        .select_related("patient")[:LIMIT]
    )
    return [
        Item(
            f"{r.patient.full_name}: {r.get_kind_display().lower()}",
            reverse("portal:requests"),
            f"asked {_when(r.created_at)}",
            level="warn" if r.kind == "cancel" else "",
        )
        for r in rows
    ]


def missing_consents(request: HttpRequest) -> Sequence[Item]:
    _, gaps = consent_gaps(_clinic(request))
    return [
        Item(
            f"{g.patient.full_name}: consent {g.state}",
            reverse("intake:consents"),
            f"signed version {g.signed_version}" if g.signed_version else "never signed",
            level="warn",
        )
        for g in gaps[:LIMIT]
    ]


def shared_journal_entries(request: HttpRequest) -> Sequence[Item]:
    since = timezone.now() - timedelta(days=7)
    rows = (
        JournalEntry.objects.filter(clinic=_clinic(request), shared_at__gte=since)
        .shared()
        .select_related("patient")
        .order_by("-shared_at")[:LIMIT]
    )
    return [
        Item(
            f"{e.patient.full_name}: journal entry",
            reverse("portal:journal_tab", args=[e.patient_id]),
            f"shared {_when(e.shared_at)}",
        )
        for e in rows
    ]


def denied_access(request: HttpRequest) -> Sequence[Item]:
    since = timezone.now() - timedelta(hours=24)
    clinic = _clinic(request)
    rows = AuditEvent.objects.filter(clinic_id=clinic.pk, action="denied", at__gte=since)
    count = rows.count()
    if not count:
        return []
    people = rows.exclude(actor="").values_list("actor", flat=True).distinct()[:3]
    return [
        Item(
            f"{count} denied access attempt{'s' if count != 1 else ''} in the last 24 hours",
            reverse("audit:list") + "?action=denied",
            ", ".join(people),
            level="warn",
        )
    ]


def audit_chain_status(request: HttpRequest) -> Sequence[Item]:
    clinic = _clinic(request)
    key = f"portal:audit-chain:{clinic.pk}"
    problems = cache.get(key)
    if problems is None:
        problems = [p.problem for p in verify_chain(clinic.pk)][:3]
        cache.set(key, problems, AUDIT_STATUS_SECONDS)
    if not problems:
        return []
    return [
        Item(f"Audit trail check failed: {problem}", reverse("audit:list"), level="danger")
        for problem in problems
    ]


def settings_changes(request: HttpRequest) -> Sequence[Item]:
    since = timezone.now() - timedelta(days=7)
    rows = (
        ClinicSetting.objects.filter(clinic=_clinic(request), changed_at__gte=since)
        .select_related("changed_by")
        .order_by("-changed_at")[:LIMIT]
    )
    return [
        Item(
            f"Setting changed: {REGISTRY[s.key].label if s.key in REGISTRY else 'a retired setting'}",
            reverse("clinics:settings_area", args=[REGISTRY[s.key].area])
            if s.key in REGISTRY
            else reverse("clinics:settings"),
            f"by {s.changed_by} {_when(s.changed_at)}",
        )
        for s in rows
    ]


Rule = tuple[str, str, frozenset[Role], Callable[[HttpRequest], Sequence[Item]], str, int]

RULES: list[Rule] = [
    (
        "prescriber-screenings",
        "Screenings to decide",
        frozenset({P}),
        screenings_to_decide,
        "",
        20,
    ),
    (
        "prescriber-plans",
        "Plans to sign",
        frozenset({P}),
        plans_to_sign,
        "",
        21,
    ),
    (
        "safety-alerts",
        "Open safety alerts",
        frozenset({P, N, T}),
        open_safety_alerts,
        "measures:alert_list",
        5,
    ),
    (
        "frontdesk-consultations",
        "New consultation requests",
        frozenset({F, A}),
        new_consultation_requests,
        "intake:requests",
        20,
    ),
    (
        "frontdesk-appointment-requests",
        "Appointment requests from patients",
        frozenset({F}),
        appointment_requests,
        "portal:requests",
        21,
    ),
    (
        "frontdesk-consents",
        "Patients missing consent",
        frozenset({F}),
        missing_consents,
        "intake:consents",
        30,
    ),
    (
        "therapist-journal",
        "Journal entries shared this week",
        frozenset({T}),
        shared_journal_entries,
        "",
        30,
    ),
    (
        "admin-denied",
        "Denied access (24 hours)",
        frozenset({A}),
        denied_access,
        "audit:list",
        10,
    ),
    (
        "admin-audit-chain",
        "Audit trail integrity",
        frozenset({A}),
        audit_chain_status,
        "audit:list",
        11,
    ),
    (
        "nurse-sessions",
        "Dosing sessions today",
        frozenset({N}),
        d.sessions_today,
        "dosing:board",
        10,
    ),
    (
        "nurse-pre-dose",
        "Pre-dose checks pending",
        frozenset({N, P}),
        d.pre_dose_pending,
        "",
        11,
    ),
    (
        "nurse-overdue",
        "Overdue checkpoints",
        frozenset({N, P}),
        d.overdue_checkpoints,
        "dosing:board",
        4,
    ),
    (
        "nurse-rems",
        "REMS forms due",
        frozenset({N, P}),
        d.rems_forms_due,
        "dosing:rems_queue",
        30,
    ),
    (
        "nurse-counts",
        "Controlled-substance counts due",
        frozenset({N}),
        d.counts_due,
        "dosing:ledger",
        31,
    ),
    (
        "prescriber-soft-stops",
        "Soft stops waiting for your decision",
        frozenset({P}),
        d.soft_stops_to_decide,
        "",
        6,
    ),
    (
        "therapist-sessions",
        "Preparation and integration today",
        frozenset({T}),
        d.support_sessions_today,
        "",
        10,
    ),
    (
        "therapist-notes",
        "Notes to sign",
        frozenset({T, P}),
        d.notes_to_sign,
        "",
        20,
    ),
    (
        "frontdesk-reminders",
        "Failed reminders",
        frozenset({F}),
        d.failed_reminders,
        "scheduling:failed_reminders",
        25,
    ),
    (
        "admin-inventory",
        "Inventory discrepancies",
        frozenset({A}),
        d.inventory_discrepancies,
        "",
        12,
    ),
    (
        "admin-settings",
        "Settings changed this week",
        frozenset({A}),
        settings_changes,
        "clinics:settings",
        30,
    ),
]


def _section(rule: Rule) -> Section:
    key, title, roles, items, link, order = rule
    # Lazy: the URLconf must not be imported while apps are still starting.
    url: Any = reverse_lazy(link) if link else ""
    return Section(key, title, roles, items, link=url, order=order)


SECTIONS: tuple[Section, ...] = tuple(_section(rule) for rule in RULES)
