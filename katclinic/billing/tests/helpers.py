"""Real discharged sessions for billing tests, made through the dosing services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.billing import services
from katclinic.billing.models import FeeSchedule
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services as dosing
from katclinic.dosing.models import Administration, DosingSession
from katclinic.dosing.tests import factories as f
from katclinic.patients.models import Diagnosis, Patient
from katclinic.testing import make_user

ALL_MET = dict.fromkeys(
    (
        "dissociation_resolved",
        "respiratory_depression_resolved",
        "vitals_acceptable",
        "escort_present",
    ),
    True,
)
IV: dict[str, Any] = {"key": "iv_ketamine_elektd", "dose": "35", "low": "30", "high": "40"}
SELF_PAY = {
    "S0013": 1000,
    "J0013": 1100,
    "G2082": 45000,
    "G2083": 60000,
    "96365": 30000,
    "96366": 10000,
    "J3490": 5000,
    "99213": 15000,
    "90837": 20000,
}


def billing_user(t: Any) -> User:
    user = make_user("bill@example.org", "Bill Ing")
    StaffMembership.objects.create(user=user, clinic=t.clinic, role=Role.BILLING)
    return user


def fee_schedule(t: Any, on: date = date(2025, 1, 1)) -> FeeSchedule:
    return services.create_fee_schedule(
        clinic=t.clinic, name="Self-pay", valid_from=on, fees=SELF_PAY, by=t.adam
    )


def diagnose(t: Any, patient: Patient, code: str = "F33.2") -> None:
    Diagnosis.objects.create(
        clinic=patient.clinic,
        patient=patient,
        icd10_code=code,
        description="Major depressive disorder, recurrent, severe",
        is_primary=True,
        recorded_by=t.paula,
    )


def discharged(
    t: Any, patient: Patient, *, route: str = "intranasal", devices: int = 2
) -> DosingSession:
    """A session dosed about 130 minutes ago, monitored and discharged now."""
    plan = IV if route == "iv" else {"dose": str(28 * devices), "high": "84"}
    sess = f.ready_to_dose(patient, t.paula, t.nick, checked_ago=timedelta(minutes=150), **plan)
    key = plan.get("key", "esketamine_trd")
    lot = f.stock(t.clinic, t.nick, key=key, mg="1000", lot=f"L{patient.pk}-{sess.pk}")
    start = timezone.now() - timedelta(minutes=130)
    if route == "iv":
        dosing.record_administration(
            session=sess,
            lot=lot,
            dose_mg=Decimal("35"),
            started_at=start,
            ended_at=start + timedelta(minutes=100),
            rate_mg_per_h=Decimal("21"),
            late_entry_reason="Entered after the session for the test.",
            by=t.nick,
        )
    else:
        for number in range(devices):
            dosing.record_administration(
                session=sess,
                lot=lot,
                dose_mg=Decimal("28"),
                started_at=start + timedelta(minutes=5 * number),
                late_entry_reason="Entered after the session for the test.",
                by=t.nick,
            )
    dosing.finish_dosing(session=sess, by=t.nick)
    values = {"systolic": 130, "diastolic": 80, "heart_rate": 70, "spo2": 98, "moaas": 5}
    mon.record_checkpoint(
        session=sess, label="completion", taken_at=timezone.now(), values=values, by=t.nick
    )
    mon.assess_discharge(session=sess, judged=ALL_MET, by=t.nick)
    return mon.discharge(session=sess, by=t.nick)


def move_to(session: DosingSession, day: date) -> DosingSession:
    """Date a session's record on another day (the code set depends on the date of service)."""
    shift = timezone.make_aware(
        timezone.datetime(day.year, day.month, day.day, 10, 0)
    ) - session.dose_started_at.replace(second=0, microsecond=0)
    DosingSession.objects.filter(pk=session.pk).update(
        scheduled_for=session.scheduled_for + shift,
        dose_started_at=session.dose_started_at + shift,
        discharged_at=session.discharged_at + shift,
    )
    for given in Administration.objects.filter(session=session):
        Administration.objects.filter(pk=given.pk).update(
            started_at=given.started_at + shift,
            ended_at=given.ended_at + shift if given.ended_at else None,
        )
    return DosingSession.objects.get(pk=session.pk)


def discharged_fast(t: Any) -> DosingSession:
    """A discharged IV session row of clinic A without its record (for access checks only)."""
    plan = getattr(t, "matrix_plan", None)
    if plan is None:
        plan = f.signed_plan(t.pat, t.paula, **{k: v for k, v in IV.items()})
        t.matrix_plan = plan
    now = timezone.now()
    return DosingSession.objects.create(
        clinic=t.clinic,
        patient=t.pat,
        plan=plan,
        chair="Chair 1",
        route="iv",
        scheduled_for=now - timedelta(hours=3),
        state="discharged",
        dose_started_at=now - timedelta(hours=2),
        discharged_at=now,
        created_by=t.nick,
    )
