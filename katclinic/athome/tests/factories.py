"""Rows the take-home tests stand on: a signed sublingual plan, a prescription, a dispense,
and sessions at each step. Plans are built with plain `objects.create` so these tests do not
depend on how the protocols app sizes and signs plans."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.athome import gate, services
from katclinic.athome.models import Dispense, HomeSession, TakeHomePrescription
from katclinic.dosing.tests.factories import signed_plan
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan

KEY = "sublingual_titration"

GOOD = gate.Answers(
    systolic=128,
    diastolic=82,
    monitor_present=True,
    monitor_name="Robin",
    substances_taken=False,
    will_not_drive=True,
    safe_setting=True,
)


def sublingual_plan(patient: Patient, prescriber: User) -> Plan:
    return signed_plan(patient, prescriber, key=KEY, dose="100", low="25", high="300")


def prescription(
    patient: Patient, prescriber: User, *, dispensed: int = 12
) -> TakeHomePrescription:
    plan = sublingual_plan(patient, prescriber)
    rx = TakeHomePrescription.objects.create(
        clinic=patient.clinic,
        patient=patient,
        plan=plan,
        product="Ketamine troche",
        strength_mg=Decimal("50"),
        lozenges_per_session=2,
        dose_mg=Decimal("100"),
        quantity=12,
        refills=1,
        pharmacy="Main Street Pharmacy",
        pdmp_checked_on=timezone.localdate(),
        pdmp_checked_by=prescriber,
        signed_by=prescriber,
    )
    if dispensed:
        Dispense.objects.create(
            clinic=patient.clinic,
            prescription=rx,
            quantity=dispensed,
            dispensed_on=timezone.localdate(),
            recorded_by=prescriber,
        )
    return rx


def taken_session(patient: Patient, *, hours_ago: float = 3) -> HomeSession:
    """A session checked in and taken `hours_ago` (the clock is moved for the steps)."""
    session = services.start_session(patient=patient)
    services.submit_checkin(session=session, answers=GOOD)
    session = services.mark_taken(session=session)
    shift = timedelta(hours=hours_ago)
    HomeSession.objects.filter(pk=session.pk).update(
        started_at=session.started_at - shift,
        opened_at=session.opened_at - shift,  # type: ignore[operator]
        taken_at=session.taken_at - shift,  # type: ignore[operator]
        checkin_due_at=session.checkin_due_at - shift,  # type: ignore[operator]
    )
    session.refresh_from_db()
    return session
