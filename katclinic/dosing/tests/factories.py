"""Rows the dosing tests stand on: a shipped protocol, a signed plan, consent and stock.

Plans are built with plain `objects.create`; the patient's eligibility decision is a real
signed screening made through the intake services, so the gate reads what a clinic would.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic
from katclinic.dosing import ledger_services, services
from katclinic.dosing.models import DosingSession, StockLot
from katclinic.intake.models import ConsentDocument, ConsentSignature
from katclinic.intake.tests.factories import eligible_for
from katclinic.patients.models import Patient
from katclinic.protocols.models import (
    Plan,
    PlannedDose,
    PlanStatus,
    PlanVersion,
    ProtocolStatus,
    ProtocolVersion,
)
from katclinic.protocols.schema import load_library

PRODUCTS = {
    "esketamine_trd": ("Spravato 28 mg nasal device", None),
    "iv_ketamine_elektd": ("Ketamine 10 mg/mL", Decimal("10")),
}


def protocol_version(clinic: Clinic, key: str) -> ProtocolVersion:
    existing = ProtocolVersion.objects.filter(clinic=clinic, key=key).first()
    if existing:
        return existing
    protocol = load_library()[key]
    return ProtocolVersion.objects.create(
        clinic=clinic,
        key=key,
        version=protocol.version,
        title=protocol.title,
        route=protocol.route,
        status=ProtocolStatus.ACTIVE,
        data=json.loads(protocol.model_dump_json()),
    )


def signed_plan(
    patient: Patient,
    prescriber: User,
    key: str = "esketamine_trd",
    dose: str = "56",
    low: str = "28",
    high: str = "84",
    weight: str = "70",
) -> Plan:
    version_row = protocol_version(patient.clinic, key)
    eligible_for(patient, route=version_row.route, by=prescriber)
    plan = Plan.objects.create(
        clinic=patient.clinic,
        patient=patient,
        protocol_version=version_row,
        status=PlanStatus.ACTIVE,
        created_by=prescriber,
    )
    version = PlanVersion.objects.create(
        clinic=patient.clinic,
        plan=plan,
        number=1,
        kind="initial",
        phase="induction",
        start_on=timezone.localdate(),
        weight_kg=Decimal(weight),
        weight_measured_on=timezone.localdate(),
        dose_mg=Decimal(dose),
        min_mg=Decimal(low),
        max_mg=Decimal(high),
        created_by=prescriber,
    )
    PlannedDose.objects.create(
        clinic=patient.clinic,
        plan=plan,
        version=version,
        number=1,
        phase="induction",
        planned_on=timezone.localdate(),
        dose_mg=Decimal(dose),
    )
    PlanVersion.objects.filter(pk=version.pk).update(
        signed_by=prescriber, signed_at=timezone.now(), content_hash="0" * 64
    )
    return plan


def consent(patient: Patient, staff: User) -> None:
    document, _ = ConsentDocument.objects.get_or_create(
        clinic=patient.clinic,
        scope="program",
        route="",
        version=1,
        defaults={
            "title": "Treatment consent",
            "body": "Text",
            "effective_on": date(2020, 1, 1),
            "created_by": staff,
        },
    )
    ConsentSignature.objects.create(
        clinic=patient.clinic,
        patient=patient,
        document=document,
        typed_name="P",
        document_hash=document.text_hash,
        channel="clinic_device",
        witness=staff,
    )


def stock(
    clinic: Clinic,
    by: User,
    key: str = "esketamine_trd",
    mg: str = "280",
    lot: str = "LOT-A",
    expiry: date | None = None,
) -> StockLot:
    product, concentration = PRODUCTS[key]
    entry = ledger_services.receive_stock(
        clinic=clinic,
        product=product,
        lot_number=lot,
        expiry=expiry or timezone.localdate() + timedelta(days=365),
        quantity_mg=Decimal(mg),
        supplier="Wholesaler Inc",
        concentration_mg_per_ml=concentration,
        by=by,
    )
    return entry.lot


def session(patient: Patient, plan: Plan, by: User, *, at: datetime | None = None) -> DosingSession:
    return services.create_session(
        patient=patient, plan=plan, chair="Chair 1", scheduled_for=at or timezone.now(), by=by
    )


GOOD_PRE_DOSE: dict[str, Any] = {
    "vitals": {"systolic": 128, "diastolic": 82, "heart_rate": 72, "spo2": 98},
    "escort_confirmed": True,
    "no_driving_agreed": True,
    "pregnancy_status": "not_pregnant",
    "meds_reviewed": True,
    "questionnaires_confirmed": True,
    "rems_enrolled_on": date(2026, 1, 5),
}


def pre_dose(sess: DosingSession, by: User, **changes: Any) -> list[Any]:
    now = timezone.now()
    values = {
        **GOOD_PRE_DOSE,
        "last_food_at": now - timedelta(hours=3),
        "last_liquid_at": now - timedelta(hours=1),
    }
    return services.record_pre_dose(session=sess, by=by, **(values | changes))


def ready_to_dose(
    patient: Patient,
    prescriber: User,
    nurse: User,
    key: str = "esketamine_trd",
    *,
    checked_ago: timedelta | None = None,
    **plan: Any,
) -> DosingSession:
    """A session in dosing; ``checked_ago`` dates its pre-dose checks back, for doses given then."""
    consent(patient, nurse)
    sess = session(patient, signed_plan(patient, prescriber, key, **plan), nurse)
    services.transition(session=sess, to=services.S.CHECKED_IN, by=nurse)
    pre_dose(sess, nurse)
    if checked_ago is not None:
        sess.gate_checks.update(evaluated_at=timezone.now() - checked_ago)
    return services.start_dosing(session=sess, by=nurse)
