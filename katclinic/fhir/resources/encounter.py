"""A dosing session -> FHIR Encounter (R4; R4B identical for the elements used).

Each dosing session is one ambulatory encounter: the patient comes in, is checked, dosed,
monitored and discharged. It meets US Core Encounter 6.1.0
(https://hl7.org/fhir/us/core/STU6.1/StructureDefinition-us-core-encounter.html): the
session's identifier, status, class AMB, a type (SNOMED CT 308335008 "Patient encounter
procedure", the root of the US Core Encounter Type value set, with the session's own kind
as a local code and text), the patient, the clinicians who dosed, observed or supported
the patient, the period, the chair as the location and the clinic as the service provider.
A session records no reason of its own (the plan names no indication), so ``reasonCode``
is left out rather than guessed from the chart.

The period is the session's: from check-in (else the first dose, else the time it was
scheduled for: a planned session, or one recorded without its check-in) to discharge or
the early stop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.dosing.models import DosingSession

US_CORE_ENCOUNTER = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"
SESSION_SYSTEM = "urn:katclinic:dosing-session"
SESSION_TYPE_SYSTEM = "urn:katclinic:encounter-type"
SNOMED = "http://snomed.info/sct"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
AMBULATORY = {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"}
# The session states (katclinic.dosing.statemachine.SessionState) -> Encounter.status.
STATUS = {
    "scheduled": "planned",
    "checked_in": "arrived",
    "pre_dose_checks": "in-progress",
    "dosing": "in-progress",
    "monitoring": "in-progress",
    "ready_for_discharge": "in-progress",
    "discharged": "finished",
    # Dosing was stopped, but the visit took place and ended.
    "stopped_early": "finished",
}
# A session still scheduled whose appointment was cancelled or missed never took place.
CALLED_OFF = ("cancelled", "no_show")
ESKETAMINE = ("esketamine-session", "Esketamine (Spravato) treatment session")
# Routes as the protocols name them -> how a session by that route is called.
ROUTES = {
    "iv": "intravenous",
    "im": "intramuscular",
    "oral": "oral",
    "sublingual": "sublingual",
    "sc": "subcutaneous",
}


def encounter_status(session: DosingSession) -> str:
    appointment_state = getattr(session, "appointment_state", None)
    if session.state == "scheduled" and appointment_state in CALLED_OFF:
        return "cancelled"
    return STATUS.get(session.state, "unknown")


def session_kind(route: str) -> tuple[str, str]:
    """The local code and text of a session given by ``route``."""
    if route == "intranasal":
        return ESKETAMINE
    way = ROUTES.get(route, route)
    return (
        "ketamine-session",
        f"Ketamine dosing session ({way})" if way else "Ketamine dosing session",
    )


def _period(session: DosingSession) -> dict[str, str]:
    start = getattr(session, "began_at", None) or session.dose_started_at or session.scheduled_for
    end = getattr(session, "ended_at", None) or session.discharged_at
    return {key: utc(moment) for key, moment in (("start", start), ("end", end)) if moment}


def to_fhir_encounter(session: DosingSession, clinicians: list[int]) -> dict[str, Any]:
    """The Encounter of ``session``; ``clinicians`` are the staff who took part, by id."""
    code, text = session_kind(session.route)
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(session.pk),
        "meta": {"profile": [US_CORE_ENCOUNTER]},
        "identifier": [{"system": SESSION_SYSTEM, "value": str(session.pk)}],
        "status": encounter_status(session),
        "class": AMBULATORY,
        "type": [
            {
                "coding": [
                    {
                        "system": SNOMED,
                        "code": "308335008",
                        "display": "Patient encounter procedure",
                    },
                    {"system": SESSION_TYPE_SYSTEM, "code": code, "display": text},
                ],
                "text": text,
            }
        ],
        "serviceType": {"text": "Ketamine-assisted treatment"},
        "subject": {"reference": f"Patient/{session.patient_id}"},
    }
    if clinicians:
        resource["participant"] = [
            {
                "type": [{"coding": [{"system": PARTICIPATION, "code": "PART"}]}],
                "individual": {"reference": f"Practitioner/{pk}"},
            }
            for pk in clinicians
        ]
    period = _period(session)
    if period:
        resource["period"] = period
    if session.chair:
        resource["location"] = [{"location": {"display": session.chair}}]
    resource["serviceProvider"] = {"reference": f"Organization/{session.clinic_id}"}
    return resource
