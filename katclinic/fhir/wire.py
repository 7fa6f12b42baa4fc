"""FHIR JSON as sent: compact UTF-8, with every ``Decimal`` written as an exact JSON number.

FHIR's decimal keeps the digits it was given (``10.10`` is not ``10.1``, and
``1234567.89`` must not come back as ``1234567.8899999999``), so amounts and doses are
built as ``Decimal`` and never pass through a float. The standard library's encoder
quotes anything it does not know, so each Decimal is first written as a marked string
that no served text can hold (a NUL, which every import refuses, and a random key of
this process), and the marks are then replaced by the number's own digits.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

_KEY = secrets.token_hex(8)
_MARK = f"\x00{_KEY}:"
# json writes the NUL as \u0000; what follows is the number's plain decimal form.
_MARKED = re.compile(r'"\\u0000' + _KEY + r':(-?[0-9]+(?:\.[0-9]+)?)"')


def decimal_text(value: Decimal) -> str:
    """The number's digits without an exponent: 1E+2 -> 100, 0.10 -> 0.10."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a FHIR decimal")
    return format(value, "f")


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """``value`` as compact JSON; a Decimal becomes a JSON number with its exact digits."""
    marked = False

    def default(item: Any) -> str:
        nonlocal marked
        if isinstance(item, Decimal):
            marked = True
            return _MARK + decimal_text(item)
        raise TypeError(f"{type(item).__name__} cannot be written as FHIR JSON")

    text = json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys, default=default
    )
    return _MARKED.sub(r"\1", text) if marked else text


def loads(text: str | bytes) -> Any:
    """FHIR JSON read back with its decimals exact (as ``Decimal``)."""
    return json.loads(text, parse_float=Decimal)
