"""A small server-rendered line chart: pure geometry for an SVG, no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 22


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    x0: float
    x_end: float
    y0: float
    y_top: float
    path: str
    points: list[tuple[float, float]]
    y_max: float
    line_y: float | None
    start: datetime
    end: datetime


def line_chart(
    points: Sequence[tuple[datetime, Decimal | float | int]],
    *,
    start: datetime,
    end: datetime,
    line: Decimal | float | None = None,
    step: bool = False,
) -> Chart | None:
    """Points placed on a time axis from ``start`` to ``end``; ``line`` is a horizontal
    reference (a threshold). ``step`` draws a value held until the next point."""
    shown = [(at, float(value)) for at, value in points if start <= at <= end]
    if not shown or end <= start:
        return None
    y_max = max([value for _, value in shown] + [float(line or 0)]) or 1.0
    span = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (at - start).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / (y_max * 1.1), 1)

    xy = [(x(at), y(value)) for at, value in shown]
    parts = [f"M{xy[0][0]},{xy[0][1]}"]
    for (_, prev_y), (px, py) in zip(xy, xy[1:], strict=False):
        if step:
            parts.append(f"H{px}V{py}" if prev_y != py else f"H{px}")
        else:
            parts.append(f"L{px},{py}")
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        x0=LEFT,
        x_end=WIDTH - RIGHT,
        y0=HEIGHT - BOTTOM,
        y_top=TOP,
        path="".join(parts),
        points=xy,
        y_max=y_max,
        line_y=y(float(line)) if line is not None else None,
        start=start,
        end=end,
    )
