"""QuestionnaireResponse from responses, Observation from scored responses and from dosing
sessions' checkpoints (vital signs and session ratings), Flag from safety alerts."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import BigIntegerField, Case, F, Q, QuerySet, Value, When

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir import combined
from katclinic.fhir.providers.dosing import CHECKPOINT_SOURCES
from katclinic.fhir.registry import (
    Link,
    ResourceType,
    SearchParam,
    choice_token,
    date_param,
    reference_number,
    register,
    token_filter,
    token_param,
)
from katclinic.fhir.resources.flag import to_fhir_flag
from katclinic.fhir.resources.observation import (
    STATUS,
    US_CORE_SCREENING,
    to_fhir_observation,
    total_coding,
)
from katclinic.fhir.resources.questionnaire_response import (
    US_CORE_QUESTIONNAIRE_RESPONSE,
    to_fhir_questionnaire_response,
)
from katclinic.fhir.resources.vital_signs import VITAL_PROFILES
from katclinic.measures.catalogue import definition_of
from katclinic.measures.fhir_questionnaire import QUESTIONNAIRE_URL_PREFIX
from katclinic.measures.models import AlertState, Response, SafetyAlert
from katclinic.measures.scoring import load_builtin_instruments


def _responses(clinic: Clinic) -> QuerySet[Response]:
    # The definition JSON is parsed once per instrument row and cached by the catalogue.
    return (
        Response.objects.for_clinic(clinic)
        .select_related("instrument")
        .defer("instrument__definition")
        .order_by("-submitted_at", "-pk")
    )


def _scores(clinic: Clinic) -> QuerySet[Response]:
    """Scored responses, with the names every Observation source shares: when, the
    Encounter (a score has none) and the clinician performer (see response_author)."""
    rated_by_staff = Q(source="staff", submitted_by__isnull=False) & ~Q(
        instrument__kind="self_report"
    )
    return (
        _responses(clinic)
        .filter(total__isnull=False)
        .annotate(
            effective=F("submitted_at"),
            encounter_id=Value(None, output_field=BigIntegerField()),
            performer_id=Case(When(rated_by_staff, then=F("submitted_by_id")), default=None),
        )
    )


def _questionnaire(rows: QuerySet[Response], raw: str) -> QuerySet[Response]:
    """``urn:katclinic:questionnaire:phq9`` (optionally ``|1.0.0``), or just ``phq9``."""
    query = Q(pk__in=[])
    for value in raw.split(","):
        url, _, version = value.partition("|")
        key = url.removeprefix(QUESTIONNAIRE_URL_PREFIX).removeprefix("Questionnaire/")
        key = key.replace("-", "_")
        query |= Q(instrument_key=key, **({"instrument_version": version} if version else {}))
    return rows.filter(query)


def _score_code(system: str | None, code: str) -> Q:
    keys = [
        key
        for key, definition in load_builtin_instruments().items()
        if definition.has_total
        and total_coding(definition)["code"] == code
        and system in (None, "", total_coding(definition)["system"])
    ]
    return Q(instrument_key__in=keys)


def _survey_only(rows: QuerySet[Response], raw: str) -> QuerySet[Response]:
    codes = {value.rpartition("|")[2] for value in raw.split(",")}
    return rows if "survey" in codes else rows.none()


def _encounter(rows: combined.Combined, raw: str) -> combined.Combined:
    """``Encounter/123`` or ``123`` (several, comma-separated): Observations of those sessions."""
    numbers = [reference_number(part, "Encounter") for part in raw.split(",")]
    return rows.filter(encounter_id__in=numbers)


# Each served status -> the rows that have it (see response_status).
_RESPONSE_STATUS = {
    "entered-in-error": Q(is_current=False),
    "amended": Q(is_current=True, corrects__isnull=False),
    "completed": Q(is_current=True, corrects__isnull=True, complete=True),
    "in-progress": Q(is_current=True, corrects__isnull=True, complete=False),
}
_OBSERVATION_STATUS = {STATUS[name]: query for name, query in _RESPONSE_STATUS.items()}


def _status(mapping: dict[str, Q]) -> Callable[[str | None, str], Q]:
    return lambda system, code: mapping.get(code, Q(pk__in=[]))


QUESTIONNAIRE_RESPONSE = register(
    ResourceType(
        name="QuestionnaireResponse",
        perm=Perm.VIEW_CLINICAL,
        rows=_responses,
        render=lambda r: to_fhir_questionnaire_response(r, definition_of(r.instrument)),
        changed_at=lambda r: r.submitted_at,
        mandatory=("status",),
        profiles=(US_CORE_QUESTIONNAIRE_RESPONSE,),
        documentation="Questionnaire answers as submitted; each meets and declares US Core "
        "QuestionnaireResponse (6.1.0).",
        params=(
            token_param(
                "status",
                "completed, in-progress, amended or entered-in-error",
                _status(_RESPONSE_STATUS),
            ),
            date_param("authored", "submitted_at", "When the answers were submitted"),
            SearchParam(
                "questionnaire",
                "reference",
                "The Questionnaire (canonical URL or key)",
                _questionnaire,
            ),
        ),
    )
)

OBSERVATION_NOTE = (
    "Instrument totals and the readings of dosing sessions, one Observation per measure "
    "taken. Totals coded in LOINC (PHQ-9 44261-6, GAD-7 70274-6) meet and declare US Core "
    "Observation Screening Assessment (6.1.0); totals with only a local code do not declare "
    "it. A session checkpoint's blood pressure (85354-9), heart rate (8867-4), respiratory "
    "rate (9279-1) and pulse oximetry (59408-5, 2708-6) meet and declare US Core Blood "
    "Pressure, Heart Rate, Respiratory Rate and Pulse Oximetry (6.1.0), with the session's "
    "Encounter and the nurse as performer; their ids are bp-, hr-, rr- and spo2- and the "
    "checkpoint's number. MOAA/S (category exam) and CADSS-6 (category survey) have no "
    "LOINC code: they carry codes moaas and cadss6 of urn:katclinic:session-measure and "
    "declare no profile (ids moaas- and cadss6-). US Core's searches are served: patient "
    "with category, with code, with category and date, with code and date, and with "
    "category and status. Paging orders by date (newest first), then source, then number."
)

SCORES = combined.Source(
    key="",
    rows=_scores,
    render=lambda r: to_fhir_observation(r, definition_of(r.instrument)),
    changed_at=lambda r: r.submitted_at,
    params={
        "status": token_filter(_status(_OBSERVATION_STATUS)),
        "code": token_filter(_score_code),
        "category": _survey_only,
    },
)

OBSERVATION = register(
    combined.combined_type(
        name="Observation",
        perm=Perm.VIEW_CLINICAL,
        sources=(SCORES, *CHECKPOINT_SOURCES),
        mandatory=("status", "code"),
        profiles=(US_CORE_SCREENING, *VITAL_PROFILES),
        links=(
            Link("encounter", "Encounter", "encounter_id"),
            Link("performer", "Practitioner", "performer_id"),
        ),
        documentation=OBSERVATION_NOTE,
        params=(
            SearchParam(
                "status",
                "token",
                "final (every vital sign; scores also preliminary, amended or entered-in-error)",
                combined.each_source("status"),
            ),
            date_param("date", "effective", "When it was observed: taken, or the score obtained"),
            SearchParam(
                "code",
                "token",
                "e.g. http://loinc.org|8867-4 (heart rate) or http://loinc.org|44261-6 "
                "(PHQ-9 total)",
                combined.each_source("code"),
            ),
            SearchParam(
                "category",
                "token",
                "vital-signs, exam (MOAA/S) or survey (scores, CADSS-6)",
                combined.each_source("category"),
            ),
            SearchParam(
                "encounter", "reference", "The dosing session (Encounter/123 or 123)", _encounter
            ),
        ),
    )
)

FLAG = register(
    ResourceType(
        name="Flag",
        perm=Perm.VIEW_CLINICAL,
        rows=lambda clinic: SafetyAlert.objects.for_clinic(clinic).order_by("-raised_at", "-pk"),
        render=to_fhir_flag,
        changed_at=lambda row: row.closed_at or row.acknowledged_at or row.raised_at,
        mandatory=("status", "code", "subject"),
        params=(
            date_param("date", "raised_at", "When the alert was raised"),
            choice_token(
                "status",
                "active (open or acknowledged) or inactive (closed)",
                "state",
                {
                    "active": [AlertState.OPEN, AlertState.ACKNOWLEDGED],
                    "inactive": [AlertState.CLOSED],
                },
            ),
        ),
    )
)
