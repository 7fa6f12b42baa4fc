"""Everything the prescriber review page shows for one patient, gathered in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from katclinic.dosing.models import SideEffect
from katclinic.lib.compiled import CompiledValues
from katclinic.measures.catalogue import IDENTITY_COLUMNS, definition_by_identity
from katclinic.measures.models import Response
from katclinic.outcomes.progress import Progress, progress_for
from katclinic.patients.models import Patient
from katclinic.surveillance import exposure
from katclinic.surveillance.chart import Chart, line_chart
from katclinic.surveillance.exposure import DoseEvent, Exposure
from katclinic.surveillance.jobs import signed_protocol
from katclinic.surveillance.models import (
    ExposureWindow,
    ReviewTask,
    SurveillanceDue,
    TreatmentDecision,
)
from katclinic.surveillance.schedule import SCREEN_INSTRUMENTS, next_due
from katclinic.surveillance.services import thresholds
from katclinic.surveillance.sources import dose_events

RECENT_DOSES = 20


@dataclass
class Review:
    patient: Patient
    progress: Progress
    exposure: Exposure
    thresholds: dict[ExposureWindow, Decimal]
    events: list[DoseEvent]
    exposure_chart: Chart | None
    outcome_chart: Chart | None
    outcome_title: str
    screens: list[dict[str, Any]]
    schedule: list[dict[str, Any]] = field(default_factory=list)
    side_effects: list[SideEffect] = field(default_factory=list)
    open_tasks: list[ReviewTask] = field(default_factory=list)
    closed_tasks: list[ReviewTask] = field(default_factory=list)
    decisions: list[TreatmentDecision] = field(default_factory=list)

    @property
    def recent_doses(self) -> list[DoseEvent]:
        return list(reversed(self.events[-RECENT_DOSES:]))


def course_bounds(
    started_on: date, ended_on: date | None, zone: ZoneInfo
) -> tuple[datetime, datetime | None]:
    """A course's dates as moments: from its first local midnight to the one after its end."""
    start = datetime.combine(started_on, time(0), tzinfo=zone)
    end = (
        None
        if ended_on is None
        else datetime.combine(ended_on + timedelta(days=1), time(0), tzinfo=zone)
    )
    return start, end


def _outcome_chart(progress: Progress, now: datetime) -> tuple[Chart | None, str]:
    primary = progress.chart.get("primary", "")
    series = progress.chart.get("series", {}).get(primary)
    if not series or progress.course is None:
        return None, ""
    points = [(datetime.fromisoformat(p["at"]), p["total"]) for p in series["points"]]
    start = min(at for at, _ in points)
    return line_chart(points, start=start, end=max(now, start + timedelta(days=1))), series["title"]


def _schedule(patient: Patient, progress: Progress, today: date) -> list[dict[str, Any]]:
    protocol = signed_protocol(patient)
    course = progress.course
    if protocol is None or course is None or course.ended_on is not None:
        return []
    sent = {}
    for due in SurveillanceDue.objects.filter(course=course).order_by("due_on"):
        sent[due.kind] = due
    return [
        {
            "kind": item.kind,
            "every_days": item.every_days,
            "last": sent.get(item.kind),
            "next": next_due(
                started_on=course.started_on,
                first_after_days=item.first_after_days,
                every_days=item.every_days,
                today=today,
            ),
            "reminder": item.kind not in SCREEN_INSTRUMENTS,
        }
        for item in protocol.surveillance
    ]


def _screens_query(patient: int) -> QuerySet[Response, tuple[Any, ...]]:
    return (
        Response.objects.current()
        .filter(patient_id=patient, instrument_key__in=SCREEN_INSTRUMENTS.values())
        .order_by("-submitted_at", "-pk")
        .values_list("submitted_at", "flags", "complete", *IDENTITY_COLUMNS)[:50]
    )


_SCREENS = CompiledValues(Response, _screens_query, patient=int)


def _screens(patient: Patient) -> list[dict[str, Any]]:
    """Answered surveillance screens, newest first, with the findings in words."""
    screens = []
    for at, flags, complete, *identity in _SCREENS(patient=patient.pk):
        definition = definition_by_identity(*identity)
        labels = {rule.code: rule.label for rule in definition.flags}
        screens.append(
            {
                "at": at,
                "title": definition.title,
                "findings": [labels.get(code, code) for code in flags],
                "complete": complete,
            }
        )
    return screens


def review_for(
    patient: Patient,
    course_id: int | None = None,
    *,
    events: list[DoseEvent] | None = None,
    limits: dict[ExposureWindow, Decimal] | None = None,
) -> Review:
    """``events``: the patient's doses up to now, and ``limits`` the clinic's review
    thresholds, when the caller has them already."""
    now = timezone.now()
    zone = ZoneInfo(patient.clinic.timezone)
    progress = progress_for(patient, course_id)
    events = dose_events(patient, until=now) if events is None else events
    start = end = None
    if progress.course is not None:
        start, end = course_bounds(progress.course.started_on, progress.course.ended_on, zone)
    daily = exposure.daily_rolling(events, end=now, days=365, length=exposure.ROLLING_30_DAYS)
    limits = thresholds(patient) if limits is None else limits
    outcome_chart, outcome_title = _outcome_chart(progress, now)
    tasks = ReviewTask.objects.filter(patient=patient).select_related("closed_by")
    return Review(
        patient=patient,
        progress=progress,
        events=events,
        thresholds=limits,
        exposure=exposure.exposure(events, at=now, course_start=start, course_end=end),
        exposure_chart=line_chart(
            daily, start=now - timedelta(days=365), end=now, line=limits[ExposureWindow.DAYS_30]
        )
        if events
        else None,
        outcome_chart=outcome_chart,
        outcome_title=outcome_title,
        screens=_screens(patient),
        schedule=_schedule(patient, progress, now.astimezone(zone).date()),
        side_effects=list(
            SideEffect.objects.filter(session__patient=patient, clinic_id=patient.clinic_id)
            .select_related("session")
            .order_by("-recorded_at", "-pk")[:50]
        ),
        open_tasks=list(tasks.open().order_by("raised_at", "pk")),
        closed_tasks=list(tasks.filter(state="closed").order_by("-closed_at", "-pk")[:10]),
        decisions=list(
            TreatmentDecision.objects.filter(patient=patient)
            .select_related("decided_by")
            .order_by("-decided_at", "-pk")[:20]
        ),
    )
