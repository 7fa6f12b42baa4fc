"""A dosing session's checkpoint -> FHIR Observations of what was measured (R4; identical
in R4B for the elements used).

A checkpoint is one set of readings a nurse takes during a session; each measure taken
becomes one Observation and a measure left empty becomes none. The four vital signs meet
and declare their US Core 6.1.0 profiles
(https://hl7.org/fhir/us/core/STU6.1/profiles-and-extensions.html#observation), each with
category ``vital-signs``, its LOINC code (https://loinc.org), a UCUM quantity, when it was
taken, the patient, the session's Encounter and the nurse who recorded it:

- Blood pressure: panel 85354-9 with systolic 8480-6 and diastolic 8462-4 components in
  mm[Hg] (US Core Blood Pressure); a side not taken carries the data-absent reason
  ``not-performed``, as the profile allows.
- Heart rate: 8867-4 in /min (US Core Heart Rate).
- Respiratory rate: 9279-1 in /min (US Core Respiratory Rate).
- Oxygen saturation by pulse oximetry: 59408-5 and 2708-6 in % (US Core Pulse Oximetry).

The sedation (MOAA/S, 0-5) and dissociation (CADSS-6, 0-24) ratings have no LOINC code
(none is listed for either scale at https://loinc.org), so they carry a code of this
server's own system ``urn:katclinic:session-measure`` (``moaas``, ``cadss6``), with
category ``exam`` for the observed sedation level and ``survey`` for the dissociation
rating, and declare no US Core profile: US Core's observation profiles need LOINC codes.

Checkpoints are never edited or withdrawn (a new reading is a new checkpoint), so every
Observation is ``final``. Its id is the measure's key and the checkpoint's number
(``bp-12``), which can never equal a score Observation's plain number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from katclinic.fhir.search import utc

if TYPE_CHECKING:
    from katclinic.dosing.models import Checkpoint

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
US_CORE_BLOOD_PRESSURE = f"{US_CORE}us-core-blood-pressure"
US_CORE_HEART_RATE = f"{US_CORE}us-core-heart-rate"
US_CORE_RESPIRATORY_RATE = f"{US_CORE}us-core-respiratory-rate"
US_CORE_PULSE_OXIMETRY = f"{US_CORE}us-core-pulse-oximetry"
VITAL_PROFILES = (
    US_CORE_BLOOD_PRESSURE,
    US_CORE_HEART_RATE,
    US_CORE_RESPIRATORY_RATE,
    US_CORE_PULSE_OXIMETRY,
)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
MEASURE_SYSTEM = "urn:katclinic:session-measure"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "exam": "Exam", "survey": "Survey"}


@dataclass(frozen=True)
class Measure:
    """One thing a checkpoint may hold, served as its own Observation."""

    key: str  # the id prefix
    category: str  # an observation-category code
    codings: tuple[tuple[str, str, str], ...]  # (system, code, display)
    text: str
    profile: str | None


BLOOD_PRESSURE = Measure(
    "bp",
    "vital-signs",
    ((LOINC, "85354-9", "Blood pressure panel with all children optional"),),
    "Blood pressure",
    US_CORE_BLOOD_PRESSURE,
)
HEART_RATE = Measure(
    "hr", "vital-signs", ((LOINC, "8867-4", "Heart rate"),), "Heart rate", US_CORE_HEART_RATE
)
RESPIRATORY_RATE = Measure(
    "rr",
    "vital-signs",
    ((LOINC, "9279-1", "Respiratory rate"),),
    "Respiratory rate",
    US_CORE_RESPIRATORY_RATE,
)
PULSE_OXIMETRY = Measure(
    "spo2",
    "vital-signs",
    (
        (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        (LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
    ),
    "Oxygen saturation (pulse oximetry)",
    US_CORE_PULSE_OXIMETRY,
)
MOAAS = Measure(
    "moaas",
    "exam",
    ((MEASURE_SYSTEM, "moaas", "Modified Observer's Assessment of Alertness/Sedation"),),
    "MOAA/S sedation level (0-5)",
    None,
)
CADSS6 = Measure(
    "cadss6",
    "survey",
    ((MEASURE_SYSTEM, "cadss6", "Clinician-Administered Dissociative States Scale, 6 items"),),
    "CADSS-6 dissociation score (0-24)",
    None,
)


def quantity(value: int, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _base(checkpoint: Checkpoint, measure: Measure) -> dict[str, Any]:
    """What every Observation of a checkpoint holds (the patient comes annotated)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{measure.key}-{checkpoint.pk}",
    }
    if measure.profile:
        resource["meta"] = {"profile": [measure.profile]}
    category = {"system": CATEGORY_SYSTEM, "code": measure.category}
    category["display"] = CATEGORY_DISPLAY[measure.category]
    codings = [{"system": s, "code": c, "display": d} for s, c, d in measure.codings]
    return resource | {
        "status": "final",
        "category": [{"coding": [category], "text": CATEGORY_DISPLAY[measure.category]}],
        "code": {"coding": codings, "text": measure.text},
        "subject": {"reference": f"Patient/{checkpoint.patient_id}"},  # type: ignore[attr-defined]
        "encounter": {"reference": f"Encounter/{checkpoint.session_id}"},
        "effectiveDateTime": utc(checkpoint.taken_at),
        "issued": utc(checkpoint.recorded_at),
        "performer": [{"reference": f"Practitioner/{checkpoint.recorded_by_id}"}],
    }


def _side(code: str, display: str, value: int | None) -> dict[str, Any]:
    component: dict[str, Any] = {
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]}
    }
    if value is None:
        component["dataAbsentReason"] = {
            "coding": [{"system": DATA_ABSENT, "code": "not-performed", "display": "Not Performed"}]
        }
    else:
        component["valueQuantity"] = quantity(value, "mmHg", "mm[Hg]")
    return component


def blood_pressure(checkpoint: Checkpoint) -> dict[str, Any]:
    return _base(checkpoint, BLOOD_PRESSURE) | {
        "component": [
            _side("8480-6", "Systolic blood pressure", checkpoint.systolic),
            _side("8462-4", "Diastolic blood pressure", checkpoint.diastolic),
        ]
    }


def _valued(
    measure: Measure, value: Callable[[Checkpoint], int | None], unit: tuple[str, str] | None
) -> Callable[[Checkpoint], dict[str, Any]]:
    """The renderer of a one-value measure: a UCUM quantity, or an integer score."""

    def render(checkpoint: Checkpoint) -> dict[str, Any]:
        number = value(checkpoint)
        if number is None:  # only checkpoints holding the measure are served
            raise ValueError(f"checkpoint {checkpoint.pk} holds no {measure.text}")
        if unit is None:
            return _base(checkpoint, measure) | {"valueInteger": number}
        return _base(checkpoint, measure) | {"valueQuantity": quantity(number, *unit)}

    return render


heart_rate = _valued(HEART_RATE, lambda c: c.heart_rate, ("beats/minute", "/min"))
respiratory_rate = _valued(
    RESPIRATORY_RATE, lambda c: c.respiratory_rate, ("breaths/minute", "/min")
)
pulse_oximetry = _valued(PULSE_OXIMETRY, lambda c: c.spo2, ("%", "%"))
moaas = _valued(MOAAS, lambda c: c.moaas, None)
cadss6 = _valued(CADSS6, lambda c: c.cadss6, None)
