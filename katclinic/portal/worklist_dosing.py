"""Worklist sections that read the scheduling and dosing apps' models (nurse, prescriber,
therapist, front desk and admin items about sessions, notes, reminders and stock)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, OuterRef, Q, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from katclinic.clinics.access import has_perm
from katclinic.clinics.permissions import Perm
from katclinic.core.worklists import Item
from katclinic.dosing.board import floor
from katclinic.dosing.models import DosingSession, GateCheck, LedgerEntry, RemsForm, SupportNote
from katclinic.scheduling.hours import clinic_tz
from katclinic.scheduling.models import Appointment, Reminder

LIMIT = 10
FINISHED = ("discharged", "stopped_early")


def _clinic(request: HttpRequest) -> Any:
    return request.clinic  # type: ignore[attr-defined]


def clinic_day(clinic: Any) -> tuple[datetime, datetime]:
    """Start and end of today in the clinic's own time zone."""
    local = timezone.now().astimezone(clinic_tz(clinic))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _hm(clinic: Any, at: datetime) -> str:
    return f"{at.astimezone(clinic_tz(clinic)):%H:%M}"


def sessions_today(request: HttpRequest) -> Sequence[Item]:
    """Today's dosing sessions still to finish, by chair and then time."""
    clinic = _clinic(request)
    start, end = clinic_day(clinic)
    rows = (
        DosingSession.objects.for_clinic(clinic)
        .filter(scheduled_for__gte=start, scheduled_for__lt=end)
        .exclude(state__in=FINISHED)
        .select_related("patient")
        .order_by("chair", "scheduled_for")[: LIMIT * 2]
    )
    return [
        Item(
            f"{s.chair} · {_hm(clinic, s.scheduled_for)} · {s.patient.full_name}",
            reverse("dosing:session", args=[s.pk]),
            s.get_state_display(),
        )
        for s in rows
    ]


def pre_dose_pending(request: HttpRequest) -> Sequence[Item]:
    clinic = _clinic(request)
    rows = (
        DosingSession.objects.for_clinic(clinic)
        .filter(state__in=["checked_in", "pre_dose_checks"])
        .select_related("patient")
        .order_by("scheduled_for")[:LIMIT]
    )
    return [
        Item(
            f"{s.patient.full_name} ({s.chair}): pre-dose checks",
            reverse("dosing:pre_dose", args=[s.pk]),
            f"booked {_hm(clinic, s.scheduled_for)}",
            level="warn",
        )
        for s in rows
    ]


def overdue_checkpoints(request: HttpRequest) -> Sequence[Item]:
    chairs = [c for c in floor(_clinic(request), timezone.now()) if c.overdue or c.rechecks_overdue]
    return [
        Item(
            f"{c.chair} ({c.initials}): {c.overdue + c.rechecks_overdue} overdue",
            reverse("dosing:session", args=[c.session_id]),
            f"next: {c.next_label}" if c.next_label else "",
            level="danger",
        )
        for c in chairs
    ]


def rems_forms_due(request: HttpRequest) -> Sequence[Item]:
    today = timezone.localdate()
    rows = (
        RemsForm.objects.for_clinic(_clinic(request))
        .due()
        .select_related("session__patient")[:LIMIT]
    )
    return [
        Item(
            f"{f.session.patient.full_name}: REMS monitoring form",
            reverse("dosing:rems_edit", args=[f.pk]),
            f"due {f.due_on:%d %b}",
            level="danger" if f.due_on < today else "warn",
        )
        for f in rows
    ]


def counts_due(request: HttpRequest) -> Sequence[Item]:
    """Lots drawn from today with no count recorded since the last draw (end-of-day count)."""
    start, _ = clinic_day(_clinic(request))
    used = ("draw", "administration", "waste")
    lots = (
        LedgerEntry.objects.filter(clinic=_clinic(request), at__gte=start, kind__in=used)
        .values("lot_id", "lot__product", "lot__lot_number")
        .annotate(
            last_use=Max("at"),
            last_count=Max("lot__entries__at", filter=Q(lot__entries__kind="count")),
        )
    )
    return [
        Item(
            f"Count {row['lot__product']} lot {row['lot__lot_number']}",
            reverse("dosing:lot", args=[row["lot_id"]]),
            "used today, not counted since",
            level="warn",
        )
        for row in lots
        if row["last_count"] is None or row["last_count"] < row["last_use"]
    ][:LIMIT]


def soft_stops_to_decide(request: HttpRequest) -> Sequence[Item]:
    """Soft stops failing in the latest gate run of a session still before dosing."""
    latest = (
        GateCheck.objects.filter(session=OuterRef("session"))
        .order_by("-evaluation")
        .values("evaluation")[:1]
    )
    rows = (
        GateCheck.objects.filter(
            clinic=_clinic(request),
            stop="soft",
            result="fail",
            overridden_at__isnull=True,
            session__state__in=["checked_in", "pre_dose_checks"],
        )
        .filter(evaluation=Subquery(latest))
        .select_related("session__patient")
        .order_by("evaluated_at")[:LIMIT]
    )
    return [
        Item(
            f"{c.session.patient.full_name}: {c.label}",
            reverse("dosing:session", args=[c.session_id]),
            c.reason[:80],
            level="warn",
        )
        for c in rows
    ]


def support_sessions_today(request: HttpRequest) -> Sequence[Item]:
    clinic = _clinic(request)
    start, end = clinic_day(clinic)
    rows = (
        Appointment.objects.for_clinic(clinic)
        .live()
        .filter(start__gte=start, start__lt=end, kind__in=["preparation", "integration"])
        .select_related("patient", "staff")
        .order_by("start")[:LIMIT]
    )
    return [
        Item(
            f"{_hm(clinic, a.start)} {a.get_kind_display()}: {a.patient.full_name}",
            reverse("scheduling:patient_appointments", args=[a.patient_id]),
            "with you" if a.staff_id == request.user.pk else f"with {a.staff}",
        )
        for a in rows
    ]


def notes_to_sign(request: HttpRequest) -> Sequence[Item]:
    rows = (
        SupportNote.objects.filter(
            clinic=_clinic(request), author_id=request.user.pk, signed_at__isnull=True
        )
        .select_related("patient")
        .order_by("created_at")[:LIMIT]
    )
    return [
        Item(
            f"{n.patient.full_name}: {n.get_kind_display().lower()} note",
            reverse("dosing:session", args=[n.session_id]),
            f"written {timezone.localtime(n.created_at):%d %b}",
            level="warn",
        )
        for n in rows
    ]


def failed_reminders(request: HttpRequest) -> Sequence[Item]:
    rows = (
        Reminder.objects.filter(
            clinic=_clinic(request), state="failed", appointment__start__gte=timezone.now()
        )
        .select_related("appointment__patient")
        .order_by("appointment__start")[:LIMIT]
    )
    return [
        Item(
            f"{r.appointment.patient.full_name}: {r.get_channel_display()} reminder failed",
            reverse("scheduling:failed_reminders"),
            r.last_error[:80],
            level="warn",
        )
        for r in rows
    ]


def inventory_discrepancies(request: HttpRequest) -> Sequence[Item]:
    since = timezone.now() - timedelta(days=7)
    rows = (
        LedgerEntry.objects.filter(clinic=_clinic(request), kind="count", at__gte=since)
        .exclude(discrepancy_mg__isnull=True)
        .exclude(discrepancy_mg=0)
        .select_related("lot")
        .order_by("-at")[:LIMIT]
    )
    # An administrator sees the discrepancy; the lot's ledger is for those who keep it.
    opens = has_perm(request, Perm.KEEP_LEDGER)
    return [
        Item(
            f"{e.lot.product} lot {e.lot.lot_number}: count off by {e.discrepancy_mg} mg",
            reverse("dosing:lot", args=[e.lot_id]) if opens else "",
            f"counted {timezone.localtime(e.at):%d %b %H:%M}",
            level="danger",
        )
        for e in rows
    ]
