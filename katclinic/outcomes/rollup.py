"""What one course achieved, from plain facts: the pure heart of the outcome rollup.

Definitions (shown on the dashboard next to the figures):
- baseline: the course's baseline response when it is on the outcome scale, else the
  latest score on or before the start, else the first score in the course;
- response and remission: the instrument's own criteria (response: a fall of 50%+), judged by
  `katclinic.measures.scoring.course_change` on every later score, first time met;
- loss of response: the first score after response that no longer meets the
  response criterion (no published relapse definition fits every protocol; this is the
  plainest reading, and the dashboard says so);
- censoring: without the event, follow-up ends at the last observed score;
- end of induction: the latest score within `window` days of day `induction_days`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from katclinic.measures.scoring import InstrumentDefinition, course_change


@dataclass(frozen=True)
class Score:
    at: datetime
    total: int
    response_id: int = 0


@dataclass(frozen=True)
class SessionFacts:
    """One dosing session where a dose was started, with what happened in it."""

    started_at: datetime
    mg: Decimal = Decimal(0)
    side_effects: int = 0
    adverse_events: int = 0
    threshold_alerts: int = 0
    discharge_delayed: bool = False


@dataclass(frozen=True)
class CourseFacts:
    started_on: date
    ended_on: date | None
    baseline_id: int | None  # the course's own baseline response, if on this scale
    scores: Sequence[Score]  # every complete score on the scale, oldest first
    sessions: Sequence[SessionFacts] = ()
    questionnaires_due: int = 0
    questionnaires_answered: int = 0


@dataclass
class Judgement:
    met_response: bool = False
    met_remission: bool = False


@dataclass
class Summary:
    baseline: Score | None = None
    latest: Score | None = None
    best_percent_change: float | None = None
    responded_at: datetime | None = None
    remitted_at: datetime | None = None
    response_lost_at: datetime | None = None
    last_observed_at: datetime | None = None
    days_to_response: int | None = None
    durability_days: int | None = None
    sessions_to_response: int | None = None
    induction_due_on: date = date.min
    induction_total: int | None = None
    induction_responded: bool | None = None
    induction_remitted: bool | None = None
    totals: dict[str, Any] = field(default_factory=dict)


def _day(at: datetime) -> date:
    return timezone.localdate(at)


def in_course(at: datetime, started_on: date, ended_on: date | None) -> bool:
    day = _day(at)
    return day >= started_on and (ended_on is None or day <= ended_on)


def choose_baseline(facts: CourseFacts) -> Score | None:
    own = next(
        (s for s in facts.scores if facts.baseline_id and s.response_id == facts.baseline_id), None
    )
    if own is not None:
        return own
    before = [s for s in facts.scores if _day(s.at) <= facts.started_on]
    if before:
        return before[-1]
    inside = [s for s in facts.scores if in_course(s.at, facts.started_on, facts.ended_on)]
    return inside[0] if inside else None


def judge(definition: InstrumentDefinition, baseline: int, total: int) -> Judgement:
    """Whether `total` meets the instrument's response and remission criteria."""
    low, high = definition.total_range or (0, 0)
    if not (low <= baseline <= high and low <= total <= high):
        return Judgement()
    change = course_change(definition, baseline, total)
    return Judgement(
        met_response=bool(change.response and change.response.met),
        met_remission=bool(change.remission and change.remission.met),
    )


def _days(start: date, at: datetime) -> int:
    return max(0, (_day(at) - start).days)


def summarize(
    facts: CourseFacts, definition: InstrumentDefinition, *, induction_days: int, window: int
) -> Summary:
    summary = Summary(induction_due_on=facts.started_on + timedelta(days=induction_days + window))
    inside = [
        s for s in facts.sessions if in_course(s.started_at, facts.started_on, facts.ended_on)
    ]
    facts = replace(facts, sessions=inside)
    summary.totals = _session_totals(facts)
    baseline = choose_baseline(facts)
    summary.baseline = baseline
    if baseline is None:
        return summary
    later = [
        s
        for s in facts.scores
        if s.at > baseline.at and in_course(s.at, facts.started_on, facts.ended_on)
    ]
    summary.last_observed_at = (later[-1] if later else baseline).at
    if not later:
        return summary
    summary.latest = later[-1]
    if baseline.total:
        summary.best_percent_change = round(
            min((s.total - baseline.total) * 100 / baseline.total for s in later), 1
        )
    _criteria(summary, facts, definition, baseline, later)
    _induction(summary, facts, definition, baseline, later, induction_days, window)
    return summary


def _criteria(
    summary: Summary,
    facts: CourseFacts,
    definition: InstrumentDefinition,
    baseline: Score,
    later: list[Score],
) -> None:
    for score in later:
        verdict = judge(definition, baseline.total, score.total)
        if verdict.met_remission and summary.remitted_at is None:
            summary.remitted_at = score.at
        if summary.responded_at is None:
            if verdict.met_response:
                summary.responded_at = score.at
        elif summary.response_lost_at is None and not verdict.met_response:
            summary.response_lost_at = score.at
    last = summary.last_observed_at
    assert last is not None  # noqa: S101 - set by the caller whenever there are later scores
    responded = summary.responded_at
    summary.days_to_response = _days(facts.started_on, responded or last)
    if responded is not None:
        end = summary.response_lost_at or last
        summary.durability_days = max(0, (_day(end) - _day(responded)).days)
        summary.sessions_to_response = sum(1 for s in facts.sessions if s.started_at < responded)


def _induction(
    summary: Summary,
    facts: CourseFacts,
    definition: InstrumentDefinition,
    baseline: Score,
    later: list[Score],
    induction_days: int,
    window: int,
) -> None:
    first = facts.started_on + timedelta(days=induction_days - window)
    last = facts.started_on + timedelta(days=induction_days + window)
    inside = [s for s in later if first <= _day(s.at) <= last]
    if not inside:
        return
    verdict = judge(definition, baseline.total, inside[-1].total)
    summary.induction_total = inside[-1].total
    summary.induction_responded = verdict.met_response
    summary.induction_remitted = verdict.met_remission


def _session_totals(facts: CourseFacts) -> dict[str, Any]:
    sessions = facts.sessions
    return {
        "sessions_given": len(sessions),
        "cumulative_mg": sum((s.mg for s in sessions), Decimal(0)),
        "side_effects": sum(s.side_effects for s in sessions),
        "adverse_events": sum(s.adverse_events for s in sessions),
        "threshold_alerts": sum(s.threshold_alerts for s in sessions),
        "discharge_delays": sum(1 for s in sessions if s.discharge_delayed),
        "questionnaires_due": facts.questionnaires_due,
        "questionnaires_answered": min(facts.questionnaires_answered, facts.questionnaires_due),
    }
