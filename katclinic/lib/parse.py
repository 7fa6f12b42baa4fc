"""The one set of parsers for values taken from a request: ids, integers, dates, decimals.

Each parser accepts only what the database and Python can hold and raises ``BadParameter``
naming the parameter otherwise. Web pages turn it into a 400 page that names the parameter
(``katclinic.core.middleware.BadParameterMiddleware``), the JSON API into a 422 naming it, the
FHIR facade into a 400 OperationOutcome.

Python's own ``str.isdigit`` and ``int`` accept Unicode digits ("²", "٣"), and ``int`` refuses
very long digit strings with an error of its own; these parsers take ASCII digits only and
check the length first. Dates are years 1 to 9999 (what ``datetime`` holds).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone

# Row ids: PostgreSQL bigint holds up to 2**63 - 1 (19 digits); SQLite's integer likewise.
MAX_ID = 2**63 - 1
# Digits accepted before conversion, far below Python's int-conversion limit.
MAX_DIGITS = 19
MAX_TEXT = 64  # a date, datetime or decimal longer than this is not one
MAX_JSON_DEPTH = 32
# The days a request may name: a day either side and any time-zone offset still fit in
# years 1 to 9999, so a page that looks at "the day after" never overflows.
EARLIEST_DAY = date(1, 1, 3)
LATEST_DAY = date(9999, 12, 29)

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)


class BadParameter(ValueError):
    """A request value that is not what its parameter takes; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _text(value: object, field: str, what: str) -> str:
    if value is None:
        raise BadParameter(field, f"is required ({what})")
    if not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        raise BadParameter(field, "must not contain NUL characters")
    return value.strip()


def parse_int(value: object, field: str, *, min: int | None = None, max: int | None = None) -> int:
    """A whole number written in ASCII digits (optional sign), within [min, max]."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = _text(value, field, "a whole number")
        if len(text.lstrip("+-")) > MAX_DIGITS or not _INT.fullmatch(text):
            raise BadParameter(field, "must be a whole number")
        number = int(text)
    if min is not None and number < min:
        raise BadParameter(field, f"must be at least {min}")
    if max is not None and number > max:
        raise BadParameter(field, f"must be at most {max}")
    return number


def parse_id(value: object, field: str) -> int:
    """A record number: a positive whole number a database id can hold."""
    return parse_int(value, field, min=1, max=MAX_ID)


def optional_id(value: object, field: str) -> int | None:
    """A record number, or None when the parameter is absent or empty."""
    if value is None or value == "":
        return None
    return parse_id(value, field)


def parse_date(value: object, field: str) -> date:
    """A calendar date written YYYY-MM-DD, year 1 to 9999."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return _within(value, field)
    text = _text(value, field, "a date such as 2026-03-31")
    if len(text) > MAX_TEXT or not _DATE.fullmatch(text):
        raise BadParameter(field, "must be a date such as 2026-03-31")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadParameter(field, "is not a calendar date") from None
    return _within(day, field)


def _within(day: date, field: str) -> date:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise BadParameter(
            field, f"must be between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"
        )
    return day


def optional_date(value: object, field: str) -> date | None:
    if value is None or value == "":
        return None
    return parse_date(value, field)


def parse_datetime(value: object, field: str) -> datetime:
    """A date and time (ISO 8601); without an offset it is read in the active time zone."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = _text(value, field, "a date and time such as 2026-03-31T14:30")
        if len(text) > MAX_TEXT or not _DATETIME.fullmatch(text):
            raise BadParameter(field, "must be a date and time such as 2026-03-31T14:30")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise BadParameter(field, "is not a calendar date and time") from None
    _within(moment.date(), field)
    if timezone.is_naive(moment):
        try:
            moment = timezone.make_aware(moment)
        except (ValueError, OverflowError):
            raise BadParameter(field, "is out of range") from None
    try:
        moment.astimezone(UTC)  # year 1 or 9999 near the edge may not convert
    except OverflowError:
        raise BadParameter(field, "is out of range") from None
    return moment


def parse_decimal(
    value: object,
    field: str,
    *,
    min: Decimal | None = None,
    max: Decimal | None = None,
    places: int | None = None,
) -> Decimal:
    """A decimal number in ASCII digits (no exponent, no NaN or infinity)."""
    if isinstance(value, Decimal):
        number = value
        if not number.is_finite():
            raise BadParameter(field, "must be a number")
    else:
        text = _text(value, field, "a number")
        if len(text) > MAX_TEXT or not _DECIMAL.fullmatch(text):
            raise BadParameter(field, "must be a number such as 12.5")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise BadParameter(field, "must be a number such as 12.5") from None
    if places is not None and -number.as_tuple().exponent > places:  # type: ignore[operator]
        raise BadParameter(field, f"must have at most {places} decimal places")
    if min is not None and number < min:
        raise BadParameter(field, f"must be at least {min}")
    if max is not None and number > max:
        raise BadParameter(field, f"must be at most {max}")
    return number


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests deeper than `limit` (iteratively, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def nul_path(value: Any, path: str) -> str | None:
    """The path (``Bundle.entry[0].resource.name[0].family``) of the first text holding a NUL
    character, in keys or values, or None. PostgreSQL text cannot store NUL."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in str(key):
                    return where
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


def load_json(body: bytes | str, field: str = "body", *, limit: int = MAX_JSON_DEPTH) -> Any:
    """Decode a JSON body, refusing one nested deeper than `limit` levels."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadParameter(field, f"nests deeper than {limit} levels") from None
    except ValueError:
        raise BadParameter(field, "is not valid JSON") from None
    if json_depth_exceeds(value, limit):
        raise BadParameter(field, f"nests deeper than {limit} levels")
    return value


class DayField(forms.DateField):
    """A form's date field that refuses days at the very edge of the calendar (see above)."""

    def clean(self, value: Any) -> Any:
        day = super().clean(value)
        if day is not None:
            try:
                _within(day, str(self.label or "date"))
            except BadParameter as error:
                raise forms.ValidationError(
                    error.message[0].upper() + error.message[1:] + "."
                ) from None
        return day
