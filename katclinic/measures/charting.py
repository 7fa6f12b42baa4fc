"""What the Measures tab shows: scores over time, course change, alerts and invitations."""

from __future__ import annotations

from collections.abc import Iterable
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
from katclinic.measures.scoring import (
    CourseChange,
    InstrumentDefinition,
    course_change,
    domain_scores,
)
from katclinic.patients.models import Patient


def value_axis(*, low: float, high: float, values: Iterable[float]) -> tuple[float, float]:
    """The axis of a chart: the scale's range, widened to hold every value.

    Nothing is ever clamped: a value outside the scale's range moves the axis end
    to it, so it is drawn where it really is. A flat range is widened by one.
    """
    seen = list(values)
    bottom = min([low, *seen])
    top = max([high, *seen])
    return (bottom, top) if top > bottom else (bottom, bottom + 1)


def position(value: float, *, axis: tuple[float, float]) -> float:
    """Where ``value`` sits on the axis, from 0 (bottom) to 1 (top), rounded for drawing."""
    bottom, top = axis
    return round((value - bottom) / (top - bottom), 4)


def _new_series(definition: InstrumentDefinition) -> dict[str, Any]:
    low, high = definition.total_range or (0, 0)
    bands = [
        {"min": b.min, "max": b.max, "label": b.label}
        for b in (definition.bands.ranges if definition.bands else ())
    ]
    return {"title": definition.title, "min": low, "max": high, "bands": bands, "points": []}


def _place(series: dict[str, Any]) -> dict[str, Any]:
    """Fix the axis to hold every point and give each point and band its position."""
    axis = value_axis(
        low=series["min"], high=series["max"], values=[p["total"] for p in series["points"]]
    )
    series["min"], series["max"] = axis
    for point in series["points"]:
        point["position"] = position(point["total"], axis=axis)
    for band in series["bands"]:
        band["position"] = position(band["min"], axis=axis)
    return series


def _series(responses: list[Response]) -> dict[str, Any]:
    """Chart data (for json_script): per instrument, its axis, bands and placed points."""
    series: dict[str, Any] = {}
    for response in responses:
        if response.total is None:
            continue
        if response.instrument_key not in series:
            series[response.instrument_key] = _new_series(definition_of(response.instrument))
        series[response.instrument_key]["points"].append(
            {
                "at": response.submitted_at.isoformat(),
                "total": response.total,
                "band": response.band,
            }
        )
    return {key: _place(one) for key, one in series.items()}


def response_row(response: Response) -> dict[str, Any]:
    """One line of the responses table: flag labels and, for domain-scored scales, each
    domain's score next to the total."""
    definition = definition_of(response.instrument)
    labels = {rule.code: rule.label for rule in definition.flags}
    scores = domain_scores(definition, response.answers)
    return {
        "response": response,
        "name": definition.code.display or definition.title,
        "flags": [labels.get(code, "Safety flag") for code in response.flags],
        "domains": [
            {"label": domain.label, "score": scores[domain.key]}
            for domain in definition.scoring.domains
        ],
    }


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
        "responses": [response_row(r) for r in reversed(responses[-50:])],
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
