"""The Spravato REMS monitoring form of a session, filled in from the session's record.

Below both `services` (a session stopped early) and `monitoring_services` (a discharge),
which each create or refresh the form, and `record_services`, which completes it.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from katclinic.dosing import rems
from katclinic.dosing.models import Administration, DosingSession, RemsEnrollment, RemsForm


def _bp(checkpoint: Any) -> str | None:
    return f"{checkpoint.systolic}/{checkpoint.diastolic}" if checkpoint else None


def _bp_readings(session: DosingSession) -> dict[str, str | None]:
    readings = list(session.checkpoints.filter(systolic__isnull=False).order_by("taken_at", "pk"))
    pre = [c for c in readings if c.label == "pre-dose"]
    after = [c for c in readings if c.label != "pre-dose"]
    start = session.dose_started_at
    near_40 = None
    if start is not None and after:
        # The REMS asks for BP "about 40 minutes" after dosing: the reading nearest to it.
        near_40 = min(after, key=lambda c: abs((c.taken_at - start).total_seconds() / 60 - 40))
    return {
        "bp_pre_dose": _bp(pre[-1] if pre else None),
        "bp_40_min": _bp(near_40),
        "bp_completion": _bp(after[-1] if after else None),
    }


def _minutes(session: DosingSession, until: Any) -> int | None:
    if session.dose_started_at is None or until is None:
        return None
    return int((until - session.dose_started_at).total_seconds() // 60)


def _dose(session: DosingSession) -> dict[str, Any]:
    doses = list(session.administrations.filter(is_adjunct=False))
    total = sum(a.dose_mg for a in doses)
    key = {56: "56", 84: "84"}.get(int(total)) if doses and total == int(total) else None
    lots = sorted({a.lot_number for a in doses})
    return {
        "dose": key or ("other" if doses else None),
        "dose_other_mg": None if key else (str(total) if doses else None),
        "lot_number": ", ".join(lots) or None,
    }


def _effects(session: DosingSession) -> dict[str, Any]:
    kinds = set(session.side_effects.values_list("kind", flat=True))
    checkpoints = session.checkpoints.exclude(label="pre-dose")
    serious = [
        f"{e.get_kind_display()}: {e.what_was_done}"
        for e in session.side_effects.filter(serious=True)
    ]
    return {
        "sedation": "sedation" in kinds or checkpoints.filter(moaas__lt=5).exists(),
        "dissociation": "dissociation" in kinds or checkpoints.filter(cadss6__gt=0).exists(),
        "respiratory_depression": session.alerts.filter(
            measure__in=["spo2", "respiratory_rate"]
        ).exists(),
        "serious_adverse_events": "; ".join(serious) or "None",
    }


def prefill(session: DosingSession) -> dict[str, Any]:
    """Every REMS field the session record can answer; the rest stay empty for staff."""
    patient = session.patient
    meds = patient.medications.filter(is_active=True)
    earlier = DosingSession.objects.filter(
        patient=patient, route="intranasal", scheduled_for__lt=session.scheduled_for
    )
    gate_vitals = (
        session.gate_checks.filter(key="vitals_within_limits").order_by("-evaluation").first()
    )
    last = session.discharge_assessments.order_by("-assessed_at").first()
    nurse = Administration.objects.filter(session=session).select_related("given_by").first()
    data: dict[str, Any] = {
        "patient_name": patient.full_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.get_sex_at_birth_display(),
        "first_treatment": not earlier.filter(administrations__is_adjunct=False).exists(),
        "patient_enrolled": RemsEnrollment.objects.filter(patient=patient).exists(),
        "benzodiazepines": meds.filter(is_benzodiazepine=True).exists(),
        "non_benzo_hypnotics": None,  # no medication flag for these: staff answer it
        "psychostimulants": meds.filter(is_psychostimulant=True).exists(),
        "maois": meds.filter(is_maoi=True).exists(),
        "monitoring_hcp": nurse.given_by.full_name if nurse else None,
        "monitoring_setting": session.clinic.name,
        "session_date": timezone.localtime(session.scheduled_for).date().isoformat(),
        "total_monitoring_minutes": _minutes(session, session.discharged_at),
        "minutes_ready_without_2h_rule": _minutes(session, session.clinically_ready_at),
        "vitals_ok_pre_dose": None if gate_vitals is None else (gate_vitals.result == "pass"),
        "vitals_ok_at_completion": last.vitals_acceptable if last else None,
    }
    return data | _dose(session) | _bp_readings(session) | _effects(session)


def ensure_rems_form(session: DosingSession) -> RemsForm:
    """Create or refresh the session's form (inside the caller's transaction); staff entries stay."""
    day = timezone.localtime(session.scheduled_for).date()
    form, created = RemsForm.objects.get_or_create(
        session=session, defaults={"clinic_id": session.clinic_id, "due_on": rems.deadline(day)}
    )
    if form.completed_at is None:
        filled = prefill(session)
        form.data = filled | {
            k: v
            for k, v in form.data.items()
            if v not in (None, "") and filled.get(k) in (None, "")
        }
        form.save(update_fields=["data"])
    return form
