"""Suitability screening: saving drafts, decision support, signing and corrections.

The rules engine (`eligibility`) is pure; this module feeds it a screening's answers,
the clinic's thresholds and the medication list, and freezes what the prescriber signs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action
from katclinic.clinics.registry import all_settings
from katclinic.intake import clinic_settings as S
from katclinic.intake import eligibility
from katclinic.intake.clinic_settings import RULE_SETTINGS
from katclinic.intake.models import AntidepressantTrial, EligibilityDecision, Screening
from katclinic.patients.models import Patient

# Facts copied from the medication list, never typed on the screening form.
MEDICATION_FACTS = {
    "maoi": "is_maoi",
    "benzodiazepine": "is_benzodiazepine",
    "psychostimulant": "is_psychostimulant",
    "cns_depressant": "is_cns_depressant",
}
# Facts answered on the form: every yes/no fact except the medication ones.
ANSWERED_FACTS = tuple(
    name
    for name, kind in eligibility.FACT_KINDS.items()
    if kind == "flag" and name not in MEDICATION_FACTS
)
TRIAL_FIELDS = (
    "drug",
    "max_daily_dose_mg",
    "adequate_dose_mg",
    "weeks_at_dose",
    "adherence",
    "improvement_percent",
    "current_episode",
)
SCREENING_FIELDS = (
    "route",
    "diagnosis",
    "episode_started_on",
    "episode_notes",
    "baseline_systolic_mmhg",
    "baseline_diastolic_mmhg",
    "baseline_heart_rate_bpm",
    "height_cm",
    "notes",
)
_RULES = eligibility.load_rules()


class ScreeningLocked(ValueError):
    """A signed screening cannot change; correct it with a new version."""


def medication_flags(patient: Patient) -> dict[str, bool]:
    """Concomitant-medication facts from the patient's active medications."""
    flags = dict.fromkeys(MEDICATION_FACTS, False)
    for medication in patient.medications.filter(is_active=True):
        for fact, column in MEDICATION_FACTS.items():
            flags[fact] = flags[fact] or bool(getattr(medication, column))
    return flags


def latest_weight_kg(patient: Patient) -> Decimal | None:
    reading = patient.weights.order_by("-measured_on", "-recorded_at").first()
    return reading.weight_kg if reading else None


def _fill(screening: Screening, data: dict[str, Any], answers: dict[str, bool | None]) -> None:
    for name in SCREENING_FIELDS:
        setattr(screening, name, data.get(name))
    screening.episode_notes = data.get("episode_notes") or ""
    screening.notes = data.get("notes") or ""
    screening.weight_kg = latest_weight_kg(screening.patient)
    screening.facts = {name: answers.get(name) for name in ANSWERED_FACTS} | medication_flags(
        screening.patient
    )


def _replace_trials(screening: Screening, trials: list[dict[str, Any]]) -> None:
    screening.trials.all().delete()
    AntidepressantTrial.objects.bulk_create(
        AntidepressantTrial(
            clinic_id=screening.clinic_id,
            screening=screening,
            **{name: row.get(name) for name in TRIAL_FIELDS},
        )
        for row in trials
    )


def _draft(patient: Patient, route: str, by: User, screening: Screening | None) -> Screening:
    """The next version for the route, or the given draft locked; a signed screening or a
    change of route raises ScreeningLocked."""
    if screening is None:
        last = Screening.objects.filter(patient=patient, route=route).aggregate(v=Max("version"))[
            "v"
        ]
        return Screening(
            clinic_id=patient.clinic_id, patient=patient, version=(last or 0) + 1, created_by=by
        )
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    if screening.is_signed:
        raise ScreeningLocked("This screening is signed. Start a correction to change it.")
    if route != screening.route:
        raise ScreeningLocked(
            "The route of a saved screening cannot change; start a new screening."
        )
    return screening


@transaction.atomic
def save_screening(
    *,
    patient: Patient,
    data: dict[str, Any],
    answers: dict[str, bool | None],
    trials: list[dict[str, Any]],
    by: User,
    screening: Screening | None = None,
    request: HttpRequest | None = None,
) -> Screening:
    """Create a draft screening, or update a draft; signed ones raise ScreeningLocked."""
    screening = _draft(patient, data["route"], by, screening)
    created = screening.pk is None
    screening.patient = patient
    _fill(screening, data, answers)
    screening.full_clean(exclude=["created_by", "patient", "clinic", "supersedes"])
    screening.save()
    _replace_trials(screening, trials)
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE if created else Action.UPDATE,
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        obj=screening,
        detail={"version": screening.version, "route": screening.route, "trials": len(trials)},
    )
    return screening


@dataclass(frozen=True)
class Assessment:
    """What decision support says about one screening, before anyone signs it."""

    suggestion: eligibility.EligibilitySuggestion
    trd: eligibility.TrdStatus
    thresholds: dict[str, str]


def screening_facts(screening: Screening) -> eligibility.ScreeningFacts:
    facts = {
        name: screening.facts.get(name)
        for name in eligibility.FACT_KINDS
        if name in screening.facts
    }
    return eligibility.ScreeningFacts(
        **facts,
        baseline_systolic_mmhg=screening.baseline_systolic_mmhg,
        baseline_diastolic_mmhg=screening.baseline_diastolic_mmhg,
    )


def trial_rows(screening: Screening) -> list[eligibility.AntidepressantTrial]:
    return [
        eligibility.AntidepressantTrial(**{name: getattr(row, name) for name in TRIAL_FIELDS})
        for row in screening.trials.all()
    ]


def assess(screening: Screening) -> Assessment:
    """Run the rules and the TRD criterion with the clinic's current thresholds."""
    values = all_settings(screening.clinic)
    rule_settings = {rule_key: values[s] for rule_key, s in RULE_SETTINGS.items()}
    trd = eligibility.trd_status(
        trial_rows(screening),
        required_failures=values[S.TRD_REQUIRED_FAILURES],
        min_weeks=values[S.TRD_MIN_WEEKS],
        max_improvement_percent=values[S.TRD_MAX_IMPROVEMENT_PERCENT],
    )
    suggestion = eligibility.with_trd(
        eligibility.evaluate(_RULES, screening_facts(screening), screening.route, rule_settings),
        trd,
    )
    used = {
        s.key: str(values[s])
        for s in (
            *RULE_SETTINGS.values(),
            S.TRD_REQUIRED_FAILURES,
            S.TRD_MIN_WEEKS,
            S.TRD_MAX_IMPROVEMENT_PERCENT,
        )
    }
    return Assessment(suggestion=suggestion, trd=trd, thresholds=used)


def signed_content(signed: EligibilityDecision) -> dict[str, Any]:
    """Everything the prescriber signs, as plain JSON: the screening's answers and trials,
    the suggestion with its reasons and thresholds, the decision, who and when."""
    screening = signed.screening
    return {
        "screening": screening.pk,
        "version": screening.version,
        "patient": screening.patient_id,
        "route": screening.route,
        "diagnosis": screening.diagnosis,
        "facts": screening.facts,
        "baseline_bp": [screening.baseline_systolic_mmhg, screening.baseline_diastolic_mmhg],
        "weight_kg": str(screening.weight_kg),
        "height_cm": str(screening.height_cm),
        "trials": [{k: str(v) for k, v in asdict(t).items()} for t in trial_rows(screening)],
        "suggestion": signed.suggestion,
        "reasons": signed.reasons,
        "missing": signed.missing,
        "trd_met": signed.trd_met,
        "thresholds": signed.thresholds,
        "decision": signed.decision,
        "rationale": signed.rationale,
        "decided_by": signed.decided_by_id,
        "decided_at": signed.decided_at.isoformat(),
    }


def hash_matches(signed: EligibilityDecision) -> bool:
    """Whether a stored decision still hashes to what was signed (tamper check)."""
    return content_hash(signed_content(signed)) == signed.content_hash


def reasons_json(assessment: Assessment) -> list[dict[str, str]]:
    return [
        {
            "rule": r.rule_key,
            "title": r.title,
            "severity": r.severity,
            "detail": r.detail,
            "explanation": r.explanation,
            "source": r.source.label,
            "url": r.source.url,
        }
        for r in assessment.suggestion.reasons
    ]


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _decision(screening: Screening, decision: str, rationale: str, by: User) -> EligibilityDecision:
    """The decision with what decision support said, hashed over its signed content (not
    yet stored)."""
    assessment = assess(screening)
    signed = EligibilityDecision(
        clinic_id=screening.clinic_id,
        patient_id=screening.patient_id,
        screening=screening,
        route=screening.route,
        suggestion=assessment.suggestion.suggestion,
        reasons=reasons_json(assessment),
        missing=list(assessment.suggestion.missing),
        trd_met=assessment.trd.met,
        trd_explanation=assessment.trd.explanation,
        thresholds=assessment.thresholds,
        decision=decision,
        rationale=rationale.strip(),
        decided_by=by,
        decided_at=timezone.now(),
    )
    signed.content_hash = content_hash(signed_content(signed))
    return signed


@transaction.atomic
def sign_decision(
    *,
    screening: Screening,
    decision: str,
    rationale: str,
    by: User,
    request: HttpRequest | None = None,
) -> EligibilityDecision:
    """Freeze the screening with the prescriber's decision (which may differ from the
    suggestion), the rationale, and a SHA-256 hash of the signed content."""
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    if screening.is_signed:
        raise ScreeningLocked("This screening is already signed.")
    if not rationale.strip():
        raise ValueError("A rationale is required.")
    signed = _decision(screening, decision, rationale, by)
    signed.save(force_insert=True)
    screening.signed_at = signed.decided_at
    screening.save(update_fields=["signed_at"])
    audit.record(
        request=request,
        user=by,
        action=Action.SIGN,
        clinic_id=screening.clinic_id,
        patient_id=screening.patient_id,
        obj=signed,
        detail={
            "screening": screening.pk,
            "suggestion": signed.suggestion,
            "decision": decision,
            "hash": signed.content_hash,
        },
    )
    return signed


@transaction.atomic
def start_correction(
    *, screening: Screening, by: User, request: HttpRequest | None = None
) -> Screening:
    """A new draft version copying a signed screening; the signed one stays as it was."""
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    if not screening.is_signed:
        raise ScreeningLocked("Only a signed screening needs a correction; edit the draft instead.")
    if Screening.objects.filter(supersedes=screening).exists():
        raise ScreeningLocked("This version was already corrected; correct the newest version.")
    last = Screening.objects.filter(
        patient_id=screening.patient_id, route=screening.route
    ).aggregate(v=Max("version"))["v"]
    fields = {name: getattr(screening, name) for name in (*SCREENING_FIELDS, "facts", "weight_kg")}
    draft = Screening.objects.create(
        clinic_id=screening.clinic_id,
        patient_id=screening.patient_id,
        version=last + 1,
        supersedes=screening,
        created_by=by,
        **fields,
    )
    _replace_trials(
        draft, [{n: getattr(t, n) for n in TRIAL_FIELDS} for t in screening.trials.all()]
    )
    audit.record(
        request=request,
        user=by,
        action=Action.CREATE,
        clinic_id=screening.clinic_id,
        patient_id=screening.patient_id,
        obj=draft,
        detail={"corrects": screening.pk},
    )
    return draft
