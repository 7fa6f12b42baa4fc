"""The patient progress view: scores and sessions of one course on one time axis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

from katclinic.dosing.models import STATE_CHOICES, DosingSession, SideEffect
from katclinic.lib.compiled import ByIds
from katclinic.measures.catalogue import IDENTITY_COLUMNS, definition_by_identity
from katclinic.measures.models import Course, Response
from katclinic.measures.scoring import InstrumentDefinition
from katclinic.outcomes.rollup import Summary, in_course, percent, status
from katclinic.outcomes.services import OutcomeSettings, session_doses, summarize_course
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan

# Scores from shortly before the start belong on the chart: the baseline is often one.
LEAD_IN = timedelta(days=30)


@dataclass
class Progress:
    course: Course | None
    courses: list[Course]
    summary: Summary | None = None
    definition: InstrumentDefinition | None = None
    settings: OutcomeSettings | None = None
    responses: list[ScoreRow] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    plan: Plan | None = None
    chart: dict[str, Any] = field(default_factory=dict)

    @property
    def figures(self) -> dict[str, Any]:
        """The course's outcome figures in words, as the Progress tab and the PDF show them."""
        return course_figures(self.summary)


def course_figures(summary: Summary | None) -> dict[str, Any]:
    """Response, remission, sessions before response and questionnaires answered, from the
    same summary that fills the outcome row the dashboard counts."""
    if summary is None:
        return {
            "response": "not met",
            "remission": "not met",
            "sessions_to_response": None,
            "answered": "none due",
        }
    totals = summary.totals
    due, answered = totals.get("questionnaires_due", 0), totals.get("questionnaires_answered", 0)
    return {
        "response": status(summary.responding, summary.responded_at),
        "response_lost_at": summary.response_lost_at,
        "remission": status(summary.remitted, summary.remitted_at),
        "sessions_to_response": summary.sessions_to_response,
        "answered": f"{answered} of {due} due" + (f" ({percent(answered, due)}%)" if due else ""),
    }


def choose_course(patient: Patient, course_id: int | None) -> tuple[Course | None, list[Course]]:
    courses = list(Course.objects.filter(patient=patient).order_by("-started_on", "-pk"))
    chosen = next((c for c in courses if c.pk == course_id), None)
    if chosen is None:
        chosen = next((c for c in courses if c.ended_on is None), courses[0] if courses else None)
    return chosen, courses


def _within(course: Course, at: datetime) -> bool:
    return in_course(at, course.started_on - LEAD_IN, course.ended_on)


def _dosed_query(patients: list[int]) -> QuerySet[DosingSession, tuple[Any, ...]]:
    return (
        DosingSession.objects.filter(patient_id__in=patients, dose_started_at__isnull=False)
        .values_list("pk", "dose_started_at", "route", "state")
        .annotate(sys_peak=Max("checkpoints__systolic"), dia_peak=Max("checkpoints__diastolic"))
        .order_by("dose_started_at", "pk")
    )


_DOSED = ByIds(DosingSession, _dosed_query)


def _dosed(patient: Patient) -> list[tuple[int, datetime, str, str, int | None, int | None]]:
    """(id, dose start, route, state, peak systolic, peak diastolic) of the patient's dosed
    sessions, oldest first: one grouped query over the patient's rows."""
    return [
        (pk, at, route, state, sys_peak, dia_peak)
        for pk, at, route, state, sys_peak, dia_peak in _DOSED([patient.pk])
    ]


def _session_doses(patient: Patient, ids: list[int]) -> dict[int, Decimal]:
    """Ketamine given per session (adjuncts are not ketamine), as the course summary
    counts it."""
    wanted = set(ids)
    return {pk: mg for pk, mg in session_doses({patient.pk}).items() if pk in wanted}


_KINDS = dict(SideEffect.Kind.choices)
_SEVERITIES = dict(SideEffect.Severity.choices)
_STATES = dict(STATE_CHOICES)


def _effects_query(patients: list[int]) -> QuerySet[SideEffect, tuple[Any, ...]]:
    return (
        SideEffect.objects.filter(session__patient_id__in=patients)
        .order_by("pk")
        .values_list("session_id", "kind", "other", "severity", "serious")
    )


_EFFECTS = ByIds(SideEffect, _effects_query)


def _session_effects(patient: Patient, ids: list[int]) -> dict[int, list[str]]:
    """Each session's side effects in words, in the order they were recorded."""
    found: dict[int, list[str]] = {}
    wanted = set(ids)
    for session_id, kind, other, severity, serious in _EFFECTS([patient.pk]):
        if session_id not in wanted:
            continue
        name = _KINDS.get(kind, kind) if kind != "other" else other
        text = f"{name} ({str(_SEVERITIES.get(severity, severity)).lower()})"
        found.setdefault(session_id, []).append(text + (", serious" if serious else ""))
    return found


def _sessions(patient: Patient, course: Course) -> list[dict[str, Any]]:
    dosed = [
        row for row in _dosed(patient) if in_course(row[1], course.started_on, course.ended_on)
    ]
    ids = [row[0] for row in dosed]
    mg, effects = (
        (_session_doses(patient, ids), _session_effects(patient, ids)) if ids else ({}, {})
    )
    return [
        {
            "number": number,
            "at": at,
            "when": f"{timezone.localtime(at):%Y-%m-%d %H:%M}",
            "route": route,
            "mg": mg.get(pk) or 0,
            "bp_peak": f"{sys_peak}/{dia_peak}" if sys_peak else "",
            "sys_peak": sys_peak,
            "dia_peak": dia_peak,
            "side_effects": effects.get(pk, []),
            "state": _STATES.get(state, state),
        }
        for number, (pk, at, route, state, sys_peak, dia_peak) in enumerate(dosed, 1)
    ]


@dataclass(frozen=True)
class ScoreRow:
    """One complete scored response on the chart and in the scores table (no answers read)."""

    pk: int
    instrument_key: str
    submitted_at: datetime
    total: int
    band: str
    definition: InstrumentDefinition

    @property
    def when(self) -> str:
        """The time as the table prints it, in the active time zone."""
        return f"{timezone.localtime(self.submitted_at):%Y-%m-%d %H:%M}"


def _scored_query(patients: list[int]) -> QuerySet[Response, tuple[Any, ...]]:
    return (
        Response.objects.current()
        .filter(patient_id__in=patients, complete=True, total__isnull=False)
        .order_by("submitted_at", "pk")
        .values_list("pk", "instrument_key", "submitted_at", "total", "band", *IDENTITY_COLUMNS)
    )


_SCORED = ByIds(Response, _scored_query)


def _scored(patient: Patient, course: Course) -> list[ScoreRow]:
    return [
        ScoreRow(pk, key, at, total, band, definition_by_identity(*identity))
        for pk, key, at, total, band, *identity in _SCORED([patient.pk])
        if _within(course, at)
    ]


def progress_for(patient: Patient, course_id: int | None = None) -> Progress:
    course, courses = choose_course(patient, course_id)
    progress = Progress(course=course, courses=courses)
    if course is None:
        return progress
    progress.summary, progress.definition, progress.settings = summarize_course(course)
    progress.responses = _scored(patient, course)
    progress.sessions = _sessions(patient, course)
    progress.plan = (
        Plan.objects.filter(patient=patient)
        .select_related("protocol_version")
        .order_by("-created_at")
        .first()
    )
    progress.chart = chart_data(progress)
    return progress


def thresholds(progress: Progress) -> dict[str, Any]:
    """The lines to draw: the response level (from the baseline) and the remission level."""
    definition, summary = progress.definition, progress.summary
    lines: dict[str, Any] = {}
    if definition is None or summary is None or summary.baseline is None:
        return lines
    if definition.response is not None:
        level = summary.baseline.total * (1 - definition.response.min_reduction_percent / 100)
        lines["response"] = {
            "value": round(level, 1),
            "label": f"response: {definition.response.min_reduction_percent:g}% below baseline",
        }
    if definition.remission is not None:
        lines["remission"] = {
            "value": definition.remission.threshold,
            "label": f"remission: {definition.remission.operator} {definition.remission.threshold:g}",
        }
    return lines


def chart_data(progress: Progress) -> dict[str, Any]:
    """Everything the browser chart and the PDF chart draw (plain JSON values)."""
    series: dict[str, Any] = {}
    for response in progress.responses:
        if response.instrument_key not in series:
            definition = response.definition
            low, high = definition.total_range or (0, 0)
            series[response.instrument_key] = {
                "title": definition.title,
                "min": low,
                "max": high,
                "points": [],
            }
        series[response.instrument_key]["points"].append(
            {
                "at": response.submitted_at.isoformat(),
                "total": response.total,
                "band": response.band,
            }
        )
    primary = progress.settings["instrument"] if progress.settings else ""
    return {
        "primary": primary if primary in series else next(iter(series), ""),
        "series": series,
        "thresholds": thresholds(progress),
        "sessions": [
            {
                "at": s["at"].isoformat(),
                "number": s["number"],
                "mg": str(s["mg"]),
                "bp": s["bp_peak"],
                "effects": s["side_effects"],
            }
            for s in progress.sessions
        ],
    }
