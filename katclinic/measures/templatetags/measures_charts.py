"""The Measures tab's scores as chart specs (see katclinic.lib.charts): one chart per
instrument, its severity bands drawn as levels at their lower edges."""

from __future__ import annotations

from typing import Any

from django import template

from katclinic.lib.charts import Chart, Level, point

register = template.Library()


def score_chart(series: dict[str, Any]) -> Chart:
    """One instrument's scores over time, on its scale's range (widened to hold them)."""
    points = [point(p["at"], p["total"], note=p["band"] or "") for p in series["points"]]
    bands: list[Level] = [
        {"y": b["min"], "label": b["label"], "kind": "band"} for b in series["bands"]
    ]
    last = series["points"][-1]
    return {
        "title": series["title"],
        "summary": f"{series['title']}: {len(points)} scores, latest {last['total']} on {last['at'][:10]}",
        "x": {"kind": "time"},
        "y": {"min": series["min"], "max": series["max"]},
        "series": [{"label": "", "tone": "blue", "points": points, "marks": True}],
        "levels": bands,
    }


@register.filter
def score_charts(series: dict[str, dict[str, Any]]) -> list[Chart]:
    """The Measures tab's ``series`` (per instrument) as one chart each, in its order."""
    return [score_chart(one) for one in series.values() if one["points"]]
