"""What the Measures tab shows: scores over time, course change, alerts and invitations."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from katclinic.measures.catalogue import definition_of
from katclinic.measures.models import (
    Course,
    Invitation,
    MeasurementSchedule,
    Response,
    SafetyAlert,
)
from katclinic.measures.scoring import CourseChange, course_change
from katclinic.patients.models import Patient


def _series(responses: list[Response]) -> dict[str, Any]:
    """Chart data (for json_script): per instrument, its range, bands and points."""
    series: dict[str, Any] = {}
    for response in responses:
        if response.total is None:
            continue
        if response.instrument_key not in series:
            definition = definition_of(response.instrument)
            low, high = definition.total_range or (0, 0)
            bands = [
                {"min": b.min, "max": b.max, "label": b.label}
                for b in (definition.bands.ranges if definition.bands else ())
            ]
            series[response.instrument_key] = {
                "title": definition.title,
                "min": low,
                "max": high,
                "bands": bands,
                "points": [],
            }
        series[response.instrument_key]["points"].append(
            {
                "at": response.submitted_at.isoformat(),
                "total": response.total,
                "band": response.band,
            }
        )
    return series


def course_changes(course: Course, responses: list[Response]) -> list[CourseChange]:
    """Baseline to latest for each scale answered in the course (the course baseline for its scale)."""
    within = [
        r
        for r in responses
        if r.complete
        and r.total is not None
        and timezone.localdate(r.submitted_at) >= course.started_on
        and (course.ended_on is None or timezone.localdate(r.submitted_at) <= course.ended_on)
    ]
    changes = []
    for key in dict.fromkeys(r.instrument_key for r in within):
        own = [r for r in within if r.instrument_key == key]
        baseline = (
            course.baseline if course.baseline and course.baseline.instrument_key == key else own[0]
        )
        latest = own[-1]
        if latest.pk == baseline.pk or baseline.total is None or latest.total is None:
            continue
        definition = definition_of(latest.instrument)
        if definition.total_range is None:
            continue
        changes.append(course_change(definition, baseline.total, latest.total))
    return changes


def chart_context(patient: Patient) -> dict[str, Any]:
    responses = list(
        Response.objects.current()
        .filter(patient=patient)
        .select_related("instrument", "submitted_by")
        .order_by("submitted_at", "pk")
    )
    courses = list(
        Course.objects.filter(patient=patient).select_related("baseline").order_by("-started_on")
    )
    course = next((c for c in courses if c.ended_on is None), courses[0] if courses else None)
    alerts = SafetyAlert.objects.filter(patient=patient).select_related(
        "assigned_to", "acknowledged_by", "closed_by"
    )
    now = timezone.now()
    return {
        "series": _series(responses),
        "responses": list(reversed(responses))[:50],
        "course": course,
        "changes": [
            {
                "change": c,
                "criteria": [x for x in (c.response, c.remission, c.mcid) if x is not None],
            }
            for c in (course_changes(course, responses) if course else [])
        ],
        "alerts": alerts.order_by("-raised_at"),
        "invitations": Invitation.objects.filter(patient=patient).open_at(now).order_by("due_at"),
        "upcoming": Invitation.objects.filter(
            patient=patient, used_at__isnull=True, due_at__gt=now
        ).order_by("due_at")[:10],
        "schedules": MeasurementSchedule.objects.filter(patient=patient, active=True).order_by(
            "instrument_key", "rule"
        ),
    }
