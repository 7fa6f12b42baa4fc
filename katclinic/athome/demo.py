"""Demo: the second portal patient doses at home under a sublingual plan.

They hold a take-home prescription (monitoring database checked), one dispense, a check-in
blocked by a high home blood pressure five days ago, and a passed one four days ago with the
dose taken and the post-session check-in sent. The last dose is more than the protocol's 72 h
ago, so the patient can run a fresh session in the demo today.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.athome import gate, services
from katclinic.athome.models import CheckIn, HomeAlert, HomeSession, PostSessionCheckIn
from katclinic.demo.generator import DEMO_DOMAIN, DemoWorld
from katclinic.patients.models import Patient
from katclinic.protocols import services as protocols
from katclinic.protocols.models import Plan, ProtocolVersion

KEY = "sublingual_titration"
CALM = services.PostAnswers(
    side_effects=["nausea", "dizziness"],
    worst_severity=1,
    side_effect_notes="Mild nausea in the first hour.",
    detached_score=2,
    unreal_score=2,
    still_dissociated=False,
    feels_safe=True,
    systolic=132,
    diastolic=84,
    monitor_concerned=False,
    monitor_observation="Calm and resting with music; chatted normally after two hours.",
)


def _sublingual_plan(world: DemoWorld, patient: Patient) -> Plan | None:
    existing = [p for p in services.take_home_plans(patient) if p.protocol_version.key == KEY]
    if existing:
        return existing[0]
    version = ProtocolVersion.objects.filter(
        clinic_id=patient.clinic_id, key=KEY, status="active"
    ).first()
    if version is None:
        return None
    prescriber = world.staff["prescriber"]
    draft = protocols.create_plan(
        patient=patient,
        protocol_version=version,
        phase="induction",
        start_on=timezone.localdate() - timedelta(days=7),
        requested_mg=None,
        by=prescriber,
    )
    return protocols.sign_plan(version=draft, prescriber=prescriber).plan


def _shift(session: HomeSession, delta: timedelta) -> None:
    """Move a session made now back in time, with everything recorded about it."""
    fields = ("started_at", "opened_at", "taken_at", "checkin_due_at", "ended_at")
    HomeSession.objects.filter(pk=session.pk).update(
        **{f: getattr(session, f) - delta for f in fields if getattr(session, f) is not None}
    )
    for model in (CheckIn, PostSessionCheckIn):
        for row in model.objects.filter(session=session):
            model.objects.filter(pk=row.pk).update(submitted_at=row.submitted_at - delta)
    for alert in HomeAlert.objects.filter(session=session):
        acknowledged = (
            alert.acknowledged_at - delta + timedelta(hours=1) if alert.acknowledged_at else None
        )
        HomeAlert.objects.filter(pk=alert.pk).update(
            raised_at=alert.raised_at - delta, acknowledged_at=acknowledged
        )


def build(world: DemoWorld) -> None:
    patient = Patient.objects.filter(user__email=f"patient2@{DEMO_DOMAIN}").first()
    if patient is None:
        return
    try:
        plan = _sublingual_plan(world, patient)
    except protocols.PlanError:
        return  # e.g. the demo patient is not consented: no plan, as in a clinic
    if plan is None:
        return
    prescriber, nurse = world.staff["prescriber"], world.staff["nurse"]
    checked = timezone.localdate() - timedelta(days=6)
    rx = services.prescribe(
        patient=patient,
        by=prescriber,
        data=services.PrescriptionInput(
            plan=plan,
            product="Racemic ketamine sublingual troche",
            strength_mg=Decimal("50"),
            lozenges_per_session=1,
            quantity=8,
            refills=1,
            pharmacy="Springfield Compounding Pharmacy",
            pdmp_checked=True,
            pdmp_checked_on=checked,
        ),
    )
    rx.__class__.objects.filter(pk=rx.pk).update(signed_at=timezone.now() - timedelta(days=6))
    services.record_dispense(prescription=rx, quantity=8, dispensed_on=checked, by=nurse)
    _sessions(patient, nurse)


def _sessions(patient: Patient, nurse: User) -> None:
    good = gate.Answers(
        systolic=126,
        diastolic=80,
        monitor_present=True,
        monitor_name="Jordan (partner)",
        substances_taken=False,
        will_not_drive=True,
        safe_setting=True,
        fasted=True,
    )
    try:
        blocked = services.start_session(patient=patient)
    except services.AtHomeError:
        return  # the demo record forbids a home dose today (a recent clinic dose or an alert)
    high = gate.Answers(**{**good.__dict__, "systolic": 154, "diastolic": 96})
    services.submit_checkin(session=blocked, answers=high)
    alert = HomeAlert.objects.get(session=blocked)
    services.acknowledge_alert(alert=alert, by=nurse)
    blocked.refresh_from_db()
    _shift(blocked, timedelta(days=5))
    session = services.start_session(patient=patient)
    services.submit_checkin(session=session, answers=good)
    services.mark_taken(session=session)
    session.refresh_from_db()
    _shift(session, timedelta(days=4))  # back in time first: the check-in waits for observation
    session.refresh_from_db()
    services.submit_post_checkin(session=session, answers=CALM)
    done = (session.taken_at or timezone.now()) + timedelta(hours=3)
    HomeSession.objects.filter(pk=session.pk).update(ended_at=done)
    PostSessionCheckIn.objects.filter(session=session).update(submitted_at=done)
