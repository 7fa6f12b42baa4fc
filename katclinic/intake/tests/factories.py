"""Real intake records other apps' tests stand on: a signed decision and a current consent.

Made through the intake services, so a test that plans or doses a patient goes through the
same eligibility and consent reads as the clinic does.
"""

from __future__ import annotations

from datetime import date

from katclinic.accounts.models import User
from katclinic.intake import screening as screenings
from katclinic.intake.models import ConsentDocument, EligibilityDecision
from katclinic.intake.queries import current_decision
from katclinic.intake.services import consent_status, sign_consent
from katclinic.patients.models import Patient


def signed_decision(
    patient: Patient, *, route: str, by: User, decision: str = "eligible"
) -> EligibilityDecision:
    """A new signed screening for `route` with the prescriber's `decision`."""
    screening = screenings.save_screening(
        patient=patient,
        data={"route": route, "diagnosis": "F33.2 recurrent major depression"},
        answers={},
        trials=[],
        by=by,
    )
    return screenings.sign_decision(
        screening=screening, decision=decision, rationale=f"Test: {decision}", by=by
    )


def program_consent(patient: Patient, *, by: User) -> None:
    """The clinic's program consent in effect, signed by `patient` (once)."""
    if consent_status(patient).current:
        return
    document, _ = ConsentDocument.objects.get_or_create(
        clinic=patient.clinic,
        scope="program",
        route="",
        version=1,
        defaults={
            "title": "Treatment consent",
            "body": "I agree to treatment.",
            "effective_on": date(2020, 1, 1),
            "created_by": by,
        },
    )
    sign_consent(
        patient=patient,
        document=document,
        typed_name=patient.full_name,
        channel="clinic_device",
        by=by,
        witness=by,
    )


def eligible_for(patient: Patient, *, route: str, by: User) -> EligibilityDecision:
    """A signed eligible decision for `route`, unless the current one already is."""
    current = current_decision(patient, route=route)
    if current is not None and current.decision == "eligible":
        return current
    return signed_decision(patient, route=route, by=by)


def ready_for(patient: Patient, *, route: str, by: User) -> EligibilityDecision:
    """Consent and a signed eligible decision for `route`."""
    program_consent(patient, by=by)
    return eligible_for(patient, route=route, by=by)
