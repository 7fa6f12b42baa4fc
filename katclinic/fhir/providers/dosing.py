"""Encounter (one per dosing session), MedicationAdministration (the doses given in them)
and the sources of the Observations of their checkpoints (served with the scores as
Observation, see ``providers.measures``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm
from katclinic.dosing.models import (
    Administration,
    Checkpoint,
    DosingSession,
    SessionEvent,
    SupportNote,
)
from katclinic.fhir import combined
from katclinic.fhir.registry import (
    Link,
    ResourceType,
    SearchParam,
    date_param,
    register,
    token_filter,
    token_param,
)
from katclinic.fhir.resources.encounter import (
    CALLED_OFF,
    SESSION_SYSTEM,
    STATUS,
    US_CORE_ENCOUNTER,
    to_fhir_encounter,
)
from katclinic.fhir.resources.medication_administration import (
    KIND_SYSTEM,
    KINDS,
    PRODUCT_SYSTEM,
    product_code,
    to_fhir_medication_administration,
)
from katclinic.fhir.resources.vital_signs import (
    BLOOD_PRESSURE,
    CADSS6,
    CATEGORY_SYSTEM,
    HEART_RATE,
    MOAAS,
    PULSE_OXIMETRY,
    RESPIRATORY_RATE,
    Measure,
    blood_pressure,
    cadss6,
    heart_rate,
    moaas,
    pulse_oximetry,
    respiratory_rate,
)
from katclinic.fhir.search import SearchValueError
from katclinic.lib.parse import BadParameter, parse_id
from katclinic.protocols.models import PlanVersion


def _in_force() -> Coalesce:
    """The plan version a dose was given under (its MedicationRequest): the newest of its
    session's plan signed by the time the dose started, or, for a dose recorded as started
    before any signature (a backdated record), the plan's first signed version."""
    signed = PlanVersion.objects.filter(plan=OuterRef("session__plan"), signed_at__isnull=False)
    before = signed.filter(signed_at__lte=OuterRef("started_at")).order_by("-number")
    return Coalesce(
        Subquery(before.values("pk")[:1]), Subquery(signed.order_by("number").values("pk")[:1])
    )


def _rows(clinic: Clinic) -> QuerySet[Administration]:
    # An administration reaches its patient through its session; the annotation puts the
    # patient on the row so compartment filters, $everything and audit read it directly.
    return (
        Administration.objects.filter(clinic=clinic)
        .annotate(patient_id=F("session__patient_id"), request_id=_in_force())
        .select_related("given_by")
        .order_by("-started_at", "-pk")
    )


def _code(system: str | None, code: str) -> Q:
    """A product by its local code (the recorded product name, any case)."""
    if system not in (None, "", PRODUCT_SYSTEM):
        return Q(pk__in=[])  # no national drug codes are served: nothing matches
    return Q(product__iexact=product_code(code))


def _category(system: str | None, code: str) -> Q:
    if system not in (None, "", KIND_SYSTEM) or code not in KINDS:
        return Q(pk__in=[])
    return Q(is_adjunct=code == "adjunct")


def _request(rows: QuerySet[Administration], raw: str) -> QuerySet[Administration]:
    """Doses given under any of the named MedicationRequests (MedicationRequest/123 or 123)."""
    try:
        ids = [parse_id(part.removeprefix("MedicationRequest/"), "id") for part in raw.split(",")]
    except BadParameter:
        raise SearchValueError(
            f"{raw!r} is not a MedicationRequest reference such as MedicationRequest/123"
        ) from None
    return rows.filter(Q(request_id__in=ids))  # an annotation of _rows


def _status(system: str | None, code: str) -> Q:
    running = Q(rate_mg_per_h__isnull=False, ended_at__isnull=True)
    if code == "in-progress":
        return running
    if code == "completed":
        return ~running
    return Q(pk__in=[])


MEDICATION_ADMINISTRATION = register(
    ResourceType(
        name="MedicationAdministration",
        perm=Perm.VIEW_CLINICAL,
        rows=_rows,
        render=lambda row: to_fhir_medication_administration(
            row, row.patient_id, request_id=row.request_id
        ),
        changed_at=lambda row: row.ended_at or row.started_at,
        mandatory=("status", "subject", "effective", "medication"),
        links=(
            Link("context", "Encounter", "session_id"),
            Link("request", "MedicationRequest", "request_id"),
        ),
        documentation="Doses given in dosing sessions, adjuncts included. The product is identified "
        "by its recorded name (local code and text) in a contained Medication with the lot; no "
        "RxNorm or SNOMED CT code is sent, because the codes for ketamine are not yet verified. "
        "request is the signed plan version the dose was given under.",
        params=(
            date_param("effective-time", "started_at", "When the dose was started"),
            date_param("date", "started_at", "Same as effective-time"),
            token_param(
                "code",
                f"Product as recorded ({PRODUCT_SYSTEM}|Ketamine 10 mg/mL); no national drug codes",
                _code,
            ),
            token_param(
                "category",
                f"treatment (ketamine or esketamine) or adjunct ({KIND_SYSTEM})",
                _category,
            ),
            token_param("status", "completed, or in-progress for a running infusion", _status),
            SearchParam(
                "request",
                "reference",
                "The MedicationRequest (signed plan version) it was given under",
                _request,
            ),
        ),
    )
)


def _event_at(state: str) -> Subquery:
    """When the session first moved into ``state`` (None if it never did)."""
    events = SessionEvent.objects.filter(session=OuterRef("pk"), to_state=state)
    return Subquery(events.order_by("at", "pk").values("at")[:1])


def _sessions(clinic: Clinic) -> QuerySet[DosingSession]:
    # Who took part, read in one query per kind for a whole page of sessions.
    taking_part = (
        Prefetch(
            "administrations",
            queryset=Administration.objects.only("session", "given_by", "recorded_at"),
        ),
        Prefetch(
            "checkpoints", queryset=Checkpoint.objects.only("session", "recorded_by", "recorded_at")
        ),
        Prefetch(
            "support_notes", queryset=SupportNote.objects.only("session", "author", "created_at")
        ),
    )
    return (
        DosingSession.objects.for_clinic(clinic)
        .annotate(
            began_at=_event_at("checked_in"),
            ended_at=Coalesce("discharged_at", _event_at("stopped_early")),
            appointment_state=F("appointment__state"),
            last_event_at=Subquery(
                SessionEvent.objects.filter(session=OuterRef("pk"))
                .order_by("-at", "-pk")
                .values("at")[:1]
            ),
            # What a date search and _sort compare: the start of the period as served.
            period_start=Coalesce(_event_at("checked_in"), "dose_started_at", "scheduled_for"),
        )
        .prefetch_related(*taking_part)
        .order_by("-scheduled_for", "-pk")
    )


def clinicians(session: DosingSession) -> list[int]:
    """The staff who dosed, observed or supported the patient, in order of first part."""
    found = [given.given_by_id for given in session.administrations.all()]
    found += [checkpoint.recorded_by_id for checkpoint in session.checkpoints.all()]
    found += [note.author_id for note in session.support_notes.all()]
    return list(dict.fromkeys(found))


def _session_changed(session: DosingSession) -> datetime:
    """The last change of anything the Encounter shows: a state change, or a clinician's
    first part in it (a dose, a checkpoint, a note)."""
    moments = [session.created_at, session.last_event_at, session.discharged_at]  # type: ignore[attr-defined]
    moments += [row.recorded_at for row in session.administrations.all()]
    moments += [row.recorded_at for row in session.checkpoints.all()]
    moments += [row.created_at for row in session.support_notes.all()]
    return max(moment for moment in moments if moment is not None)


def _encounter_status(system: str | None, code: str) -> Q:
    if code == "cancelled":
        return Q(state="scheduled", appointment__state__in=CALLED_OFF)
    states = [state for state, status in STATUS.items() if status == code]
    query = Q(state__in=states)
    if code == "planned":
        query &= ~Q(appointment__state__in=CALLED_OFF) | Q(appointment__isnull=True)
    return query


def _session_identifier(system: str | None, code: str) -> Q:
    if system not in (None, "", SESSION_SYSTEM) or not code.isascii() or not code.isdigit():
        return Q(pk__in=[])
    return Q(pk=int(code)) if len(code) <= 18 else Q(pk__in=[])


def _class(system: str | None, code: str) -> Q:
    ok = system in (None, "", "http://terminology.hl7.org/CodeSystem/v3-ActCode") and code == "AMB"
    return Q(pk__isnull=False) if ok else Q(pk__in=[])


ENCOUNTER = register(
    ResourceType(
        name="Encounter",
        perm=Perm.VIEW_CLINICAL,
        rows=_sessions,
        render=lambda row: to_fhir_encounter(row, clinicians(row)),
        changed_at=_session_changed,
        mandatory=("status", "class", "type", "subject"),
        links=(Link("service-provider", "Organization", "clinic_id"),),
        profiles=(US_CORE_ENCOUNTER,),
        documentation="One ambulatory encounter per dosing session, meeting and declaring US "
        "Core Encounter (6.1.0). Status follows the session (planned, arrived, in-progress, "
        "finished; cancelled when its appointment was cancelled or missed); the period runs "
        "from check-in to discharge or the early stop. Sessions record no reason, so "
        "reasonCode is not sent; the chair is named as the location (no Location resources "
        "are served). Other visits (consultations and their notes) are not served as "
        "Encounters yet.",
        params=(
            date_param("date", "period_start", "When the encounter began (or is planned)"),
            token_param(
                "status", "planned, arrived, in-progress, finished or cancelled", _encounter_status
            ),
            token_param(
                "identifier", f"The session number ({SESSION_SYSTEM}|123)", _session_identifier
            ),
            token_param("class", "Always AMB (ambulatory)", _class),
        ),
    )
)


def _checkpoints(clinic: Clinic, taken: Q) -> QuerySet[Checkpoint]:
    """The clinic's checkpoints holding a measure, with the names every Observation source
    shares: the patient (through the session), when, the Encounter and the performer."""
    return (
        Checkpoint.objects.filter(clinic=clinic)
        .filter(taken)
        .annotate(
            patient_id=F("session__patient_id"),
            effective=F("taken_at"),
            encounter_id=F("session_id"),
            performer_id=F("recorded_by_id"),
        )
    )


def _measure_codes(measure: Measure) -> Callable[[str | None, str], Q]:
    def codes(system: str | None, code: str) -> Q:
        known = any(
            code == own and system in (None, "", own_system)
            for own_system, own, _ in measure.codings
        )
        return Q(pk__isnull=False) if known else Q(pk__in=[])

    return codes


def _measure_category(measure: Measure) -> Callable[[str | None, str], Q]:
    def category(system: str | None, code: str) -> Q:
        known = code == measure.category and system in (None, "", CATEGORY_SYSTEM)
        return Q(pk__isnull=False) if known else Q(pk__in=[])

    return category


def _final(system: str | None, code: str) -> Q:
    # Checkpoints are never corrected or withdrawn: each Observation is final.
    return Q(pk__isnull=False) if code == "final" else Q(pk__in=[])


def _measured(
    measure: Measure, taken: Q, render: Callable[[Checkpoint], dict[str, Any]]
) -> combined.Source:
    """The Observations of one measure: a checkpoint each, where it was taken."""
    return combined.Source(
        key=measure.key,
        rows=lambda clinic: _checkpoints(clinic, taken),
        render=render,
        changed_at=lambda row: row.recorded_at,
        params={
            "code": token_filter(_measure_codes(measure)),
            "category": token_filter(_measure_category(measure)),
            "status": token_filter(_final),
        },
    )


# In the order a page lists a checkpoint's Observations taken at the same moment.
CHECKPOINT_SOURCES = (
    _measured(
        BLOOD_PRESSURE, Q(systolic__isnull=False) | Q(diastolic__isnull=False), blood_pressure
    ),
    _measured(HEART_RATE, Q(heart_rate__isnull=False), heart_rate),
    _measured(RESPIRATORY_RATE, Q(respiratory_rate__isnull=False), respiratory_rate),
    _measured(PULSE_OXIMETRY, Q(spo2__isnull=False), pulse_oximetry),
    _measured(MOAAS, Q(moaas__isnull=False), moaas),
    _measured(CADSS6, Q(cadss6__isnull=False), cadss6),
)
