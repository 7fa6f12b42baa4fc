"""QuestionnaireResponse and Observation (scores) from responses, Flag from safety alerts."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.fhir.registry import (
    ResourceType,
    SearchParam,
    choice_token,
    date_param,
    register,
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
    return _responses(clinic).filter(total__isnull=False)


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

OBSERVATION = register(
    ResourceType(
        name="Observation",
        perm=Perm.VIEW_CLINICAL,
        rows=_scores,
        render=lambda r: to_fhir_observation(r, definition_of(r.instrument)),
        changed_at=lambda r: r.submitted_at,
        mandatory=("status", "code"),
        profiles=(US_CORE_SCREENING,),
        documentation="Instrument totals. Those coded in LOINC (PHQ-9 44261-6, GAD-7 "
        "70274-6) meet and declare US Core Observation Screening Assessment (6.1.0); totals "
        "with only a local code do not declare it. Vital signs taken in dosing sessions are "
        "not served as Observations yet, so no US Core Vital Signs profile is claimed.",
        params=(
            token_param(
                "status",
                "final, preliminary, amended or entered-in-error",
                _status(_OBSERVATION_STATUS),
            ),
            date_param("date", "submitted_at", "When the score was obtained"),
            token_param(
                "code", "Score code, e.g. http://loinc.org|44261-6 (PHQ-9 total)", _score_code
            ),
            SearchParam("category", "token", "Always survey", _survey_only),
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
