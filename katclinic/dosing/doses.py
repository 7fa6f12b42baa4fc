"""When the patient last had a dose, wherever it was given: the one answer other apps ask."""

from __future__ import annotations

from datetime import datetime

from katclinic.athome.models import HomeSession
from katclinic.dosing.models import Administration
from katclinic.patients.models import Patient


def last_dose_at(*, patient: Patient) -> datetime | None:
    """The start of the patient's latest ketamine or esketamine dose, in clinic or at home.

    Adjuncts (such as an antiemetic) are not doses of the course and do not count.
    """
    in_clinic = (
        Administration.objects.filter(session__patient_id=patient.pk, is_adjunct=False)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    at_home = (
        HomeSession.objects.filter(patient_id=patient.pk)
        .taken()
        .order_by("-taken_at")
        .values_list("taken_at", flat=True)
        .first()
    )
    known = [t for t in (in_clinic, at_home) if t is not None]
    return max(known) if known else None
