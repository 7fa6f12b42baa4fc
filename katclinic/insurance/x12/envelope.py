"""Segments and the ISA/GS/ST envelope shared by every 5010 transaction.

Delimiters follow the ASC X12 5010 implementation guides: `*` between elements, `:` between
components, `^` for repetitions and `~` after each segment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
TERMINATOR = "~"

# Characters X12 reserves as delimiters may not appear inside a value.
_RESERVED = re.compile(r"[*:^~\r\n]")


class X12Error(ValueError):
    """A value that cannot be written into an X12 file, or a file that cannot be read."""


def clean(value: object, *, name: str = "value") -> str:
    """A value as X12 text: upper case, delimiters removed, surrounding spaces trimmed."""
    text = "" if value is None else str(value)
    return _RESERVED.sub(" ", text).strip().upper()


def segment(tag: str, *elements: object) -> str:
    """One segment; trailing empty elements are dropped as the guides require."""
    values = [clean(e) if not isinstance(e, Composite) else e.text for e in elements]
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join([tag, *values]) + TERMINATOR


@dataclass(frozen=True)
class Composite:
    """A composite element such as `HC:J0013:25`."""

    parts: Sequence[object]

    @property
    def text(self) -> str:
        values = [clean(p) for p in self.parts]
        while values and values[-1] == "":
            values.pop()
        return COMPONENT.join(values)


def composite(*parts: object) -> Composite:
    return Composite(parts)


@dataclass(frozen=True)
class Envelope:
    """Interchange and group identities, from the clinic's clearinghouse enrolment."""

    sender_id: str
    receiver_id: str
    control_number: int
    created_at: datetime
    usage: str = "T"  # T test, P production (ISA15)
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"

    def __post_init__(self) -> None:
        if not 1 <= self.control_number <= 999_999_999:
            raise X12Error("The control number must be between 1 and 999999999.")
        if self.usage not in ("T", "P"):
            raise X12Error("Usage must be T (test) or P (production).")
        for name in ("sender_id", "receiver_id"):
            value = clean(getattr(self, name))
            if not value or len(value) > 15:
                raise X12Error(f"{name}: 1 to 15 characters are required.")


def _isa(envelope: Envelope) -> str:
    """The interchange header: fixed-width fields, ending with the component separator."""
    when = envelope.created_at
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        envelope.sender_qualifier,
        clean(envelope.sender_id).ljust(15),
        envelope.receiver_qualifier,
        clean(envelope.receiver_id).ljust(15),
        when.strftime("%y%m%d"),
        when.strftime("%H%M"),
        REPETITION,
        "00501",
        f"{envelope.control_number:09d}",
        "0",
        envelope.usage,
        COMPONENT,
    ]
    return ELEMENT.join(fields) + TERMINATOR


def wrap(
    envelope: Envelope, *, functional_id: str, transaction: str, version: str, body: list[str]
) -> str:
    """ISA, GS, ST around `body`, with SE, GE and IEA counts and control numbers."""
    when = envelope.created_at
    control = f"{envelope.control_number:09d}"
    st_control = f"{envelope.control_number % 10000:04d}"
    gs = segment(
        "GS",
        functional_id,
        envelope.sender_id,
        envelope.receiver_id,
        when.strftime("%Y%m%d"),
        when.strftime("%H%M"),
        envelope.control_number,
        "X",
        version,
    )
    st = segment("ST", transaction, st_control, version)
    se = segment("SE", len(body) + 2, st_control)
    ge = segment("GE", 1, envelope.control_number)
    iea = segment("IEA", 1, control)
    return "\n".join([_isa(envelope), gs, st, *body, se, ge, iea]) + "\n"


def split(text: str) -> list[list[str]]:
    """The segments of a file as lists of elements, reading the delimiters from its ISA."""
    raw = text.lstrip()
    if not raw.startswith("ISA") or len(raw) < 106:
        raise X12Error("The file does not start with an ISA interchange header.")
    element = raw[3]
    terminator = raw[105]
    segments = []
    for chunk in raw.split(terminator):
        chunk = chunk.strip()
        if chunk:
            segments.append(chunk.split(element))
    return segments


def components(value: str, separator: str = COMPONENT) -> list[str]:
    return value.split(separator)


def amount(cents: int) -> str:
    """Integer cents as an X12 decimal amount: 15000 -> 150, 15050 -> 150.5."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    if part == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{part:02d}".rstrip("0")


def cents(value: str, *, name: str = "amount") -> int:
    """An X12 decimal amount as integer cents, without passing through a float."""
    text = value.strip()
    match = re.fullmatch(r"(-?)(\d*)(?:\.(\d{0,2}))?", text)
    if not text or match is None or (not match.group(2) and not match.group(3)):
        raise X12Error(f"{name}: {value!r} is not an amount.")
    sign, whole, part = match.groups()
    total = int(whole or "0") * 100 + int((part or "").ljust(2, "0"))
    return -total if sign else total
