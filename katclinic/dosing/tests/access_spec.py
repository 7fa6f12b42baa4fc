"""Access rules for every dosing URL. Each cell gets fresh rows in the state its action needs
(built in `kwargs`, before the matrix takes its fingerprint), for a fresh patient, so one
role's successful post never changes what the next role finds."""

from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from katclinic.access_spec import Url, api_url
from katclinic.clinics.permissions import Perm
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import rems, services
from katclinic.dosing.models import DosingSession, RemsForm, SupportNote
from katclinic.dosing.statemachine import SessionState as S
from katclinic.dosing.tests import factories as f
from katclinic.patients.models import Patient

# The test clinic works in its default zone; forms take its wall-clock time.
CLINIC_ZONE = ZoneInfo("America/New_York")

NOW_FIELD = "%Y-%m-%dT%H:%M"


def _patient(t: Any) -> Patient:
    number = Patient.objects.count() + 100
    return t.make_patient(t.clinic, "Fresh", f"Patient{number}", f"K9{number:05d}")


def _session(t: Any, state: S = S.SCHEDULED) -> DosingSession:
    """A session of a fresh patient of clinic A, moved to `state` through the services."""
    patient = _patient(t)
    if state in (S.SCHEDULED, S.CHECKED_IN):
        f.consent(patient, t.nick)
        sess = f.session(patient, f.signed_plan(patient, t.paula), t.nick)
        if state is S.CHECKED_IN:
            services.transition(session=sess, to=S.CHECKED_IN, by=t.nick)
        return sess
    sess = f.ready_to_dose(patient, t.paula, t.nick, checked_ago=timedelta(minutes=140))
    t.dosing_lot = f.stock(t.clinic, t.nick, lot=f"L{patient.pk}")
    if state is S.DOSING:
        return sess
    start = timezone.now() - timedelta(minutes=130)
    services.record_administration(
        session=sess,
        lot=t.dosing_lot,
        dose_mg=Decimal("28"),
        started_at=start,
        late_entry_reason="Entered after the session for the test.",
        by=t.nick,
    )
    services.finish_dosing(session=sess, by=t.nick)
    return sess


def _ready(t: Any) -> dict[str, Any]:
    sess = _session(t, S.MONITORING)
    values = {"systolic": 130, "diastolic": 80, "heart_rate": 70, "spo2": 98, "moaas": 5}
    mon.record_checkpoint(
        session=sess, label="completion", taken_at=timezone.now(), values=values, by=t.nick
    )
    judged = dict.fromkeys(
        (
            "dissociation_resolved",
            "respiratory_depression_resolved",
            "vitals_acceptable",
            "escort_present",
        ),
        True,
    )
    mon.assess_discharge(session=sess, judged=judged, by=t.nick)
    return {"session_id": sess.pk}


def _soft_fail(t: Any) -> dict[str, Any]:
    sess = _session(t, S.CHECKED_IN)
    checks = f.pre_dose(
        sess, t.nick, vitals={"systolic": 150, "diastolic": 85, "heart_rate": 70, "spo2": 98}
    )
    return {"check_id": next(c.pk for c in checks if c.key == "vitals_within_limits")}


def _alert(t: Any) -> dict[str, Any]:
    sess = _session(t, S.MONITORING)
    _, alerts = mon.record_checkpoint(
        session=sess,
        label="about 40 minutes",
        taken_at=timezone.now(),
        values={"systolic": 165, "diastolic": 100},
        by=t.nick,
    )
    return {"alert_id": alerts[0].pk}


def _note(t: Any, *, signed: bool) -> dict[str, Any]:
    sess = _session(t)
    note = SupportNote.objects.create(
        clinic=t.clinic,
        patient=sess.patient,
        session=sess,
        kind="preparation",
        intention="Rest",
        author=t.tara,
    )
    if signed:
        from katclinic.dosing.record_services import _sign

        _sign(note)
        note.save()
    return {"note_id": note.pk}


COMPLETE_REMS: dict[str, Any] = {
    spec.key: True for spec in rems.FIELDS if spec.kind == "yes_no"
} | {
    "patient_name": "Fresh Patient",
    "date_of_birth": "1985-04-12",
    "sex": "Female",
    "monitoring_hcp": "Nick",
    "monitoring_setting": "North",
    "session_date": "2026-01-05",
    "dose": "56",
    "lot_number": "L1",
    "total_monitoring_minutes": 125,
    "minutes_ready_without_2h_rule": 90,
    "bp_pre_dose": "128/82",
    "bp_40_min": "150/90",
    "bp_completion": "130/80",
    "serious_adverse_events": "None",
}


def _rems(t: Any) -> dict[str, Any]:
    sess = _session(t)
    form = RemsForm.objects.create(
        clinic=t.clinic, session=sess, data=COMPLETE_REMS, due_on=timezone.localdate()
    )
    return {"form_id": form.pk}


def _lot(t: Any) -> dict[str, Any]:
    return {
        "lot_id": f.stock(
            t.clinic, t.nick, lot=f"LOT{Patient.objects.count()}{timezone.now():%f}"
        ).pk
    }


def _patient_with_plan(t: Any) -> dict[str, Any]:
    patient = _patient(t)
    t.dosing_plan = f.signed_plan(patient, t.paula)
    return {"patient_id": patient.pk}


def _now() -> str:
    return timezone.localtime(timezone=CLINIC_ZONE).strftime(NOW_FIELD)


def _state(state: S) -> Any:
    return lambda t: {"session_id": _session(t, state).pk}


RUN, VIEW = Perm.RUN_SESSION, Perm.VIEW_CLINICAL
PRE_DOSE = {
    "systolic": 128,
    "diastolic": 80,
    "heart_rate": 70,
    "spo2": 98,
    "escort_confirmed": "on",
    "no_driving_agreed": "on",
    "pregnancy_status": "not_pregnant",
    "meds_reviewed": "on",
    "questionnaires_confirmed": "on",
    "rems_enrolled_on": "2026-01-05",
}
JUDGED = {
    "dissociation_resolved": "on",
    "respiratory_depression_resolved": "on",
    "vitals_acceptable": "on",
    "escort_present": "on",
}


def _post(perm: Perm, kwargs: Any, data: Any) -> Url:
    return Url(perm, kwargs=kwargs, method="POST", data=data, clinic_object=True)


def _display_token(t: Any) -> dict[str, Any]:
    from katclinic.dosing import display

    _, raw = display.issue(clinic=t.clinic, label="Wall", by=t.adam)
    return {"token": raw}


def _display_id(t: Any) -> dict[str, Any]:
    from katclinic.dosing import display

    issued, _ = display.issue(clinic=t.clinic, label="Wall", by=t.adam)
    return {"display_id": issued.pk}


SPEC: dict[str, Url] = {
    "dosing:patient_sessions": Url(
        VIEW, kwargs=lambda t: {"patient_id": t.pat.pk}, clinic_object=True
    ),
    "dosing:create_session": _post(
        RUN,
        _patient_with_plan,
        lambda t: {"plan": t.dosing_plan.pk, "chair": "Chair 2", "scheduled_for": _now()},
    ),
    "dosing:session": Url(VIEW, kwargs=_state(S.SCHEDULED), clinic_object=True),
    "dosing:transition": _post(RUN, _state(S.SCHEDULED), lambda t: {"to": "checked_in"}),
    "dosing:pre_dose": _post(RUN, _state(S.CHECKED_IN), lambda t: PRE_DOSE),
    "dosing:override": _post(
        Perm.OVERRIDE_SOFT_STOP,
        _soft_fail,
        lambda t: {"reason": "Anxious on arrival; recheck 132/84 by hand"},
    ),
    "dosing:start_dosing": _post(
        RUN, lambda t: {"session_id": _ready_to_start(t).pk}, lambda t: {}
    ),
    "dosing:administer": _post(
        RUN,
        _state(S.DOSING),
        lambda t: {"lot": t.dosing_lot.pk, "dose_mg": "28", "started_at": _now()},
    ),
    "dosing:adjunct": _post(
        RUN,
        _state(S.DOSING),
        lambda t: {
            "product": "Ondansetron",
            "dose_mg": "4",
            "route": "oral",
            "lot_number": "OND1",
            "expiry": "2099-01-01",
            "started_at": _now(),
        },
    ),
    "dosing:finish_dosing": _post(RUN, lambda t: {"session_id": _dosed(t).pk}, lambda t: {}),
    "dosing:checkpoint": _post(
        RUN,
        _state(S.MONITORING),
        lambda t: {
            "label": "about 40 minutes",
            "taken_at": _now(),
            "systolic": 130,
            "diastolic": 80,
        },
    ),
    "dosing:acknowledge": _post(
        RUN, _alert, lambda t: {"note": "Rechecked in 5 minutes; prescriber told"}
    ),
    "dosing:side_effect": _post(
        RUN,
        _state(S.MONITORING),
        lambda t: {"kind": "nausea", "severity": "mild", "action": "Ondansetron 4 mg"},
    ),
    "dosing:assess_discharge": _post(RUN, _state(S.MONITORING), lambda t: JUDGED),
    "dosing:discharge": _post(RUN, _ready, lambda t: {}),
    "dosing:note_new": _post(
        Perm.WRITE_SUPPORT_NOTE,
        _state(S.SCHEDULED),
        lambda t: {"kind": "preparation", "intention": "Let go of control"},
    ),
    # Only the author may sign: tara wrote the note, so paula's attempt is refused (400) with nothing stored.
    "dosing:note_sign": Url(
        Perm.WRITE_SUPPORT_NOTE,
        kwargs=lambda t: _note(t, signed=False),
        method="POST",
        clinic_object=True,
        ok=(302, 400),
    ),
    "dosing:note_addendum": _post(
        Perm.WRITE_SUPPORT_NOTE,
        lambda t: _note(t, signed=True),
        lambda t: {"text": "Patient called the next day; settled."},
    ),
    "dosing:board": Url(VIEW),
    "dosing:board_rows": Url(VIEW),
    "dosing:display_links": Url(Perm.ISSUE_BOARD_DISPLAY),
    "dosing:display_revoke": _post(Perm.ISSUE_BOARD_DISPLAY, _display_id, lambda t: {}),
    "dosing:display": Url("public", kwargs=_display_token, anonymous=(200,)),
    "dosing:display_rows": Url("public", kwargs=_display_token, anonymous=(200,)),
    "dosing:rems_queue": Url(RUN),
    "dosing:rems_edit": Url(RUN, kwargs=_rems, clinic_object=True),
    "dosing:rems_complete": _post(RUN, _rems, lambda t: {}),
    "dosing:rems_pdf": Url(RUN, kwargs=_rems, clinic_object=True),
    "dosing:ledger": Url(Perm.KEEP_LEDGER),
    "dosing:ledger_receive": Url(
        Perm.KEEP_LEDGER,
        method="POST",
        data=lambda t: {
            "product": "Ketamine 10 mg/mL",
            "lot_number": f"R{timezone.now():%H%M%S%f}",
            "expiry": "2099-01-01",
            "quantity_mg": "500",
            "concentration_mg_per_ml": "10",
            "supplier": "Wholesaler Inc",
        },
    ),
    "dosing:lot": Url(Perm.KEEP_LEDGER, kwargs=_lot, clinic_object=True),
    "dosing:lot_movement": _post(
        Perm.KEEP_LEDGER,
        _lot,
        lambda t: {"kind": "transfer_out", "quantity_mg": "28", "counterparty": "South clinic"},
    ),
    "dosing:lot_count": _post(Perm.KEEP_LEDGER, _lot, lambda t: {"counted_mg": "280"}),
    "dosing:ledger_report": Url(Perm.KEEP_LEDGER),
}


def _ready_to_start(t: Any) -> DosingSession:
    sess = _session(t, S.CHECKED_IN)
    f.pre_dose(sess, t.nick)
    return sess


def _dosed(t: Any) -> DosingSession:
    sess = _session(t, S.DOSING)
    services.record_administration(
        session=sess, lot=t.dosing_lot, dose_mg=Decimal("28"), started_at=timezone.now(), by=t.nick
    )
    return sess


def _pat_session(t: Any) -> dict[str, Any]:
    f.consent(t.pat, t.nick)
    return {"session_id": f.session(t.pat, f.signed_plan(t.pat, t.paula), t.nick).pk}


SPEC |= {
    "api:sessions_of_patient": api_url(
        VIEW, kwargs=lambda t: {"patient_id": t.pat.pk}, clinic_object=True, patient_self=True
    ),
    "api:session_detail": api_url(VIEW, kwargs=_pat_session, clinic_object=True, patient_self=True),
}
