"""Parsing FHIR search values: dates with prefixes, tokens, and paging (pure)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from katclinic.lib.parse import BadParameter, parse_int

DEFAULT_COUNT = 50
MAX_COUNT = 500
DATE_PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge")
_DATE_VALUE = re.compile(
    r"^(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<time>\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$",
    re.ASCII,
)


class SearchValueError(ValueError):
    """A search parameter value that cannot be understood; the message says why."""


@dataclass(frozen=True)
class DateRange:
    """A search date: ``prefix`` applied to the half-open interval [start, end)."""

    prefix: str
    start: datetime
    end: datetime


def parse_date(raw: str, zone: tzinfo) -> DateRange:
    """``ge2025-01``, ``2025-03-04``, ``lt2025-03-04T10:00:00Z``: a prefix and a range.

    A value without a time zone is read in ``zone`` (the server's zone, as FHIR says).
    """
    prefix = raw[:2] if raw[:2] in DATE_PREFIXES else "eq"
    value = raw[2:] if raw[:2] in DATE_PREFIXES else raw
    match = _DATE_VALUE.match(value)
    if match is None:
        raise SearchValueError(f"{raw!r} is not a FHIR date such as 2025-03-04 or ge2025-03")
    try:
        start, end = _bounds(match, zone)
        start.astimezone(UTC), end.astimezone(UTC)  # the database compares in UTC
    except (ValueError, OverflowError) as error:
        raise SearchValueError(f"{raw!r} is not a calendar date in years 1 to 9999") from error
    return DateRange(prefix, start, end)


def _bounds(match: re.Match[str], zone: tzinfo) -> tuple[datetime, datetime]:
    year = int(match["year"])
    if match["time"]:
        moment = datetime.fromisoformat(f"{match.group(0)[:10]}T{match['time']}")
        tz = (
            zone
            if not match["tz"]
            else datetime.fromisoformat(
                f"2000-01-01T00:00{match['tz'].replace('Z', '+00:00')}"
            ).tzinfo
        )
        moment = moment.replace(tzinfo=tz)
        precision = timedelta(seconds=1) if match["time"].count(":") == 2 else timedelta(minutes=1)
        return moment, moment + precision
    if match["day"]:
        first = date(year, int(match["month"]), int(match["day"]))
        last = first + timedelta(days=1)
    elif match["month"]:
        month = int(match["month"])
        first = date(year, month, 1)
        last = first + timedelta(days=calendar.monthrange(year, month)[1])
    else:
        first, last = date(year, 1, 1), date(year + 1, 1, 1)
    return _midnight(first, zone), _midnight(last, zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def parse_token(raw: str) -> tuple[str | None, str]:
    """``system|code`` -> (system, code); ``|code`` -> ("", code); ``code`` -> (None, code)."""
    if "|" not in raw:
        return None, raw
    system, code = raw.split("|", 1)
    return system, code


def parse_count(raw: str | None) -> int:
    """The page size: ``_count`` if given (0 asks for the total only), at most MAX_COUNT."""
    if raw is None:
        return DEFAULT_COUNT
    try:
        # _count=0 asks only for the total (FHIR R4 search, 3.1.1.5.6 "_count").
        return min(parse_int(raw, "_count", min=0), MAX_COUNT)
    except BadParameter as error:
        raise SearchValueError(str(error)) from error


def parse_offset(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        return parse_int(raw, "_offset", min=0, max=999_999_999)
    except BadParameter as error:
        raise SearchValueError(str(error)) from error


def utc(moment: datetime) -> str:
    """An instant as FHIR wants it: UTC with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
