"""Demo dosing history: finished sessions with doses, readings, notes and ledger entries that
balance, REMS forms (one complete, one due), and one esketamine session on the floor today.

Past sessions are written as rows with back-dated times (the services stamp "now"); the
session in progress today goes through the services, as a nurse would run it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.clinics.models import Clinic
from katclinic.demo.generator import DemoWorld
from katclinic.dosing import integrations, ledger_services, record_services, services
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing.models import (
    Administration,
    Checkpoint,
    DischargeAssessment,
    DosingSession,
    GateCheck,
    RemsEnrollment,
    SessionEvent,
    StockLot,
    SupportNote,
)
from katclinic.dosing.rems_form import ensure_rems_form
from katclinic.dosing.statemachine import SessionState as S
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan

SPRAVATO = ("Spravato 28 mg nasal device", "SPR-24A118", None)
KETAMINE = ("Ketamine HCl 10 mg/mL, 10 mL vial", "KET-3391", Decimal("10"))
PATH = (
    S.SCHEDULED,
    S.CHECKED_IN,
    S.PRE_DOSE_CHECKS,
    S.DOSING,
    S.MONITORING,
    S.READY_FOR_DISCHARGE,
    S.DISCHARGED,
)
INTENTIONS = [
    "Be kinder to myself",
    "Understand the heaviness",
    "Rest without fighting it",
    "Reconnect with my family",
]


def _stock(world: DemoWorld, clinic: Clinic) -> dict[str, StockLot]:
    received = timezone.localdate() - timedelta(days=60)
    lots = {}
    for key, (product, lot_number, concentration), mg in (
        ("intranasal", SPRAVATO, "2800"),
        ("iv", KETAMINE, "5000"),
    ):
        entry = ledger_services.receive_stock(
            clinic=clinic,
            product=product,
            lot_number=lot_number,
            expiry=received + timedelta(days=540),
            quantity_mg=Decimal(mg),
            supplier="Cardinal Specialty Distribution",
            concentration_mg_per_ml=concentration,
            by=world.staff["nurse"],
        )
        lots[key] = entry.lot
    return lots


def _event(session: DosingSession, by: User, to: S, at: datetime, before: str = "") -> None:
    SessionEvent.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        from_state=before,
        to_state=to.value,
        by=by,
        at=at,
    )


def _reading(
    world: DemoWorld, session: DosingSession, label: str, at: datetime, **values: int
) -> None:
    Checkpoint.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        label=label,
        taken_at=at,
        recorded_by=world.staff["nurse"],
        **values,
    )


def _doses(
    world: DemoWorld, session: DosingSession, lot: StockLot, start: datetime, plan_mg: Decimal
) -> None:
    nurse = world.staff["nurse"]
    devices = int(plan_mg // 28) if session.is_esketamine else 1
    for number in range(devices):
        mg = Decimal("28") if session.is_esketamine else plan_mg
        given = Administration.objects.create(
            clinic_id=session.clinic_id,
            session=session,
            product=lot.product,
            stock_lot=lot,
            concentration_mg_per_ml=lot.concentration_mg_per_ml,
            lot_number=lot.lot_number,
            expiry=lot.expiry,
            dose_mg=mg,
            route=session.route,
            device_number=number + 1 if session.is_esketamine else None,
            started_at=start + timedelta(minutes=5 * number),
            ended_at=None if session.is_esketamine else start + timedelta(minutes=40),
            rate_mg_per_h=None
            if session.is_esketamine
            else (mg * 60 / 40).quantize(Decimal("0.01")),
            given_by=nurse,
        )
        ledger_services.take_for_administration(administration=given, by=nurse, at=given.started_at)


def _notes(world: DemoWorld, session: DosingSession, start: datetime) -> None:
    therapist = world.staff["therapist"]
    texts: list[tuple[str, dict[str, Any]]] = [
        (
            "preparation",
            {
                "intention": world.rng.choice(INTENTIONS),
                "concerns": "Worried about losing control",
                "agreed_support": "Hand on shoulder if asked; eye mask and music",
                "supportive_touch_consent": True,
            },
        ),
        (
            "session",
            {
                "observations": "Quiet, eyes closed, brief tearfulness at 30 min",
                "guidance": "Breathing cues",
            },
        ),
        ("integration", {"integration": "Talked about feeling held; plans to walk daily"}),
    ]
    for offset, (kind, fields) in zip((-30, 60, 24 * 60), texts, strict=True):
        note = SupportNote(
            clinic_id=session.clinic_id,
            patient_id=session.patient_id,
            session=session,
            kind=kind,
            author=therapist,
            created_at=start + timedelta(minutes=offset),
            **fields,
        )
        record_services._sign(note)
        note.save()


def _store_past_session(world: DemoWorld, plan: Plan, start: datetime) -> DosingSession:
    """The session row as discharged, with the state changes that led there."""
    nurse = world.staff["nurse"]
    session = DosingSession.objects.create(
        clinic_id=plan.clinic_id,
        patient_id=plan.patient_id,
        plan=plan,
        chair=world.rng.choice(["Chair 1", "Chair 2"]),
        route=plan.protocol_version.route,
        scheduled_for=start - timedelta(minutes=20),
        state=S.DISCHARGED,
        escort_confirmed=True,
        no_driving_agreed=True,
        pregnancy_status="not_applicable",
        questionnaires_confirmed=True,
        meds_reviewed_by=nurse,
        meds_reviewed_at=start - timedelta(minutes=15),
        dose_started_at=start,
        clinically_ready_at=start + timedelta(minutes=95),
        discharged_at=start + timedelta(minutes=125),
        last_food_at=start - timedelta(hours=4),
        last_liquid_at=start - timedelta(hours=1),
        created_by=nurse,
    )
    for index, state in enumerate(PATH):
        _event(
            session,
            nurse,
            state,
            start + timedelta(minutes=[-20, -18, -15, 0, 10, 125, 126][index]),
            PATH[index - 1].value if index else "",
        )
    return session


def _monitoring_readings(world: DemoWorld, session: DosingSession, start: datetime) -> None:
    """A reading about 40 minutes in and one at completion."""
    rng = world.rng
    for minute, label, moaas in ((40, "about 40 minutes", 4), (120, "completion", 5)):
        _reading(
            world,
            session,
            label,
            start + timedelta(minutes=minute),
            systolic=rng.randint(124, 150),
            diastolic=rng.randint(76, 92),
            heart_rate=rng.randint(64, 90),
            spo2=97,
            respiratory_rate=16,
            moaas=moaas,
            cadss6=rng.randint(2, 9) if minute == 40 else 0,
        )


def _discharged(session: DosingSession, nurse: User, start: datetime) -> None:
    DischargeAssessment.objects.create(
        clinic_id=session.clinic_id,
        session=session,
        dissociation_resolved=True,
        respiratory_depression_resolved=True,
        vitals_acceptable=True,
        escort_present=True,
        allowed=True,
        assessed_by=nurse,
        assessed_at=start + timedelta(minutes=122),
    )


def _past_session(
    world: DemoWorld, plan: Plan, lot: StockLot, start: datetime, plan_mg: Decimal
) -> DosingSession:
    """One finished session, written as it would have been recorded on the day."""
    nurse = world.staff["nurse"]
    session = _store_past_session(world, plan, start)
    _gate_passed(session, nurse, start - timedelta(minutes=15))
    rng = world.rng
    _reading(
        world,
        session,
        "pre-dose",
        start - timedelta(minutes=15),
        systolic=rng.randint(118, 136),
        diastolic=rng.randint(72, 86),
        heart_rate=rng.randint(62, 84),
        spo2=98,
        respiratory_rate=14,
    )
    _doses(world, session, lot, start, plan_mg)
    _monitoring_readings(world, session, start)
    _discharged(session, nurse, start)
    _notes(world, session, start)
    return session


def _rems(world: DemoWorld, sessions: list[DosingSession]) -> None:
    """REMS forms: the older esketamine sessions complete, the newest one still due."""
    for index, session in enumerate(sessions):
        RemsEnrollment.objects.get_or_create(
            patient_id=session.patient_id,
            defaults={
                "clinic_id": session.clinic_id,
                "enrolled_on": date(2026, 1, 5),
                "recorded_by": world.staff["nurse"],
            },
        )
        form = ensure_rems_form(session)
        if index < len(sessions) - 1:
            form.data = form.data | {"non_benzo_hypnotics": False}
            if record_services.form_missing(form):
                continue
            form.completed_by = world.staff["nurse"]
            form.completed_at = (session.discharged_at or timezone.now()) + timedelta(days=1)
            form.save()


def _gate_passed(session: DosingSession, nurse: User, at: datetime) -> None:
    for key, label in (
        ("consent_current", "Consent current"),
        ("vitals_within_limits", "Pre-dose vitals within limits"),
        ("escort_confirmed", "Escort confirmed"),
    ):
        GateCheck.objects.create(
            clinic_id=session.clinic_id,
            session=session,
            evaluation=1,
            key=key,
            label=label,
            stop="hard",
            result="pass",
            reason="Checked.",
            evaluated_by=nurse,
            evaluated_at=at,
        )


def _today_dosed(session: DosingSession, lot: StockLot, nurse: User, now: datetime) -> None:
    """Two devices given fifty minutes ago, and dosing finished."""
    services.move(session, S.DOSING, by=nurse)
    session.dose_started_at = now - timedelta(minutes=50)
    session.save(update_fields=["dose_started_at"])
    for number in range(2):
        services.record_administration(
            session=session,
            lot=lot,
            dose_mg=Decimal("28"),
            by=nurse,
            started_at=session.dose_started_at + timedelta(minutes=5 * number),
        )
    services.finish_dosing(session=session, by=nurse)


def _today(world: DemoWorld, plan: Plan, lot: StockLot) -> None:
    """An esketamine session in monitoring now, so the floor board has a live chair."""
    nurse, now = world.staff["nurse"], timezone.now()
    session = services.create_session(
        patient=plan.patient,
        plan=plan,
        chair="Chair 3",
        scheduled_for=now - timedelta(minutes=70),
        by=nurse,
    )
    services.move(session, S.CHECKED_IN, by=nurse)
    services.move(session, S.PRE_DOSE_CHECKS, by=nurse)
    _reading(
        world,
        session,
        "pre-dose",
        now - timedelta(minutes=60),
        systolic=128,
        diastolic=82,
        heart_rate=76,
        spo2=98,
        respiratory_rate=14,
    )
    _gate_passed(session, nurse, now - timedelta(minutes=58))
    _today_dosed(session, lot, nurse, now)
    mon.record_checkpoint(
        session=session,
        label="about 40 minutes",
        taken_at=now - timedelta(minutes=10),
        by=nurse,
        values={
            "systolic": 165,
            "diastolic": 100,
            "heart_rate": 88,
            "spo2": 97,
            "moaas": 4,
            "cadss6": 6,
        },
    )


def _plans(world: DemoWorld, clinic: Clinic) -> list[Plan]:
    treated = Patient.objects.filter(
        clinic=clinic, stage__in=["induction", "maintenance", "completed"]
    ).order_by("pk")
    return [plan for p in treated if (plan := integrations.active_plan(p)) is not None]


def build(world: DemoWorld) -> None:
    for clinic in world.clinics[:1]:
        plans = _plans(world, clinic)
        lots = _stock(world, clinic)
        esketamine: list[DosingSession] = []
        today_plan = None
        for plan in plans:
            limits = integrations.plan_dose_limits(plan)
            if limits is None:
                continue
            route = plan.protocol_version.route
            lot = lots.get(route)
            if lot is None:
                continue
            first = timezone.now().replace(hour=9, minute=30, second=0, microsecond=0) - timedelta(
                days=20
            )
            for number in range(3):
                session = _past_session(
                    world, plan, lot, first + timedelta(days=4 * number), limits[2]
                )
                if session.is_esketamine:
                    esketamine.append(session)
            if route == "intranasal" and today_plan is None:
                today_plan = plan
        _rems(world, esketamine[-2:])
        if today_plan is not None:
            _today(world, today_plan, lots["intranasal"])
