"""The session's vital signs as a chart spec (see katclinic.lib.charts), with the limits in
force drawn as levels."""

from __future__ import annotations

from typing import Any

from django import template

from katclinic.dosing.monitoring import Limit, Thresholds
from katclinic.lib.charts import Chart, Level, Point, Series, number

register = template.Library()

# (reading, label, unit, tone), in the order of the key.
VITALS = (
    ("systolic", "Systolic", "mmHg", "red"),
    ("diastolic", "Diastolic", "mmHg", "orange"),
    ("heart_rate", "Heart rate", "bpm", "blue"),
    ("spo2", "SpO2", "%", "green"),
)
# The usual 40-200 axis, grown in steps of 20 when a reading lies outside it.
AXIS_LOW, AXIS_HIGH, AXIS_STEP = 40, 200, 20


def _series(points: list[dict[str, Any]], name: str, label: str, unit: str, tone: str) -> Series:
    # Minutes and readings are plain numbers already (see dosing.views._chart_points).
    shown: list[Point] = [{"x": p["minute"], "y": p[name]} for p in points if p[name] is not None]
    return {"label": label, "unit": unit, "tone": tone, "points": shown, "marks": True}


def _levels(limits: Thresholds) -> list[Level]:
    named: tuple[tuple[Limit | None, str], ...] = (
        (limits.systolic_recheck, "systolic recheck >"),
        (limits.systolic_stop, "systolic stop >"),
        (limits.spo2_min, "SpO2 stop <"),
    )
    return [
        {"y": limit.value, "label": f"{words} {limit.value}", "kind": "threshold"}
        for limit, words in named
        if limit is not None
    ]


def _summary(points: list[dict[str, Any]]) -> str:
    last = points[-1]
    said = [
        f"{label} {last[name]} {unit}" for name, label, unit, _ in VITALS if last[name] is not None
    ]
    return (
        f"Blood pressure, heart rate and SpO2 over the session: {len(points)} readings; "
        f"at {number(last['minute'])} min {', '.join(said)}"
    )


def vitals_chart(points: list[dict[str, Any]], limits: Thresholds) -> list[Chart]:
    """One chart of every reading against minutes from the first dose; none without readings."""
    if not points:
        return []
    points = sorted(points, key=lambda p: p["minute"])  # a line runs forward in time
    minutes = [p["minute"] for p in points]
    return [
        {
            "title": "",
            "summary": _summary(points),
            "x": {"kind": "number", "unit": "min", "max": number(min(minutes) + 1)},
            "y": {"min": AXIS_LOW, "max": AXIS_HIGH, "step": AXIS_STEP, "tick": 2 * AXIS_STEP},
            "series": [_series(points, *vital) for vital in VITALS],
            "levels": _levels(limits),
        }
    ]


@register.simple_tag
def vitals_charts(points: list[dict[str, Any]], limits: Thresholds) -> list[Chart]:
    """The view reads the limits in force (`session_thresholds`) before rendering."""
    return vitals_chart(points, limits) if points else []
