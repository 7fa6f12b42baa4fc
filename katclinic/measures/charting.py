"""What the Measures tab shows: scores over time, course change, alerts and invitations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from katclinic.lib.compiled import CompiledValues
from katclinic.lib.links import id_url
from katclinic.measures.catalogue import IDENTITY_COLUMNS, definition_by_identity, definition_of
from katclinic.measures.models import (
    Course,
    Invitation,
    MeasurementSchedule,
    Response,
    SafetyAlert,
    Source,
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


@dataclass(frozen=True)
class Point:
    """One current response as the chart, the course change and the table read it: its
    score columns and its parsed definition, without the answers."""

    pk: int
    key: str
    version: str
    at: datetime
    total: int | None
    band: str
    risk: str
    complete: bool
    source: str
    corrects_id: int | None
    definition: InstrumentDefinition


_POINT_COLUMNS = (
    "pk",
    "instrument_key",
    "instrument_version",
    "submitted_at",
    "total",
    "band",
    "risk",
    "complete",
    "source",
    "corrects_id",
    *IDENTITY_COLUMNS,
)


def _points_query(patient: int) -> QuerySet[Response, tuple[Any, ...]]:
    return (
        Response.objects.current()
        .filter(patient_id=patient)
        .order_by("submitted_at", "pk")
        .values_list(*_POINT_COLUMNS)
    )


_POINTS = CompiledValues(Response, _points_query, patient=int)


def points_of(patient: Patient) -> list[Point]:
    """The patient's current responses, oldest first: one query on the patient's rows, no
    JSON column read, each definition from the per-process parse."""
    rows = _POINTS(patient=patient.pk)
    return [
        Point(
            pk,
            key,
            version,
            at,
            total,
            band,
            risk,
            complete,
            source,
            corrects_id,
            definition_by_identity(*identity),
        )
        for pk, key, version, at, total, band, risk, complete, source, corrects_id, *identity in rows
    ]


def _series(points: list[Point]) -> dict[str, Any]:
    """Chart data (for json_script): per instrument, its axis, bands and placed points."""
    series: dict[str, Any] = {}
    for point in points:
        if point.total is None:
            continue
        if point.key not in series:
            series[point.key] = _new_series(point.definition)
        series[point.key]["points"].append(
            {"at": point.at.isoformat(), "total": point.total, "band": point.band}
        )
    return {key: _place(one) for key, one in series.items()}


def response_row(response: Response) -> dict[str, Any]:
    """One line of the responses table (a response page's own): flag labels and, for
    domain-scored scales, each domain's score next to the total."""
    definition = definition_of(response.instrument)
    return {"response": response} | _row_parts(definition, response.flags, response.answers)


def _row_parts(
    definition: InstrumentDefinition, flags: list[str], answers: dict[str, Any]
) -> dict[str, Any]:
    labels = {rule.code: rule.label for rule in definition.flags}
    domains = definition.scoring.domains
    scores = domain_scores(definition, answers) if domains else {}
    return {
        "name": definition.code.display or definition.title,
        "flags": [labels.get(code, "Safety flag") for code in flags],
        "domains": [{"label": d.label, "score": scores[d.key]} for d in domains],
    }


_SOURCES = dict(Source.choices)


TABLE_ROWS = 50


def _table_query(patient: int) -> QuerySet[Response, tuple[Any, ...]]:
    """The flags and answers of the newest rows ``points_of`` reads, newest first."""
    return (
        Response.objects.current()
        .filter(patient_id=patient)
        .order_by("-submitted_at", "-pk")
        .values_list("pk", "flags", "answers")[:TABLE_ROWS]
    )


_TABLE = CompiledValues(Response, _table_query, patient=int)


def table_rows(patient: Patient, points: list[Point]) -> list[dict[str, Any]]:
    """The newest responses for the table (``TABLE_ROWS`` of them), newest first, with what
    each line prints worked out here (the answers and flags read for these rows only)."""
    latest = list(reversed(points[-TABLE_ROWS:]))
    extra = {pk: (flags, answers) for pk, flags, answers in _TABLE(patient=patient.pk)}
    return [
        {
            "point": p,
            "when": f"{timezone.localtime(p.at):%Y-%m-%d %H:%M}",
            "source": _SOURCES.get(p.source, p.source),
            "correct_url": id_url("measures:correct", p.pk),
        }
        | _row_parts(p.definition, *extra.get(p.pk, ([], {})))
        for p in latest
    ]


def course_changes(course: Course, points: list[Point]) -> list[CourseChange]:
    """Baseline to latest for each scale answered in the course (the course baseline for its scale)."""
    within = [
        p
        for p in points
        if p.complete
        and p.total is not None
        and timezone.localdate(p.at) >= course.started_on
        and (course.ended_on is None or timezone.localdate(p.at) <= course.ended_on)
    ]
    baseline_row = course.baseline
    changes = []
    for key in dict.fromkeys(p.key for p in within):
        own = [p for p in within if p.key == key]
        latest = own[-1]
        if baseline_row is not None and baseline_row.instrument_key == key:
            baseline_pk, baseline_total = baseline_row.pk, baseline_row.total
        else:
            baseline_pk, baseline_total = own[0].pk, own[0].total
        if latest.pk == baseline_pk or baseline_total is None or latest.total is None:
            continue
        if latest.definition.total_range is None:
            continue
        changes.append(course_change(latest.definition, baseline_total, latest.total))
    return changes


def chart_context(patient: Patient) -> dict[str, Any]:
    points = points_of(patient)
    courses = list(
        Course.objects.filter(patient=patient)
        .select_related("baseline")
        .only(*_COURSE_FIELDS)
        .order_by("-started_on")
    )
    course = next((c for c in courses if c.ended_on is None), courses[0] if courses else None)
    return {
        "series": _series(points),
        "responses": table_rows(patient, points),
        "course": course,
        "changes": [
            {
                "change": c,
                "criteria": [x for x in (c.response, c.remission, c.mcid) if x is not None],
            }
            for c in (course_changes(course, points) if course else [])
        ],
    } | _alerts_and_invitations(patient)


# The course and its baseline's score: the baseline's answers are not shown here.
_COURSE_FIELDS = (
    "id",
    "patient",
    "started_on",
    "ended_on",
    "baseline__id",
    "baseline__instrument_key",
    "baseline__total",
)


def _alerts_and_invitations(patient: Patient) -> dict[str, Any]:
    """The patient's safety alerts, open and upcoming invitations and schedules, read here
    (the unused invitations in one query) rather than while the template renders."""
    now = timezone.now()
    alerts = list(
        SafetyAlert.objects.filter(patient=patient)
        .select_related("acknowledged_by", "closed_by")
        .order_by("-raised_at")
    )
    unused = list(
        Invitation.objects.filter(patient=patient, used_at__isnull=True)
        .filter(Q(due_at__gt=now) | Q(expires_at__gt=now))
        .order_by("due_at", "pk")
    )
    return {
        "alerts": alerts,
        "alert_rows": [(a, id_url("measures:alert_detail", a.pk)) for a in alerts],
        "invitations": [i for i in unused if i.due_at <= now < i.expires_at],
        "upcoming": [i for i in unused if i.due_at > now][:10],
        "schedules": list(
            MeasurementSchedule.objects.filter(patient=patient, active=True).order_by(
                "instrument_key", "rule"
            )
        ),
    }
