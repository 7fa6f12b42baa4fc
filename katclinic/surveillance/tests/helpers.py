"""Rows the surveillance tests stand on."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from katclinic.accounts.models import User
from katclinic.clinics.registry import set_setting
from katclinic.dosing.models import Administration, DosingSession, StockLot
from katclinic.dosing.tests.factories import signed_plan
from katclinic.measures.models import Course
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan

START = date(2026, 3, 2)


def on(patient: Patient, day: int, hour: int = 12) -> datetime:
    """``day`` days after START at ``hour`` o'clock in the patient's clinic."""
    zone = ZoneInfo(patient.clinic.timezone)
    return datetime.combine(START + timedelta(days=day), time(hour), tzinfo=zone)


def course(patient: Patient, by: User, *, ended: date | None = None) -> Course:
    return Course.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        started_on=START,
        ended_on=ended,
        created_by=by,
    )


def sublingual_plan(patient: Patient, by: User) -> Plan:
    """A signed plan under the shipped sublingual protocol, which sets surveillance items."""
    return signed_plan(patient, by, "sublingual_titration", dose="100", low="50", high="300")


def setting(patient: Patient, by: User, key: str, raw: object) -> None:
    set_setting(clinic=patient.clinic, key=key, raw=raw, by=by, reason="test")


def given(
    patient: Patient,
    by: User,
    at: datetime,
    mg: str,
    *,
    adjunct: bool = False,
    route: str = "sublingual",
) -> Administration:
    """One administration in its own finished session."""
    session = DosingSession.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        plan=Plan.objects.filter(patient=patient).latest("created_at"),
        chair="Chair 1",
        route=route,
        scheduled_for=at - timedelta(minutes=20),
        state="discharged",
        dose_started_at=at,
        discharged_at=at + timedelta(hours=2),
        created_by=by,
    )
    if adjunct:
        return Administration.objects.create(
            clinic_id=patient.clinic_id,
            session=session,
            is_adjunct=True,
            product="Ondansetron 4 mg",
            lot_number="ADJ",
            expiry=date(2030, 1, 1),
            dose_mg=Decimal(mg),
            route="oral",
            started_at=at,
            given_by=by,
        )
    lot, _ = StockLot.objects.get_or_create(
        clinic_id=patient.clinic_id,
        product="Ketamine lozenge 100 mg",
        lot_number="S-1",
        defaults={"expiry": date(2030, 1, 1)},
    )
    return Administration.objects.create(
        clinic_id=patient.clinic_id,
        session=session,
        product=lot.product,
        stock_lot=lot,
        lot_number="S-1",
        expiry=lot.expiry,
        dose_mg=Decimal(mg),
        route=route,
        started_at=at,
        given_by=by,
    )
