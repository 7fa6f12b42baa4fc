"""What a surveillance chart holds: the points inside its time span and its threshold.

The browser draws it (``static/js/chart.js``) from the spec that the review page's
``trend_charts`` tag makes of it; nothing here knows about drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Chart:
    points: list[tuple[datetime, float]]
    start: datetime
    end: datetime
    line: float | None  # a horizontal reference: the review threshold
    step: bool  # a value is held until the next point


def line_chart(
    points: Sequence[tuple[datetime, Decimal | float | int]],
    *,
    start: datetime,
    end: datetime,
    line: Decimal | float | None = None,
    step: bool = False,
) -> Chart | None:
    """Points on a time axis from ``start`` to ``end``; None when none falls inside it."""
    shown = [(at, float(value)) for at, value in points if start <= at <= end]
    if not shown or end <= start:
        return None
    return Chart(
        points=shown,
        start=start,
        end=end,
        line=float(line) if line is not None else None,
        step=step,
    )
