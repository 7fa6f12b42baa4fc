"""Keeping the outcome rollup current, and the audited exports.

The rollup is refreshed by the worker, never on a submission's request: the periodic job
`refresh_outcomes_task` (every minute) finds what changed since its watermark (new and
corrected responses by id, sessions, side effects, invitations, course dates, changed
clinic settings) and recomputes those courses whole. Pages that show rollup figures say how
current they are with `rollup_as_of()`. Nothing clinical reads the rollup: the progress
view and its reports compute a course live (`summarize_course`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import batched
from typing import Any, TypedDict

from django.db import transaction
from django.db.models import Count, Model, Q, QuerySet, Sum
from django.tasks import task
from django.utils import timezone

from katclinic.athome.models import HomeSession
from katclinic.clinics.registry import all_settings
from katclinic.dosing.models import (
    Administration,
    DischargeAssessment,
    DosingSession,
    InSessionAlert,
    SideEffect,
)
from katclinic.lib.compiled import ByIds
from katclinic.measures.catalogue import current_instrument, definition_of
from katclinic.measures.models import Course, Invitation, Response
from katclinic.measures.scoring import InstrumentDefinition
from katclinic.outcomes import clinic_settings as S
from katclinic.outcomes.models import CourseOutcome, RefreshMark
from katclinic.outcomes.rollup import (
    CourseFacts,
    Score,
    SessionFacts,
    Summary,
    in_course,
    summarize,
)
from katclinic.patients.models import Patient
from katclinic.protocols.models import Plan

JOB = "outcomes.refresh"
CHUNK = 500
# Re-read a little before the watermark: a transaction that started before the
# last run may commit rows stamped earlier than the time that run recorded.
OVERLAP = timedelta(minutes=5)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Ids are handed out before commit, so a slow transaction can commit a lower id
# after a run has passed it. Each run re-reads from the newest id the run before the last
# one saw (a whole interval back), and at least the last few hundred ids, so only a
# submission left uncommitted for longer than the job's interval could be passed over.
RESPONSE_OVERLAP = 500


def refresh_course_outcome(course: Course) -> CourseOutcome:
    """Recompute one course's row now."""
    refresh_courses([course])
    return CourseOutcome.objects.get(course=course)


def refresh_open_courses(*, patient: Patient) -> int:
    """Recompute the rows of the patient's open courses."""
    return refresh_courses(Course.objects.open().filter(patient=patient))


def refresh_courses(courses: Iterable[Course]) -> int:
    """Recompute the rows of `courses`, a chunk of courses at a time; returns rows written."""
    written = 0
    for chunk in batched(courses, CHUNK):
        written += _refresh_chunk(list(chunk))
    return written


def changed_courses(*, since: datetime, after_response_id: int | None = None) -> Sequence[Course]:
    """Courses whose scores, sessions, invitations or dates changed at or after `since`,
    courses without a row yet, and rows computed with settings the clinic has since changed.

    With `after_response_id`, new responses are found by id instead of time: that also
    finds corrections (which keep the original time) and back-dated imports, and reads
    the primary key index instead of scanning `submitted_at`.
    """
    patients = _changed_patients(since, after_response_id)
    query = (
        Q(patient_id__in=patients)
        | Q(outcome__isnull=True)
        | Q(started_on__gte=since.date())
        | Q(ended_on__gte=since.date())
    )
    stale = _stale_settings_query()
    if stale is not None:
        query |= stale
    return list(Course.objects.filter(query).order_by("pk"))


def refresh_course_outcomes(*, since: datetime, after_response_id: int | None = None) -> int:
    """Refresh every course changed since `since` (see `changed_courses`)."""
    return refresh_courses(changed_courses(since=since, after_response_id=after_response_id))


@task()
def refresh_outcomes_task() -> int:
    """The periodic job: refresh from the stored watermark, then move it on."""
    started = timezone.now()
    newest = Response.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    mark = RefreshMark.objects.filter(name=JOB).first()
    since = mark.at - OVERLAP if mark else EPOCH
    after = _reread_after(mark)
    written = refresh_course_outcomes(since=since, after_response_id=after)
    RefreshMark.objects.update_or_create(
        name=JOB,
        defaults={
            "at": started,
            "response_id": newest,
            "previous_response_id": mark.response_id if mark else 0,
        },
    )
    return written


def _reread_after(mark: RefreshMark | None) -> int:
    """The response id the job reads above: one run further back than the last one."""
    if mark is None:
        return 0
    return max(0, min(mark.previous_response_id, mark.response_id - RESPONSE_OVERLAP))


def rollup_as_of() -> datetime | None:
    """When the last refresh started: every change committed before then is in the rollup
    (None until the worker has run the job once)."""
    return RefreshMark.objects.filter(name=JOB).values_list("at", flat=True).first()


def _changed_patients(since: datetime, after_response_id: int | None) -> set[int]:
    ids: set[int] = set()
    responses = (
        Response.objects.filter(submitted_at__gte=since)
        if after_response_id is None
        else Response.objects.filter(pk__gt=after_response_id)
    )
    ids.update(responses.values_list("patient_id", flat=True))
    ids.update(
        DosingSession.objects.filter(
            Q(created_at__gte=since) | Q(dose_started_at__gte=since) | Q(discharged_at__gte=since)
        ).values_list("patient_id", flat=True)
    )
    for model, stamp in (
        (Administration, "recorded_at"),
        (SideEffect, "recorded_at"),
        (InSessionAlert, "raised_at"),
        (DischargeAssessment, "assessed_at"),
    ):
        rows = model.objects.filter(**{f"{stamp}__gte": since})
        ids.update(rows.values_list("session__patient_id", flat=True))
    ids.update(HomeSession.objects.filter(taken_at__gte=since).values_list("patient_id", flat=True))
    ids.update(
        Invitation.objects.filter(
            Q(created_at__gte=since)
            | Q(used_at__gte=since)
            | Q(due_at__gte=since, due_at__lte=timezone.now())
        ).values_list("patient_id", flat=True)
    )
    return ids


def _stale_settings_query() -> Q | None:
    """Rows whose instrument or induction settings no longer match their clinic's."""
    query: Q | None = None
    clinic_ids = CourseOutcome.objects.values_list("clinic_id", flat=True).distinct()
    for clinic_id in clinic_ids:
        wanted = _settings(clinic_id)
        stale = Q(outcome__clinic_id=clinic_id) & (
            ~Q(outcome__instrument=wanted["instrument"])
            | ~Q(outcome__induction_days=wanted["induction_days"])
        )
        query = stale if query is None else query | stale
    return query


class OutcomeSettings(TypedDict):
    """What a clinic's outcome rows are computed with."""

    instrument: str
    induction_days: int
    window: int


def _settings(clinic_id: int) -> OutcomeSettings:
    values = all_settings(clinic_id)
    return {
        "instrument": values[S.INSTRUMENT].strip() or "phq9",
        "induction_days": values[S.INDUCTION_DAYS],
        "window": values[S.INDUCTION_WINDOW_DAYS],
    }


@transaction.atomic
def _refresh_chunk(courses: list[Course]) -> int:
    settings = {cid: _settings(cid) for cid in {c.clinic_id for c in courses}}
    definitions: dict[tuple[str, int], InstrumentDefinition | None] = {}
    for clinic_id, wanted in settings.items():
        row = current_instrument(wanted["instrument"], clinic_id)
        definitions[wanted["instrument"], clinic_id] = definition_of(row) if row else None
    patients = {c.patient_id for c in courses}
    keys = {s["instrument"] for s in settings.values()}
    scores = _scores(patients, keys)
    sessions, protocols = _sessions(patients)
    home = _home_sessions(patients)
    plans = _latest_plans(patients)
    invitations = _invitations(patients)
    answers = _answered(patients)
    rows = []
    for course in courses:
        wanted = settings[course.clinic_id]
        definition = definitions[wanted["instrument"], course.clinic_id]
        if definition is None:
            continue
        due, answered = _completeness(
            invitations[course.patient_id], answers[course.patient_id], course
        )
        facts = CourseFacts(
            started_on=course.started_on,
            ended_on=course.ended_on,
            baseline_id=course.baseline_id,
            scores=scores[course.patient_id, wanted["instrument"]],
            sessions=_doses(sessions[course.patient_id], home[course.patient_id]),
            questionnaires_due=due,
            questionnaires_answered=answered,
        )
        summary = summarize(
            facts, definition, induction_days=wanted["induction_days"], window=wanted["window"]
        )
        protocol = _protocol_for(course, sessions[course.patient_id], protocols, plans)
        rows.append(_row(course, wanted, summary, protocol))
    CourseOutcome.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["course"], update_fields=UPDATE_FIELDS
    )
    return len(rows)


def _scores_query(patients: list[int], key: str) -> QuerySet[Response, tuple[Any, ...]]:
    return (
        Response.objects.current()
        .filter(patient_id__in=patients, instrument_key=key, complete=True, total__isnull=False)
        .order_by("submitted_at", "pk")
        .values_list("patient_id", "submitted_at", "total", "pk")
    )


_SCORES = ByIds(Response, _scores_query, key=str)


def _scores(patients: set[int], keys: set[str]) -> defaultdict[tuple[int, str], list[Score]]:
    """Each patient's complete scores on each instrument, oldest first."""
    found: defaultdict[tuple[int, str], list[Score]] = defaultdict(list)
    for key in sorted(keys):
        for patient_id, at, total, pk in _SCORES(patients, key=key):
            if total is not None:  # filtered above; the column is nullable
                found[patient_id, key].append(Score(at=at, total=total, response_id=pk))
    return found


def _per_session(model: type[Model], **extra: object) -> ByIds:
    """Rows of ``model`` per session of some patients, counted."""

    def query(patients: list[int]) -> QuerySet[Any, tuple[Any, ...]]:
        rows = model._default_manager.filter(session__patient_id__in=patients, **extra)
        return rows.values("session_id").annotate(n=Count("pk")).values_list("session_id", "n")

    return ByIds(model, query)


def _mg_query(patients: list[int]) -> QuerySet[Administration, tuple[Any, ...]]:
    return (
        Administration.objects.filter(session__patient_id__in=patients, is_adjunct=False)
        .values("session_id")
        .annotate(total=Sum("dose_mg"))
        .values_list("session_id", "total")
    )


def _side_effects_query(patients: list[int]) -> QuerySet[SideEffect, tuple[Any, ...]]:
    """Side effects and the serious ones among them, counted in one statement."""
    return (
        SideEffect.objects.filter(session__patient_id__in=patients)
        .values("session_id")
        .annotate(n=Count("pk"), serious=Count("pk", filter=Q(serious=True)))
        .values_list("session_id", "n", "serious")
    )


def _dosed_query(patients: list[int]) -> QuerySet[DosingSession, tuple[Any, ...]]:
    return (
        DosingSession.objects.filter(patient_id__in=patients, dose_started_at__isnull=False)
        .order_by("dose_started_at", "pk")
        .values_list(
            "pk",
            "patient_id",
            "plan_id",
            "dose_started_at",
            "plan__protocol_version__key",
            "plan__protocol_version__title",
            "route",
        )
    )


_MG = ByIds(Administration, _mg_query)


def session_doses(patients: set[int]) -> dict[int, Decimal]:
    """Ketamine given per dosing session of ``patients`` (adjuncts are not ketamine)."""
    return dict(_MG(patients))


_SIDE_EFFECTS = ByIds(SideEffect, _side_effects_query)
_ALERTS = _per_session(InSessionAlert)
_DELAYED = _per_session(DischargeAssessment, allowed=False)
_DOSED = ByIds(DosingSession, _dosed_query)


def _sessions(
    patients: set[int],
) -> tuple[defaultdict[int, list[tuple[SessionFacts, int]]], dict[int, tuple[str, str, str]]]:
    """Dosed sessions per patient (with their plan id), and each plan's protocol."""
    mg = session_doses(patients)
    side: dict[int, int] = {}
    serious: dict[int, int] = {}
    for session_id, n, n_serious in _SIDE_EFFECTS(patients):
        side[session_id], serious[session_id] = n, n_serious
    alerts = dict(_ALERTS(patients))
    delayed = dict(_DELAYED(patients))
    found: defaultdict[int, list[tuple[SessionFacts, int]]] = defaultdict(list)
    protocols: dict[int, tuple[str, str, str]] = {}
    for pk, patient_id, plan_id, started, key, title, route in _DOSED(patients):
        if started is None:  # filtered above; the column is nullable
            continue
        facts = SessionFacts(
            started_at=started,
            mg=mg.get(pk) or Decimal(0),
            side_effects=side.get(pk, 0),
            adverse_events=serious.get(pk, 0),
            threshold_alerts=alerts.get(pk, 0),
            discharge_delayed=bool(delayed.get(pk)),
        )
        found[patient_id].append((facts, plan_id))
        protocols[plan_id] = (key, title, route)
    return found, protocols


def _home_query(patients: list[int]) -> QuerySet[HomeSession, tuple[Any, ...]]:
    rows = HomeSession.objects.taken().filter(patient_id__in=patients, taken_at__isnull=False)
    return rows.values_list("patient_id", "taken_at", "dose_mg")


_HOME = ByIds(HomeSession, _home_query)


def _home_sessions(patients: set[int]) -> defaultdict[int, list[SessionFacts]]:
    """At-home doses taken, per patient: they are sessions of the course too."""
    found: defaultdict[int, list[SessionFacts]] = defaultdict(list)
    for patient_id, taken_at, mg in _HOME(patients):
        if taken_at is None:  # filtered above; the column is nullable
            continue
        found[patient_id].append(SessionFacts(started_at=taken_at, mg=mg or Decimal(0)))
    return found


def _doses(clinic: list[tuple[SessionFacts, int]], home: list[SessionFacts]) -> list[SessionFacts]:
    """Every dosed session of a patient, in the clinic and at home, oldest first."""
    return sorted([facts for facts, _ in clinic] + home, key=lambda facts: facts.started_at)


def _latest_plans(patients: set[int]) -> dict[int, tuple[str, str, str]]:
    """Each patient's newest plan's protocol, for courses with no dose given yet."""
    latest: dict[int, tuple[str, str, str]] = {}
    rows = (
        Plan.objects.filter(patient_id__in=patients)
        .order_by("created_at", "pk")
        .values_list(
            "patient_id",
            "protocol_version__key",
            "protocol_version__title",
            "protocol_version__route",
        )
    )
    for patient_id, key, title, route in rows:
        latest[patient_id] = (key, title, route)
    return latest


Due = tuple[datetime, datetime, str, bool]  # due, expires, instrument, used by its link


def _invitations_query(patients: list[int], now: datetime) -> QuerySet[Invitation, tuple[Any, ...]]:
    rows = Invitation.objects.filter(patient_id__in=patients, due_at__lte=now)
    return rows.values_list("patient_id", "due_at", "expires_at", "instrument_key", "used_at")


_INVITATIONS = ByIds(Invitation, _invitations_query, now=datetime)


def _invitations(patients: set[int]) -> defaultdict[int, list[Due]]:
    found: defaultdict[int, list[Due]] = defaultdict(list)
    for patient_id, due_at, expires_at, key, used_at in _INVITATIONS(patients, now=timezone.now()):
        found[patient_id].append((due_at, expires_at, key, used_at is not None))
    return found


def _answered_query(patients: list[int]) -> QuerySet[Response, tuple[Any, ...]]:
    rows = Response.objects.current().filter(
        patient_id__in=patients, complete=True, invitation__isnull=True
    )
    return rows.values_list("patient_id", "submitted_at", "instrument_key")


_ANSWERED = ByIds(Response, _answered_query)


def _answered(patients: set[int]) -> defaultdict[int, list[tuple[datetime, str]]]:
    """Every complete current response per patient not given through a link (those count
    for their own invitation)."""
    found: defaultdict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for patient_id, at, key in _ANSWERED(patients):
        found[patient_id].append((at, key))
    return found


def _completeness(
    invitations: list[Due], answers: list[tuple[datetime, str]], course: Course
) -> tuple[int, int]:
    """Questionnaires due in the course, and how many were answered: through their link, or
    by a response on the same questionnaire entered while the link was open (at the clinic,
    through the API). Each response answers one questionnaire at most."""
    unused = list(answers)
    due = answered = 0
    for due_at, expires_at, key, used in sorted(invitations):
        if not in_course(due_at, course.started_on, course.ended_on):
            continue
        due += 1
        match = next((a for a in unused if a[1] == key and due_at <= a[0] <= expires_at), None)
        if used or match is not None:
            answered += 1
        if not used and match is not None:
            unused.remove(match)
    return due, answered


def _protocol_for(
    course: Course,
    sessions: list[tuple[SessionFacts, int]],
    protocols: dict[int, tuple[str, str, str]],
    plans: dict[int, tuple[str, str, str]],
) -> tuple[str, str, str]:
    for facts, plan_id in sessions:
        if in_course(facts.started_at, course.started_on, course.ended_on):
            return protocols[plan_id]
    return plans.get(course.patient_id, ("", "", ""))


UPDATE_FIELDS = [
    "protocol_key",
    "protocol_title",
    "route",
    "instrument",
    "started_on",
    "ended_on",
    "start_month",
    "baseline_total",
    "baseline_at",
    "latest_total",
    "latest_at",
    "best_percent_change",
    "responded_at",
    "remitted_at",
    "response_lost_at",
    "last_observed_at",
    "days_to_response",
    "durability_days",
    "sessions_given",
    "sessions_to_response",
    "cumulative_mg",
    "side_effects",
    "adverse_events",
    "threshold_alerts",
    "discharge_delays",
    "questionnaires_due",
    "questionnaires_answered",
    "induction_days",
    "induction_due_on",
    "induction_total",
    "induction_responded",
    "induction_remitted",
    "refreshed_at",
]


def _row(
    course: Course, wanted: OutcomeSettings, summary: Summary, protocol: tuple[str, str, str]
) -> CourseOutcome:
    baseline, latest = summary.baseline, summary.latest
    return CourseOutcome(
        clinic_id=course.clinic_id,
        patient_id=course.patient_id,
        course=course,
        protocol_key=protocol[0] or "",
        protocol_title=protocol[1] or "",
        route=protocol[2] or "",
        instrument=wanted["instrument"],
        started_on=course.started_on,
        ended_on=course.ended_on,
        start_month=course.started_on.replace(day=1),
        baseline_total=baseline.total if baseline else None,
        baseline_at=baseline.at if baseline else None,
        latest_total=latest.total if latest else None,
        latest_at=latest.at if latest else None,
        best_percent_change=summary.best_percent_change,
        responded_at=summary.responded_at,
        remitted_at=summary.remitted_at,
        response_lost_at=summary.response_lost_at,
        last_observed_at=summary.last_observed_at,
        days_to_response=summary.days_to_response,
        durability_days=summary.durability_days,
        sessions_to_response=summary.sessions_to_response,
        induction_days=wanted["induction_days"],
        induction_due_on=summary.induction_due_on,
        induction_total=summary.induction_total,
        induction_responded=summary.induction_responded,
        induction_remitted=summary.induction_remitted,
        refreshed_at=timezone.now(),
        **summary.totals,
    )


def summarize_course(
    course: Course,
) -> tuple[Summary | None, InstrumentDefinition | None, OutcomeSettings]:
    """One course's summary computed live (for the progress view and reports)."""
    wanted = _settings(course.clinic_id)
    row = current_instrument(wanted["instrument"], course.clinic_id)
    if row is None:
        return None, None, wanted
    definition = definition_of(row)
    patients = {course.patient_id}
    sessions, _ = _sessions(patients)
    due, answered = _completeness(
        _invitations(patients)[course.patient_id], _answered(patients)[course.patient_id], course
    )
    facts = CourseFacts(
        started_on=course.started_on,
        ended_on=course.ended_on,
        baseline_id=course.baseline_id,
        scores=_scores(patients, {wanted["instrument"]})[course.patient_id, wanted["instrument"]],
        sessions=_doses(sessions[course.patient_id], _home_sessions(patients)[course.patient_id]),
        questionnaires_due=due,
        questionnaires_answered=answered,
    )
    summary = summarize(
        facts, definition, induction_days=wanted["induction_days"], window=wanted["window"]
    )
    return summary, definition, wanted
