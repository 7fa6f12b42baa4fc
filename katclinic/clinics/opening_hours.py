"""A clinic's weekly opening hours, changed through one audited function."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.models import Clinic

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@transaction.atomic
def set_opening_hours(
    *,
    clinic: Clinic,
    hours: dict[int, tuple[time, time]],
    by: User,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> Clinic:
    """Replace the weekly hours: `hours` maps weekday (0 is Monday) to (opens, closes); a day
    left out is closed. `detail` is added to the audit event (what the change strands)."""
    for opens, closes in hours.values():
        if opens >= closes:
            raise ValueError("a day must close after it opens")
    before = dict(clinic.opening_hours or {})
    after = {
        WEEKDAY_KEYS[day]: [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
        for day, (opens, closes) in sorted(hours.items())
    }
    clinic.opening_hours = after
    clinic.save(update_fields=["opening_hours"])
    audit.record(
        request=request,
        user=by,
        action=Action.UPDATE,
        clinic_id=clinic.pk,
        obj=clinic,
        detail={"opening_hours": [before, after], **(detail or {})},
    )
    return clinic
