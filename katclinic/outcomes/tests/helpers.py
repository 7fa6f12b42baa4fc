"""Rows the outcomes tests stand on, written directly so the figures are known by hand."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.dosing.models import (
    Administration,
    Checkpoint,
    DischargeAssessment,
    DosingSession,
    InSessionAlert,
    SideEffect,
    StockLot,
)
from katclinic.dosing.tests.factories import signed_plan
from katclinic.intake.models import ConsentDocument, ConsentSignature, ConsentWithdrawal
from katclinic.measures.catalogue import definition_of, require_instrument
from katclinic.measures.demo import answers_for
from katclinic.measures.models import Course, Invitation, Response
from katclinic.measures.scoring import score
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan

START = date(2026, 3, 2)


def on(day: int, hour: int = 10) -> datetime:
    """An aware time `day` days after START, in the clinic's time zone."""
    return timezone.make_aware(datetime.combine(START + timedelta(days=day), time(hour)))


def response(patient: Patient, total: int, at: datetime, key: str = "phq9") -> Response:
    instrument = require_instrument(key, patient.clinic_id)
    definition = definition_of(instrument)
    answers = answers_for(definition, total, random.Random(total))
    result = score(definition, answers)
    return Response.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        instrument=instrument,
        instrument_key=key,
        instrument_version=instrument.version,
        answers=answers,
        source="staff",
        submitted_at=at,
        complete=True,
        total=result.total,
        band=result.band or "",
    )


def course(
    patient: Patient, by: User, scores: list[tuple[int, int]], *, ended: date | None = None
) -> Course:
    """A course starting at START with (day, PHQ-9 total) scores; day 0 is the baseline."""
    rows = [response(patient, total, on(day)) for day, total in scores]
    return Course.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        started_on=START,
        ended_on=ended,
        baseline=rows[0] if rows else None,
        created_by=by,
    )


def plan(patient: Patient, by: User) -> Plan:
    return signed_plan(patient, by, "iv_ketamine_elektd", dose="35", low="20", high="50")


def dosed(
    plan: Plan,
    by: User,
    at: datetime,
    *,
    mg: str = "35",
    peak: tuple[int, int] = (150, 92),
    side_effect: str = "",
    serious: bool = False,
    alert: bool = False,
    delayed: bool = False,
) -> DosingSession:
    """A finished session with one dose, two readings and what else is asked for."""
    clinic_id, patient_id = plan.clinic_id, plan.patient_id
    session = DosingSession.objects.create(
        clinic_id=clinic_id,
        patient_id=patient_id,
        plan=plan,
        chair="Chair 1",
        route="iv",
        scheduled_for=at - timedelta(minutes=20),
        state="discharged",
        dose_started_at=at,
        discharged_at=at + timedelta(hours=2),
        created_by=by,
    )
    lot, _ = StockLot.objects.get_or_create(
        clinic_id=clinic_id,
        product="Ketamine 10 mg/mL",
        lot_number="T-1",
        defaults={"expiry": date(2030, 1, 1), "concentration_mg_per_ml": 10},
    )
    Administration.objects.create(
        clinic_id=clinic_id,
        session=session,
        product=lot.product,
        stock_lot=lot,
        concentration_mg_per_ml=10,
        lot_number="T-1",
        expiry=lot.expiry,
        dose_mg=Decimal(mg),
        route="iv",
        started_at=at,
        given_by=by,
    )
    Checkpoint.objects.create(
        clinic_id=clinic_id,
        session=session,
        label="pre-dose",
        taken_at=at,
        systolic=124,
        diastolic=80,
        recorded_by=by,
    )
    peak_reading = Checkpoint.objects.create(
        clinic_id=clinic_id,
        session=session,
        label="40 minutes",
        taken_at=at + timedelta(minutes=40),
        systolic=peak[0],
        diastolic=peak[1],
        recorded_by=by,
    )
    if side_effect:
        extra: dict[str, Any] = (
            {"what_was_done": "Observed", "follow_up": "Call next day"} if serious else {}
        )
        SideEffect.objects.create(
            clinic_id=clinic_id,
            session=session,
            kind=side_effect,
            severity="moderate",
            serious=serious,
            recorded_by=by,
            **extra,
        )
    if alert:
        InSessionAlert.objects.create(
            clinic_id=clinic_id,
            session=session,
            checkpoint=peak_reading,
            measure="systolic",
            value=peak[0],
            limit=160,
            level="recheck",
            action="Recheck in 5 minutes",
            source="clinic setting",
        )
    if delayed:
        DischargeAssessment.objects.create(
            clinic_id=clinic_id,
            session=session,
            dissociation_resolved=False,
            respiratory_depression_resolved=True,
            vitals_acceptable=True,
            escort_present=True,
            allowed=False,
            assessed_by=by,
        )
    return session


def invitation(patient: Patient, due: datetime, *, answered: Response | None = None) -> Invitation:
    return Invitation.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        instrument_key="phq9",
        due_at=due,
        expires_at=due + timedelta(days=2),
        used_at=answered.submitted_at if answered else None,
        response=answered,
    )


def research_consent(patient: Patient, staff: User, *, withdrawn: bool = False) -> ConsentSignature:
    document, _ = ConsentDocument.objects.get_or_create(
        clinic=patient.clinic,
        scope="research",
        route="",
        version=1,
        defaults={
            "title": "Research use",
            "body": "Text",
            "effective_on": date(2020, 1, 1),
            "created_by": staff,
        },
    )
    signature = ConsentSignature.objects.create(
        clinic=patient.clinic,
        patient=patient,
        document=document,
        typed_name=patient.full_name,
        document_hash=document.text_hash,
        channel="clinic_device",
        witness=staff,
    )
    if withdrawn:
        ConsentWithdrawal.objects.create(
            clinic=patient.clinic,
            patient=patient,
            signature=signature,
            reason="changed mind",
            recorded_by=staff,
        )
    return signature
