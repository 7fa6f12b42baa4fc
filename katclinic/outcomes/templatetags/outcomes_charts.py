"""The progress tab's and the dashboard's charts as specs (see katclinic.lib.charts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django import template

from katclinic.lib.charts import Chart, Level, Marker, Point, point
from katclinic.lib.statistics import KmStep

register = template.Library()

THRESHOLD_KINDS: tuple[Literal["response", "remission"], ...] = ("response", "remission")


def _session(s: dict[str, Any]) -> Marker:
    note = f"Session {s['number']}, {s['at'][:10]}: {s['mg']} mg"
    note += f", peak BP {s['bp']}" if s["bp"] else ""
    note += f"; {'; '.join(s['effects'])}" if s["effects"] else ""
    return {"x": s["at"], "label": s["bp"] or "", "note": note}


def _levels(thresholds: dict[str, Any]) -> list[Level]:
    return [
        {"y": thresholds[kind]["value"], "label": thresholds[kind]["label"], "kind": kind}
        for kind in THRESHOLD_KINDS
        if thresholds.get(kind)
    ]


def progress_chart(data: dict[str, Any], key: str, span: tuple[str, str]) -> Chart:
    """One scale's scores with every session marked; the primary scale carries the levels."""
    series = data["series"][key]
    points = [point(p["at"], p["total"], note=p["band"] or "") for p in series["points"]]
    last = series["points"][-1]
    return {
        "title": series["title"],
        "summary": f"{series['title']}: {len(points)} scores, latest {last['total']} on {last['at'][:10]}",
        "x": {"kind": "time", "min": span[0], "max": span[1]},
        "y": {"min": series["min"], "max": series["max"]},
        "series": [{"label": "", "tone": "blue", "points": points, "marks": True}],
        "levels": _levels(data["thresholds"]) if key == data["primary"] else [],
        "markers": [_session(s) for s in data["sessions"]],
    }


@register.filter
def progress_charts(data: dict[str, Any]) -> list[Chart]:
    """``Progress.chart`` as one chart per scale, the primary first, all on one time axis
    from the first to the last score or session."""
    keys = [k for k, s in data.get("series", {}).items() if s["points"]]
    if not keys:
        return []
    moments = [p["at"] for k in keys for p in data["series"][k]["points"]]
    moments += [s["at"] for s in data["sessions"]]
    span = (min(moments, key=datetime.fromisoformat), max(moments, key=datetime.fromisoformat))
    keys.sort(key=lambda k: k != data["primary"])
    return [progress_chart(data, key, span) for key in keys]


def _km_point(step: KmStep) -> Point:
    said = [f"{step.at_risk} at risk"]
    said += [f"{step.events} with the event"] if step.events else []
    said += [f"{step.censored} censored"] if step.censored else []
    return point(step.time, step.survival, note=", ".join(said), tick=step.censored > 0)


def km_chart(steps: list[KmStep], *, title: str, summary: str) -> Chart:
    """A Kaplan-Meier curve as steps from 100% at day 0; censored follow-ups are ticks."""
    points = [point(0, 1.0), *(_km_point(step) for step in steps)]
    return {
        "title": title,
        "summary": summary,
        "x": {"kind": "number", "unit": "days", "min": 0},
        "y": {"min": 0, "max": 1, "tick": 0.5, "percent": True},
        "series": [{"label": "", "tone": "blue", "points": points, "shape": "step", "marks": True}],
        "levels": [{"y": 0.5, "label": "median", "kind": "reference"}],
    }


@register.simple_tag
def km_charts(curve: dict[str, Any], instrument: str, event_word: str) -> list[Chart]:
    """The dashboard's curve for one instrument (see ``dashboard.survival``)."""
    if not curve["steps"]:
        return []
    name = instrument.upper()
    summary = (
        f"Kaplan-Meier curve for {name}: {curve['subjects']} courses, {curve['events']} "
        f"{event_word}; readings at fixed days are in the table below"
    )
    return [km_chart(curve["steps"], title="", summary=summary)]
