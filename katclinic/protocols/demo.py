"""Demo: the protocol library in both clinics, and signed plans for patients in treatment.

One induction patient gets an IV plan at 70 kg (35 mg over 40 minutes) with a titration
amendment; another gets an esketamine plan.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from katclinic.demo.generator import DemoWorld
from katclinic.patients.models import Patient, WeightReading
from katclinic.protocols import services
from katclinic.protocols.models import ProtocolVersion


def _weigh(world: DemoWorld, patient: Patient, kg: Decimal) -> None:
    WeightReading.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        recorded_by=world.staff["nurse"],
        measured_on=timezone.localdate() - timedelta(days=3),
        weight_kg=kg,
        entered_value=kg,
        entered_unit="kg",
    )


def build(world: DemoWorld) -> None:
    for clinic in world.clinics:
        services.load_shipped_protocols(clinic=clinic, by=world.staff["director"])
    north = world.clinics[0]
    prescriber = world.staff["prescriber"]
    treated = [
        p
        for p in world.patients
        if p.clinic_id == north.pk and p.stage in ("induction", "maintenance")
    ]
    iv = ProtocolVersion.objects.get(clinic=north, key="iv_ketamine_elektd", status="active")
    esk = ProtocolVersion.objects.get(clinic=north, key="esketamine_trd", status="active")
    start = timezone.localdate() + timedelta(days=1)
    for index, patient in enumerate(treated[:4]):
        protocol = iv if index % 2 == 0 else esk
        if index == 0:
            _weigh(world, patient, Decimal("70.0"))
        try:
            draft = services.create_plan(
                patient=patient,
                protocol_version=protocol,
                phase="induction",
                start_on=start + timedelta(days=index),
                requested_mg=None,
                by=prescriber,
            )
        except services.PlanError:
            continue  # e.g. intake says this demo patient is not consented: no plan, as in a clinic
        services.sign_plan(version=draft, prescriber=prescriber)
        if index == 0:
            amendment = services.amend_plan(
                plan=draft.plan,
                kind="titration",
                reason="Little response after two infusions; step up within limits.",
                requested_mg=Decimal("42"),
                phase=None,
                start_on=start + timedelta(days=7),
                by=prescriber,
            )
            services.sign_plan(version=amendment, prescriber=prescriber)
