"""Prior-authorization rules as plain functions: validity on a date, units left, expiry and
billing-code changes. No database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CodeReplacement:
    old: str
    new: str
    effective: date
    source: str


# The drug code of esketamine nasal spray changed on 1 January 2026: S0013 ends on
# 31 December 2025 and J0013 starts (CMS, HCPCS quarterly update, January 2026,
# https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update).
REPLACEMENTS: tuple[CodeReplacement, ...] = (
    CodeReplacement(
        "S0013",
        "J0013",
        date(2026, 1, 1),
        "CMS HCPCS quarterly update, January 2026, "
        "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update",
    ),
)
ESKETAMINE_DRUG_CODES = ("S0013", "J0013")


def esketamine_drug_code(on: date) -> str:
    """The HCPCS code of esketamine nasal spray valid on `on`."""
    for change in REPLACEMENTS:
        if change.old == "S0013":
            return change.new if on >= change.effective else change.old
    return "J0013"


def parse_codes(text: str) -> tuple[str, ...]:
    """`"s0013, G2082"` -> ("S0013", "G2082"); order kept, duplicates dropped."""
    seen: list[str] = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        code = part.strip().upper()
        if code and code not in seen:
            seen.append(code)
    return tuple(seen)


@dataclass(frozen=True)
class Authorization:
    status: str
    codes: Sequence[str]
    approved_units: int
    used_units: int
    valid_from: date | None
    valid_to: date | None

    @property
    def remaining(self) -> int:
        return max(self.approved_units - self.used_units, 0)


def covers(auth: Authorization, *, code: str, on: date) -> tuple[bool, str]:
    """Whether `auth` allows billing `code` on `on`, and why not."""
    if auth.status != "approved":
        return False, f"The authorization is {auth.status}, not approved."
    if auth.valid_from is None or auth.valid_to is None:
        return False, "The authorization has no approved dates."
    if not auth.valid_from <= on <= auth.valid_to:
        return False, "The session falls outside the authorization's approved dates."
    if auth.remaining <= 0:
        return False, "All approved units of the authorization are used."
    if code not in auth.codes:
        old = [r.old for r in REPLACEMENTS if r.new == code and r.old in auth.codes]
        if old:
            return False, f"The authorization names {old[0]}; sessions from then on bill {code}."
        return False, f"The authorization does not name {code}."
    return True, "A valid prior authorization covers this session."


def expires_soon(auth: Authorization, *, today: date, days: int) -> bool:
    return (
        auth.status == "approved"
        and auth.valid_to is not None
        and today <= auth.valid_to
        and (auth.valid_to - today).days <= days
    )


def units_low(auth: Authorization, *, percent: int) -> bool:
    if auth.status != "approved" or auth.approved_units <= 0:
        return False
    return auth.remaining * 100 <= auth.approved_units * percent


def code_change(auth: Authorization, *, today: date, notice_days: int) -> CodeReplacement | None:
    """A replacement that leaves this authorization naming a code that stops being valid while
    the authorization still runs, when the change is at most `notice_days` away or has passed."""
    if auth.status != "approved" or auth.valid_to is None:
        return None
    for change in REPLACEMENTS:
        if change.old not in auth.codes or change.new in auth.codes:
            continue
        if auth.valid_to < change.effective:
            continue
        if (change.effective - today).days <= notice_days:
            return change
    return None
