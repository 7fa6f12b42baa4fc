"""The code sets the clinic bills with, shipped as data (`data/codes.json`) with their dates.

`code_for(service, on=day)` answers the code valid on a date of service, so a session on
31 December 2025 bills esketamine as S0013 and one on 2 January 2026 as J0013.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from katclinic.billing.models import BillingCode, CodeSystem

DATA = Path(__file__).resolve().parent / "data" / "codes.json"


class NoCodeError(LookupError):
    """No code of the code set is valid for this service on this date."""


def shipped_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(DATA.read_text())
    return rows


def load_codes(model: Any = BillingCode) -> int:
    """Insert or refresh every shipped code; safe to run again. Returns the number of rows."""
    for row in shipped_rows():
        values = dict(row)
        key = {k: values.pop(k) for k in ("system", "code", "valid_from")}
        values["unit_mg"] = Decimal(values["unit_mg"]) if values["unit_mg"] else None
        model.objects.update_or_create(**key, defaults=values)
    return len(shipped_rows())


def code_for(service: str, *, on: date) -> BillingCode:
    """The code that bills `service` on the date of service `on`."""
    found = list(BillingCode.objects.valid_on(on).filter(service=service)[:2])
    if len(found) != 1:
        raise NoCodeError(f"No single code bills {service} on {on.isoformat()}.")
    return found[0]


def diagnosis(code: str, *, on: date) -> BillingCode | None:
    """The ICD-10-CM entry for a chart diagnosis, if the clinic's code set holds it that day."""
    return (
        BillingCode.objects.valid_on(on)
        .filter(system=CodeSystem.ICD10CM, code=code.strip().upper())
        .first()
    )


def billable_codes(*, on: date) -> list[BillingCode]:
    """Procedure and drug codes staff may add to a charge on a date."""
    return list(
        BillingCode.objects.valid_on(on)
        .filter(system__in=[CodeSystem.HCPCS, CodeSystem.CPT])
        .order_by("code")
    )
