"""The limits in force during a session: the stricter of the clinic's and the protocol's.

A clinic's settings and the signed protocol version each set in-session limits. Whichever
is stricter applies, and every alert names the limit that fired and where it came from,
so a nurse can see why one reading stops dosing in one protocol and only asks for a
recheck in another. Pure: the caller passes the clinic's thresholds and the protocol.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from typing import Literal

from katclinic.dosing.monitoring import Limit, Thresholds
from katclinic.protocols.schema import Protocol, Threshold

Direction = Literal["above", "below"]

# (protocol threshold, clinic Thresholds field, direction): a protocol's hold limit is the
# level at which the clinic asks for a recheck; its stop limits stop dosing.
PROTOCOL_LIMITS: tuple[tuple[str, str, Direction], ...] = (
    ("hold_above_systolic", "systolic_recheck", "above"),
    ("hold_above_diastolic", "diastolic_recheck", "above"),
    ("stop_above_systolic", "systolic_stop", "above"),
    ("stop_above_diastolic", "diastolic_stop", "above"),
    ("stop_above_hr", "heart_rate_max", "above"),
    ("min_spo2", "spo2_min", "below"),
)


def stricter(clinic: Limit | None, protocol: Limit | None, direction: Direction) -> Limit | None:
    """The limit that alerts first; the clinic's when both are equal (it names the setting)."""
    if clinic is None or protocol is None:
        return clinic or protocol
    if direction == "above":
        return protocol if protocol.value < clinic.value else clinic
    return protocol if protocol.value > clinic.value else clinic


def protocol_label(protocol: Protocol) -> str:
    return f"protocol {protocol.title}, version {protocol.version}"


def as_whole(value: Decimal, direction: Direction) -> int:
    """A whole-number limit that fires on exactly the whole readings the exact one does:
    "above 165.5" is "above 165", but "below 90.5" is "below 91"."""
    return math.floor(value) if direction == "above" else math.ceil(value)


def _protocol_limit(
    protocol: Protocol,
    threshold: Threshold,
    level_of: Limit | None,
    default_level: str,
    direction: Direction,
) -> Limit:
    cited = next((s for s in protocol.sources if s.key == threshold.source), None)
    citation = f": {cited.citation}" if cited is not None else ""
    return Limit(
        as_whole(threshold.value, direction),
        level_of.level if level_of is not None else default_level,  # type: ignore[arg-type]
        f"{protocol_label(protocol)}{citation}",
        threshold.verified,
    )


def effective_thresholds(clinic: Thresholds, protocol: Protocol) -> Thresholds:
    """Each in-session limit as the stricter of the clinic's and the protocol version's."""
    changes: dict[str, Limit | None] = {}
    for name, field, direction in PROTOCOL_LIMITS:
        threshold: Threshold | None = getattr(protocol.thresholds, name)
        if threshold is None:
            continue
        current: Limit | None = getattr(clinic, field)
        default_level = "recheck" if name.startswith("hold") else "stop"
        theirs = _protocol_limit(protocol, threshold, current, default_level, direction)
        changes[field] = stricter(current, theirs, direction)
    return replace(clinic, **changes)  # type: ignore[arg-type]
