"""Demo intake history: requests in every state, signed screenings, program consent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.clinics.models import Clinic
from katclinic.demo.generator import DemoWorld
from katclinic.intake import screening as screenings
from katclinic.intake import services
from katclinic.intake.models import RequestState, SignatureChannel
from katclinic.patients.models import Patient

PROGRAM_BODY = """\
What this treatment is
Ketamine-assisted treatment uses low doses of ketamine, a medicine first used for anaesthesia, to \
treat depression that has not improved enough with other treatments. Racemic ketamine for \
depression is used off-label; esketamine nasal spray is approved for treatment-resistant depression.

What a session involves
You will be monitored by clinic staff throughout the session and until you are ready to leave, \
usually two hours or more. Your blood pressure and breathing are checked before, during and after \
each dose. You must not drive until the next day after a night's sleep, so arrange a ride home.

Possible side effects
Common effects during and shortly after a session include feeling detached or unreal \
(dissociation), dizziness, nausea, drowsiness, headache and a rise in blood pressure. They usually \
pass within a few hours. Rarely, sedation can be deep. Tell staff at once about anything that worries you.

Your choices
Taking part is voluntary. You may stop treatment and withdraw this consent at any time, and your \
other care at the clinic will not be affected. A new version of this document will be given to \
you to sign before your next dose whenever it changes.
"""

REQUESTS = [
    # name, email, phone, times, reason, state, phq9 answers (q1..q9) or None
    (
        "Jordan Blake",
        "jordan.blake@example.com",
        "",
        "Weekday mornings",
        "Depression for years; my psychiatrist suggested ketamine.",
        "new",
        [2, 3, 2, 2, 1, 2, 1, 1, 1],
    ),
    (
        "Casey Moran",
        "",
        "555-0142",
        "After 5pm",
        "Asking about the intranasal option.",
        "new",
        None,
    ),
    (
        "Robin Hale",
        "robin.hale@example.com",
        "555-0157",
        "Any time",
        "Three antidepressants have not helped.",
        "contacted",
        [2, 2, 1, 2, 1, 1, 1, 0, 0],
    ),
    (
        "Alexis Park",
        "alexis.park@example.com",
        "",
        "Tuesdays",
        "Referred by my GP.",
        "booked",
        None,
    ),
    ("Morgan Ruiz", "", "555-0163", "Mornings", "Looking for information only.", "declined", None),
]


def _requests(world: DemoWorld, clinic: Clinic) -> None:
    staff = world.staff["frontdesk"]
    for index, (name, email, phone, times, reason, state, answers) in enumerate(REQUESTS):
        phq9 = None
        if answers is not None:
            phq9 = services.score_phq9({f"q{i + 1}": value for i, value in enumerate(answers)})
        data = {
            "name": name,
            "email": email,
            "phone": phone,
            "preferred_times": times,
            "reason": reason,
            "consent_to_contact": True,
        }
        consultation = services.submit_request(
            clinic=clinic, data=data, phq9=phq9, ip=f"198.51.100.{index + 10}"
        )
        if state != RequestState.NEW:
            services.change_request_state(
                consultation=consultation,
                to_state=state,
                note="Called back" if state == "contacted" else "",
                by=staff,
            )


def _answers(rng: Any, **overrides: bool) -> dict[str, bool | None]:
    answers: dict[str, bool | None] = dict.fromkeys(screenings.ANSWERED_FACTS, False)
    answers.update(overrides)
    if rng.random() < 0.3:
        answers["cognitive_impairment"] = (
            None  # not yet asked: decision support lists it as missing
        )
    return answers


TRIALS = [
    {
        "drug": "Sertraline",
        "max_daily_dose_mg": Decimal(150),
        "adequate_dose_mg": Decimal(50),
        "weeks_at_dose": Decimal(8),
        "adherence": "good",
        "improvement_percent": Decimal(10),
        "current_episode": True,
    },
    {
        "drug": "Venlafaxine XR",
        "max_daily_dose_mg": Decimal(225),
        "adequate_dose_mg": Decimal(75),
        "weeks_at_dose": Decimal(10),
        "adherence": "good",
        "improvement_percent": Decimal(15),
        "current_episode": True,
    },
    {
        "drug": "Bupropion XL",
        "max_daily_dose_mg": Decimal(150),
        "adequate_dose_mg": Decimal(300),
        "weeks_at_dose": Decimal(4),
        "adherence": "partial",
        "improvement_percent": Decimal(30),
        "current_episode": False,
    },
]


# Routes a patient in treatment is screened for, so each demo plan has a signed decision.
TREATED_ROUTES = ("iv", "intranasal", "sublingual")


def _screening_data(world: DemoWorld, *, hypertensive: bool, route: str | None) -> dict[str, Any]:
    rng = world.rng
    systolic, diastolic = (
        (158, 98) if hypertensive else (rng.randint(108, 134), rng.randint(66, 86))
    )
    return {
        "route": route or rng.choice(["iv", "iv", "intranasal"]),
        "diagnosis": "F33.2 Major depressive disorder, recurrent, severe",
        "episode_started_on": timezone.localdate() - timedelta(days=rng.randint(200, 700)),
        "episode_notes": "Current episode with two failed antidepressant trials.",
        "baseline_systolic_mmhg": systolic,
        "baseline_diastolic_mmhg": diastolic,
        "baseline_heart_rate_bpm": rng.randint(60, 90),
        "height_cm": Decimal(rng.randint(155, 190)),
        "notes": "",
    }


def _decision(hypertensive: bool, missing: bool) -> tuple[str, str]:
    """(decision, rationale): a hypertensive patient is referred, the others are eligible."""
    if hypertensive:
        return (
            "needs_review",
            (
                "Baseline BP 158/98 on two readings. Refer to primary care for "
                "BP control; re-screen when below the clinic limit."
            ),
        )
    rationale = "Two failed adequate trials this episode; no contraindication found."
    if missing:
        rationale += " Cognition assessed at interview and judged intact."
    return "eligible", rationale


def _screen(
    world: DemoWorld, patient: Patient, *, hypertensive: bool, route: str | None = None
) -> None:
    prescriber = world.staff["prescriber"]
    data = _screening_data(world, hypertensive=hypertensive, route=route)
    screening = screenings.save_screening(
        patient=patient, data=data, answers=_answers(world.rng), trials=TRIALS, by=prescriber
    )
    if patient.stage == Patient.Stage.SCREENING and not hypertensive:
        return  # a draft still being completed
    assessment = screenings.assess(screening)
    decision, rationale = _decision(hypertensive, bool(assessment.suggestion.missing))
    screenings.sign_decision(
        screening=screening, decision=decision, rationale=rationale, by=prescriber
    )


def _consent(world: DemoWorld, clinic: Clinic, treated: list[Patient]) -> None:
    director = world.staff["director"]
    document = services.issue_consent_document(
        clinic=clinic,
        scope="program",
        route="",
        title="Consent to ketamine-assisted treatment",
        body=PROGRAM_BODY,
        effective_on=timezone.localdate() - timedelta(days=365),
        by=director,
    )
    nurse = world.staff["nurse"]
    for patient in treated:
        portal = patient.user_id is not None
        services.sign_consent(
            patient=patient,
            document=document,
            typed_name=patient.full_name,
            channel=SignatureChannel.PORTAL if portal else SignatureChannel.CLINIC_DEVICE,
            by=patient.user if portal else nurse,  # type: ignore[arg-type]
            witness=None if portal else nurse,
        )


def build(world: DemoWorld) -> None:
    north = world.clinics[0]
    _requests(world, north)
    patients = [p for p in world.patients if p.clinic_id == north.pk]
    in_care = [p for p in patients if p.stage in services.TREATMENT_STAGES]
    screening_stage = [p for p in in_care if p.stage == Patient.Stage.SCREENING]
    flagged = screening_stage[0] if screening_stage else (in_care[0] if in_care else None)
    for patient in in_care:
        if patient.stage == Patient.Stage.SCREENING or patient == flagged:
            _screen(world, patient, hypertensive=patient == flagged)
            continue
        for route in TREATED_ROUTES:
            _screen(world, patient, hypertensive=False, route=route)
    treated = [p for p in in_care if p.stage != Patient.Stage.SCREENING]
    _consent(world, north, treated)
