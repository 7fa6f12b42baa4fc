"""What a chart on a staff page shows, as plain JSON values for ``json_script``.

Every web chart is drawn in the browser by ``static/js/chart.js`` from a list of these
specs: a page places ``<div data-chart="ID">`` and the ``ID`` data block, and the script
draws one SVG per spec. Pure: no database, no drawing. The axis the script draws always
holds every point, level and marker value, so a spec's ``min``/``max`` are where the axis
starts at least, never a clamp.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

XValue = str | float  # an ISO 8601 moment on a time axis, or a number


class XAxis(TypedDict):
    kind: Literal["time", "number"]
    unit: NotRequired[str]
    min: NotRequired[XValue]  # the axis starts here at the latest
    max: NotRequired[XValue]  # and ends here at the earliest


class YAxis(TypedDict):
    min: float
    max: float
    unit: NotRequired[str]
    step: NotRequired[float]  # a grown axis ends on a multiple of this
    tick: NotRequired[float]  # a value label every this much from the bottom
    headroom: NotRequired[float]  # share of the range added above the highest value
    percent: NotRequired[bool]  # values are fractions, labelled as percentages


class Point(TypedDict):
    x: XValue
    y: float
    note: NotRequired[str]  # said after the value, in brackets
    tick: NotRequired[bool]  # drawn as a short upright mark (a censored follow-up)


class Series(TypedDict):
    label: str  # empty for a chart's only series
    tone: str  # one of the tones in app.css: blue, red, orange, green, grey
    points: list[Point]
    unit: NotRequired[str]
    shape: NotRequired[Literal["line", "step"]]
    marks: NotRequired[bool]  # a keyboard-focusable mark with a tooltip on every point


class Level(TypedDict):
    """A horizontal line across the chart: a threshold, a band's lower edge, a reference."""

    y: float
    label: str
    kind: Literal["threshold", "response", "remission", "band", "reference"]


class Marker(TypedDict):
    """An upright bar at one x: a dosing session. ``label`` is written above it, ``note``
    is its tooltip."""

    x: XValue
    label: str
    note: str


class Chart(TypedDict):
    title: str  # the figure's caption; empty for none
    summary: str  # the SVG's accessible name: what it shows, in one sentence
    x: XAxis
    y: YAxis
    series: list[Series]
    levels: NotRequired[list[Level]]
    markers: NotRequired[list[Marker]]
    table: NotRequired[Literal["all", "changes"]]  # figures beside it, when the page has none


def number(value: float) -> float:
    """A value as JSON writes it compactly: 12 rather than 12.0."""
    return int(value) if float(value).is_integer() else round(float(value), 4)


def point(x: XValue, y: float, *, note: str = "", tick: bool = False) -> Point:
    """One point, with its note and tick only when it has them."""
    made: Point = {"x": x, "y": number(y)}
    if note:
        made["note"] = note
    if tick:
        made["tick"] = True
    return made
