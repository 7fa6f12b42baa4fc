"""De-identify one patient's record for research export (HIPAA Safe Harbor).

Safe Harbor (45 CFR 164.514(b)(2)) treats health information as
de-identified when eighteen kinds of identifier are removed and the covered
entity has no actual knowledge that what remains could identify the person.
This module works from an allowlist: it copies out only the fields named in
`PATIENT_FIELDS`, `SCORE_FIELDS`, `SESSION_FIELDS` and `NOTE_FIELDS`, so a
field nobody has reviewed is dropped rather than leaked. How each identifier
kind is handled:

 1. Names                               dropped (and scrubbed from free text)
 2. Geography smaller than a state      dropped, except the first three ZIP
                                        digits, which become "000" for the
                                        sparsely populated areas below
 3. Dates (except year), ages over 89   dates shifted per patient (see below);
                                        date of birth replaced by an age,
                                        with 90 and over reported as "90+"
 4.-5. Telephone and fax numbers        dropped
 6. Email addresses                     dropped
 7. Social Security numbers             dropped
 8. Medical record numbers              dropped
 9. Health plan beneficiary numbers     dropped
10. Account numbers                     dropped
11. Certificate and licence numbers     dropped
12. Vehicle identifiers and plates      dropped
13. Device identifiers and serials      dropped
14. Web URLs                            dropped
15. IP addresses                        dropped
16. Biometric identifiers               dropped
17. Full-face photographs and images    dropped
18. Any other unique code               dropped; replaced by `research_id`

Date shifting. Strict Safe Harbor keeps only the year of each date, which
destroys the intervals outcome research needs (days from first infusion to
response, say). Instead every date and time of one patient is moved by the
same number of days, between -180 and +180 and never 0, derived from a secret
with HMAC-SHA256. Intervals within a patient survive; the calendar dates do
not. A shifted date is still a full date, so whether an export built this way
meets Safe Harbor or needs an expert determination (164.514(b)(1)) is for the
clinic's privacy officer to decide. Times are converted to UTC so a time-zone
offset cannot hint at where the patient lives.

Research id. `research_id` is an HMAC of the patient's internal id under the
same secret (with a different label from the date shift, so one reveals
nothing about the other). 164.514(c) allows a re-identification code that
cannot be translated back without information the covered entity keeps to
itself; the secret must therefore stay with the clinic and never travel with
an export. Rotating the secret changes every research id and every shift.

Free text. Clinical notes are the most likely place for a name or address to
hide, so they are left out unless `include_free_text=True`. When included,
they are scrubbed on a best-effort basis only: regular expressions remove
email addresses, URLs, IP addresses, SSN-like and long digit runs, telephone
numbers and dates, and every string from the patient's own demographic fields
(names, street, city, MRN and so on) is removed wherever it appears. Regular
expressions cannot find a relative's name, a workplace or a rare diagnosis;
a person must read scrubbed notes before they leave the clinic.

Expected record shape (a Mapping, or a dataclass with the same fields)::

    {
        "patient": {
            "id": "internal primary key, required",
            "first_name": ..., "last_name": ..., "middle_name": ...,
            "date_of_birth": date or "YYYY-MM-DD",
            "sex": "F",
            "address_line1": ..., "address_line2": ..., "city": ..., "county": ...,
            "state": "NH", "zip": "03301",
            "phone": ..., "fax": ..., "email": ..., "ssn": ..., "mrn": ...,
            "health_plan_number": ..., "account_number": ..., "licence_number": ...,
            "vehicle_id": ..., "device_id": ..., "url": ..., "ip_address": ...,
            "biometric_id": ..., "photo": ..., (any other key is dropped)
        },
        "scores": [{"instrument": "PHQ-9", "date": date, "total": 14, "items": [...]}],
        "sessions": [{"started_at": aware datetime, "ended_at": aware datetime,
                      "route": "IV", "dose_mg": 35.0, "dose_mg_per_kg": 0.5,
                      "phase": "induction", "session_number": 1}],
        "notes": [{"written_at": aware datetime, "kind": "integration", "text": "..."}],
    }

Dates may be `date` objects or ISO strings; datetimes must carry a time zone.
The result is plain JSON-ready data: dates and datetimes become ISO strings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

# Three-digit ZIP areas with 20,000 people or fewer, which Safe Harbor says
# must be reported as 000. Source: HHS Office for Civil Rights, "Guidance
# Regarding Methods for De-identification of Protected Health Information"
# (26 November 2012), section on the Safe Harbor method, based on the 2000
# Census. Review it when HHS publishes figures from a later census.
RESTRICTED_ZIP3 = frozenset(
    {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
)

MAX_SHIFT_DAYS = 180
MIN_SECRET_BYTES = 16
OLDEST_REPORTED_AGE = 89  # Safe Harbor: ages over 89 are pooled as 90+.

# Field kinds for the allowlists below.
KEEP = "keep"
SHIFT = "shift"

PATIENT_FIELDS = ("sex", "state")  # copied as they are; zip and age are derived
SCORE_FIELDS = {"instrument": KEEP, "date": SHIFT, "total": KEEP, "items": KEEP}
SESSION_FIELDS = {
    "started_at": SHIFT,
    "ended_at": SHIFT,
    "route": KEEP,
    "dose_mg": KEEP,
    "dose_mg_per_kg": KEEP,
    "phase": KEEP,
    "session_number": KEEP,
}
NOTE_FIELDS = {"written_at": SHIFT, "kind": KEEP}  # "text" only when asked for


def _digest(label: bytes, patient_key: str, secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"secret must be at least {MIN_SECRET_BYTES} bytes")
    if not patient_key:
        raise ValueError("patient_key must not be empty")
    message = label + b"\x00" + patient_key.encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def research_id(patient_key: str, *, secret: bytes) -> str:
    """A stable pseudonym for the patient: same key and secret, same id."""
    return "R" + _digest(b"research-id", patient_key, secret).hex()[:20]


def date_offset_days(patient_key: str, *, secret: bytes) -> int:
    """The patient's date shift in days: in [-180, 180] and never 0."""
    span = 2 * MAX_SHIFT_DAYS  # 360 non-zero offsets
    value = int.from_bytes(_digest(b"date-shift", patient_key, secret)[:8]) % span
    return value - MAX_SHIFT_DAYS if value < MAX_SHIFT_DAYS else value - MAX_SHIFT_DAYS + 1


def shift_date(d: date, *, patient_key: str, secret: bytes) -> date:
    """Move a date by the patient's offset (see `date_offset_days`).

    A datetime is refused here (it is also a date); use `shift_datetime`.
    """
    if isinstance(d, datetime):
        raise TypeError("shift_date takes a date; use shift_datetime for datetimes")
    return d + timedelta(days=date_offset_days(patient_key, secret=secret))


def shift_datetime(dt: datetime, *, patient_key: str, secret: bytes) -> datetime:
    """Move an aware datetime by the patient's offset and express it in UTC."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime: dosing and scoring times must carry a time zone")
    offset = timedelta(days=date_offset_days(patient_key, secret=secret))
    return (dt + offset).astimezone(UTC)


def zip3(zip_code: object) -> str | None:
    """The first three ZIP digits, or "000" for a restricted area; None if unusable."""
    digits = re.sub(r"\D", "", str(zip_code or ""))
    if len(digits) < 5:
        return None
    prefix = digits[:3]
    return "000" if prefix in RESTRICTED_ZIP3 else prefix


def age_for_export(date_of_birth: date, on: date) -> int | str:
    """Whole years of age on `on`, with anyone over 89 reported as "90+"."""
    birthday_passed = (on.month, on.day) >= (date_of_birth.month, date_of_birth.day)
    age = on.year - date_of_birth.year - (0 if birthday_passed else 1)
    if age < 0:
        raise ValueError("date of birth is after the reference date")
    return f"{OLDEST_REPORTED_AGE + 1}+" if age > OLDEST_REPORTED_AGE else age


def _parse_when(value: object) -> date:
    """A date or datetime from an object or an ISO string (datetime wins on time)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    raise TypeError(f"expected a date, datetime or ISO string, got {type(value).__name__}")


def _as_mapping(value: object, what: str) -> Mapping[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return value
    raise TypeError(f"{what} must be a mapping or a dataclass, got {type(value).__name__}")


def _plain(value: object) -> object:
    """Copy a kept value as JSON-ready data, refusing anything unexpected."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    raise TypeError(f"cannot export a value of type {type(value).__name__}")


def _export_when(value: object, patient_key: str, secret: bytes) -> str | None:
    if value is None:
        return None
    when = _parse_when(value)
    if isinstance(when, datetime):
        return shift_datetime(when, patient_key=patient_key, secret=secret).isoformat()
    return shift_date(when, patient_key=patient_key, secret=secret).isoformat()


def _export_events(
    events: Iterable[object],
    fields: Mapping[str, str],
    patient_key: str,
    secret: bytes,
) -> Iterator[dict[str, object]]:
    for event in events:
        source = _as_mapping(event, "event")
        out: dict[str, object] = {}
        for name, kind in fields.items():
            if name not in source:
                continue
            value = source[name]
            out[name] = _export_when(value, patient_key, secret) if kind == SHIFT else _plain(value)
        yield out


def _earliest_event_day(record: Mapping[str, Any]) -> date | None:
    days = []
    for section, fields in (("scores", SCORE_FIELDS), ("sessions", SESSION_FIELDS)):
        for event in record.get(section) or ():
            source = _as_mapping(event, "event")
            for name, kind in fields.items():
                if kind == SHIFT and source.get(name) is not None:
                    when = _parse_when(source[name])
                    days.append(when.date() if isinstance(when, datetime) else when)
    return min(days, default=None)


def _export_patient(patient: Mapping[str, Any], age_on: date | None) -> dict[str, object]:
    out: dict[str, object] = {name: _plain(patient.get(name)) for name in PATIENT_FIELDS}
    out["zip3"] = zip3(patient.get("zip"))
    dob = patient.get("date_of_birth")
    age: int | str | None = None
    if dob is not None and age_on is not None:
        born = _parse_when(dob)
        age = age_for_export(born.date() if isinstance(born, datetime) else born, age_on)
    out["age"] = age
    return out


def deidentify_record(
    record: Mapping[str, Any],
    *,
    secret: bytes,
    include_free_text: bool = False,
    as_of: date | None = None,
) -> dict[str, Any]:
    """Return a Safe Harbor export of one patient's record (see the module doc).

    Age is taken on `as_of` if given, otherwise at the patient's first dated
    score or session (age at baseline), and is None if neither is known.
    Raises ValueError without a patient id, since the date shift and research
    id must be the same every time the patient is exported.
    """
    record = _as_mapping(record, "record")
    patient = _as_mapping(record.get("patient") or {}, "patient")
    patient_key = str(patient.get("id") or "")
    if not patient_key:
        raise ValueError("record['patient']['id'] is required for a consistent export")
    age_on = as_of or _earliest_event_day(record)
    result: dict[str, object] = {
        "research_id": research_id(patient_key, secret=secret),
        "patient": _export_patient(patient, age_on),
    }
    for section, fields in (("scores", SCORE_FIELDS), ("sessions", SESSION_FIELDS)):
        events = record.get(section) or ()
        result[section] = list(_export_events(events, fields, patient_key, secret))
    if include_free_text:
        result["notes"] = _export_notes(record.get("notes") or (), patient, patient_key, secret)
    return result


def _export_notes(
    notes: Iterable[object],
    patient: Mapping[str, Any],
    patient_key: str,
    secret: bytes,
) -> list[dict[str, object]]:
    notes = list(notes)
    known = sorted(set(_identifying_strings(patient)), key=len, reverse=True)
    exported = []
    shifted = _export_events(notes, NOTE_FIELDS, patient_key, secret)
    for note, out in zip(notes, shifted, strict=True):
        text = _as_mapping(note, "note").get("text")
        out["text"] = None if text is None else scrub_free_text(str(text), known_values=known)
        exported.append(out)
    return exported


def _identifying_strings(value: object) -> Iterator[str]:
    """Every string-like value in the patient's fields outside the allowlist."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key not in PATIENT_FIELDS:
                yield from _identifying_strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _identifying_strings(item)
    elif isinstance(value, str | int | date) and not isinstance(value, bool):
        text = value.isoformat() if isinstance(value, date) else str(value).strip()
        if len(text) >= 2:
            yield text


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)

_HEX = r"[0-9a-f]{1,4}"
_IPV6_FULL = rf"(?:{_HEX}:){{3,7}}{_HEX}"  # three or more colons, so not a clock time
_IPV6_SHORT = rf"(?:{_HEX}(?::{_HEX})*)?::(?:{_HEX}(?::{_HEX})*)?"  # with "::"

# Order matters: an IP address or an SSN must be caught before the looser
# date and telephone patterns take part of it.
_SCRUBBERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[EMAIL]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("[URL]", re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)),
    ("[IP]", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")),
    ("[IP]", re.compile(rf"(?<![\w:])(?:{_IPV6_FULL}|{_IPV6_SHORT})(?![\w:])", re.IGNORECASE)),
    ("[SSN]", re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b")),
    ("[DATE]", re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")),
    ("[DATE]", re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b")),
    ("[DATE]", re.compile(rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b", re.I)),
    ("[DATE]", re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?\b", re.I)),
    (
        "[PHONE]",
        re.compile(
            r"(?<!\w)(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{3,4}\b"
        ),
    ),
    ("[NUMBER]", re.compile(r"\b\d{5,}\b")),  # ZIP codes, MRNs, account numbers
)


def scrub_free_text(text: str, *, known_values: Iterable[str] = ()) -> str:
    """Best-effort removal of identifiers from free text (see the module doc).

    `known_values` are literal strings to remove wherever they occur, matched
    case-insensitively on word boundaries, longest first; pass the patient's
    own names, address, MRN and so on.
    """
    for value in sorted(known_values, key=len, reverse=True):
        literal = rf"(?<!\w){re.escape(value)}(?!\w)"
        text = re.sub(literal, "[REDACTED]", text, flags=re.IGNORECASE)
    for tag, pattern in _SCRUBBERS:
        text = pattern.sub(tag, text)
    return text
