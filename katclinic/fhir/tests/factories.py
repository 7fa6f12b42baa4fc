"""Rows the FHIR tests read: a scored PHQ-9 response and a safety alert for a patient."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.dosing.models import Administration, Checkpoint, DosingSession, StockLot
from katclinic.dosing.tests.factories import signed_plan
from katclinic.intake.models import ConsentDocument, ConsentSignature
from katclinic.measures.catalogue import current_instrument
from katclinic.measures.models import AlertKind, Response, SafetyAlert, Source
from katclinic.patients.models import Patient
from katclinic.scheduling.models import Appointment

PHQ9_ANSWERS = {
    "q1": 2,
    "q2": 2,
    "q3": 1,
    "q4": 1,
    "q5": 0,
    "q6": 1,
    "q7": 1,
    "q8": 0,
    "q9": 1,
    "q10": 1,
}


def make_response(
    patient: Patient, *, total: int = 10, at: datetime | None = None, key: str = "phq9"
) -> Response:
    """A stored response as the measures app would store it (answers and score columns)."""
    instrument = current_instrument(key, patient.clinic_id)
    assert instrument is not None
    return Response.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        instrument=instrument,
        instrument_key=key,
        instrument_version=instrument.version,
        answers=PHQ9_ANSWERS if key == "phq9" else {},
        source=Source.PORTAL,
        submitted_at=at or timezone.now(),
        complete=True,
        total=total,
        band="Moderate",
        flags=["phq9_item9"],
    )


def make_alert(response: Response) -> SafetyAlert:
    return SafetyAlert.objects.create(
        clinic_id=response.clinic_id,
        patient_id=response.patient_id,
        response=response,
        kind=AlertKind.PHQ9_ITEM9,
        reason="PHQ-9 item 9 answered 1",
    )


def make_appointment(patient: Patient, staff: Any, *, start: datetime | None = None) -> Appointment:
    start = start or timezone.now() + timedelta(days=2)
    return Appointment.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        kind="consultation",
        staff=staff,
        start=start,
        end=start + timedelta(hours=1),
        created_by=staff,
    )


def make_consent(patient: Patient, staff: Any) -> ConsentSignature:
    document = (
        ConsentDocument.objects.filter(clinic_id=patient.clinic_id, scope="program")
        .order_by("-version")
        .first()
    )
    if document is None:
        document = ConsentDocument.objects.create(
            clinic_id=patient.clinic_id,
            scope="program",
            title="Treatment program consent",
            body="I agree to the program.",
            version=1,
            effective_on=date(2025, 1, 1),
            created_by=staff,
        )
    existing = ConsentSignature.objects.filter(patient=patient, document=document).first()
    if existing is not None:
        return existing
    return ConsentSignature.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        document=document,
        typed_name=patient.full_name,
        document_hash=document.text_hash,
        channel="portal",
    )


def make_session(patient: Patient, prescriber: Any, *, at: datetime | None = None) -> DosingSession:
    plan = signed_plan(patient, prescriber, "iv_ketamine_elektd", dose="35", low="7", high="52.5")
    return DosingSession.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        plan=plan,
        chair="Chair 1",
        route="iv",
        scheduled_for=at or timezone.now(),
        state="monitoring",
        created_by=prescriber,
    )


def make_administration(
    session: DosingSession,
    nurse: Any,
    *,
    at: datetime | None = None,
    adjunct: bool = False,
    ended: bool = True,
) -> Administration:
    """An IV ketamine infusion (or an ondansetron adjunct) given in ``session``."""
    start = at or session.scheduled_for
    if adjunct:
        return Administration.objects.create(
            clinic_id=session.clinic_id,
            session=session,
            is_adjunct=True,
            product="Ondansetron 4 mg ODT",
            lot_number="OND-9",
            expiry=date(2030, 1, 31),
            dose_mg=Decimal("4"),
            route="oral",
            started_at=start,
            given_by=nurse,
        )
    lot, _ = StockLot.objects.get_or_create(
        clinic_id=session.clinic_id,
        product="Ketamine 10 mg/mL",
        lot_number="KET-1",
        defaults={"expiry": date(2030, 6, 30), "concentration_mg_per_ml": Decimal("10")},
    )
    return Administration.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        product=lot.product,
        stock_lot=lot,
        concentration_mg_per_ml=lot.concentration_mg_per_ml,
        lot_number=lot.lot_number,
        expiry=lot.expiry,
        dose_mg=Decimal("35.00"),
        dose_mg_per_kg=Decimal("0.500"),
        route="iv",
        started_at=start,
        ended_at=start + timedelta(minutes=40) if ended else None,
        rate_mg_per_h=Decimal("52.50"),
        given_by=nurse,
    )


# A full set of readings at one checkpoint (every measure taken).
READINGS = {
    "systolic": 128,
    "diastolic": 82,
    "heart_rate": 74,
    "respiratory_rate": 14,
    "spo2": 98,
    "moaas": 4,
    "cadss6": 6,
}


def make_checkpoint(
    session: DosingSession, nurse: Any, *, at: datetime | None = None, **values: int | None
) -> Checkpoint:
    """A checkpoint of ``session`` holding ``values`` (every measure when none are given)."""
    return Checkpoint.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        label="40 min",
        taken_at=at or session.scheduled_for + timedelta(minutes=40),
        recorded_by=nurse,
        **(values or READINGS),
    )


def pat_rows(t: Any) -> dict[str, Any]:
    """One response and one alert for pat, made once per test (the matrix asks per cell)."""
    if "_fhir_rows" not in t.__dict__:
        response = make_response(t.pat)
        t._fhir_rows = {
            "response": response,
            "alert": make_alert(response),
            "appointment": make_appointment(t.pat, t.paula),
            "consent": make_consent(t.pat, t.paula),
            "administration": make_administration(make_session(t.pat, t.paula), t.nick),
        }
    return t._fhir_rows
