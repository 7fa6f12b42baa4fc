"""The patient progress view: scores and sessions of one course on one time axis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Prefetch

from katclinic.dosing.models import DosingSession, SideEffect
from katclinic.measures.catalogue import definition_of
from katclinic.measures.models import Course, Response
from katclinic.measures.scoring import InstrumentDefinition
from katclinic.outcomes.rollup import Summary, in_course, percent, status
from katclinic.outcomes.services import OutcomeSettings, summarize_course
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
    responses: list[Response] = field(default_factory=list)
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


def _sessions(patient: Patient, course: Course) -> list[dict[str, Any]]:
    query = (
        DosingSession.objects.filter(patient=patient, dose_started_at__isnull=False)
        .annotate(sys_peak=Max("checkpoints__systolic"), dia_peak=Max("checkpoints__diastolic"))
        .prefetch_related(
            "administrations", Prefetch("side_effects", SideEffect.objects.order_by("pk"))
        )
        .order_by("dose_started_at")
    )
    sessions = []
    for number, session in enumerate(
        [
            s
            for s in query
            if s.dose_started_at
            and in_course(s.dose_started_at, course.started_on, course.ended_on)
        ],
        1,
    ):
        mg = sum((a.dose_mg for a in session.administrations.all() if not a.is_adjunct), start=0)
        effects = [
            f"{e.get_kind_display() if e.kind != 'other' else e.other} ({e.get_severity_display().lower()})"
            + (", serious" if e.serious else "")
            for e in session.side_effects.all()
        ]
        sessions.append(
            {
                "number": number,
                "at": session.dose_started_at,
                "route": session.route,
                "mg": mg,
                "bp_peak": f"{session.sys_peak}/{session.dia_peak}" if session.sys_peak else "",
                "sys_peak": session.sys_peak,
                "dia_peak": session.dia_peak,
                "side_effects": effects,
                "state": session.get_state_display(),
            }
        )
    return sessions


def progress_for(patient: Patient, course_id: int | None = None) -> Progress:
    course, courses = choose_course(patient, course_id)
    progress = Progress(course=course, courses=courses)
    if course is None:
        return progress
    progress.summary, progress.definition, progress.settings = summarize_course(course)
    responses = Response.objects.current().filter(
        patient=patient, complete=True, total__isnull=False
    )
    progress.responses = [
        r
        for r in responses.select_related("instrument").order_by("submitted_at", "pk")
        if _within(course, r.submitted_at)
    ]
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
            definition = definition_of(response.instrument)
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
