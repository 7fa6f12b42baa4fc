"""The review page's charts as specs (see katclinic.lib.charts)."""

from __future__ import annotations

from django import template

from katclinic.lib.charts import Chart as Spec
from katclinic.lib.charts import Level
from katclinic.surveillance.chart import Chart

register = template.Library()


def trend_chart(chart: Chart, *, summary: str, unit: str, line_label: str, marks: bool) -> Spec:
    """One line over the chart's span from zero, with its threshold, and a table of the
    figures (only where the value changes when the points are many, as daily totals are)."""
    levels: list[Level] = []
    if chart.line is not None:
        levels.append(
            {
                "y": chart.line,
                "label": f"{line_label} {chart.line:g} {unit}".strip(),
                "kind": "threshold",
            }
        )
    return {
        "title": "",
        "summary": f"{summary}; the same figures are in the table below",
        "x": {"kind": "time", "min": chart.start.isoformat(), "max": chart.end.isoformat()},
        "y": {"min": 0, "max": 0, "unit": unit, "headroom": 0.1},
        "series": [
            {
                "label": "",
                "tone": "blue",
                "points": [{"x": at.isoformat(), "y": value} for at, value in chart.points],
                "shape": "step" if chart.step else "line",
                "marks": marks,
            }
        ],
        "levels": levels,
        "table": "all" if marks else "changes",
    }


@register.simple_tag
def trend_charts(
    chart: Chart | None, summary: str, unit: str = "", line_label: str = "", marks: bool = False
) -> list[Spec]:
    return (
        []
        if chart is None
        else [trend_chart(chart, summary=summary, unit=unit, line_label=line_label, marks=marks)]
    )
