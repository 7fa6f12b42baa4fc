"""The clinic outcomes dashboard: aggregates of `CourseOutcome` rows only.

Every figure here is a fixed number of grouped queries over the rollup, whatever
the number of patients; the per-course work was done when the rows were refreshed,
and what is left in Python works on the groups (distinct days, months, session
counts), never on one row per course.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum

from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import Perm, roles_allow
from katclinic.lib import rows as plain
from katclinic.lib.benchmarks import BENCHMARKS, COMPARABILITY_NOTE, Benchmark
from katclinic.lib.statistics import (
    Interval,
    KmStep,
    kaplan_meier_counted,
    median_of_counts,
    median_survival,
    wilson_interval,
)
from katclinic.outcomes.models import CourseOutcome

CACHE_SECONDS = 600
# The page lists this many recent months of starts; the CSV has every month.
RECENT_MONTHS = 12


@dataclass(frozen=True)
class Scope:
    """Which clinics a dashboard covers: the active clinic, or the organization."""

    clinic_ids: list[int]
    label: str
    is_org: bool


def org_clinics(clinic: Clinic, held: Mapping[int, tuple[Clinic, frozenset[str]]]) -> list[Clinic]:
    """Clinics of ``clinic``'s organization where the user may see outcomes, from the roles
    the user ``held`` by clinic (``clinics.middleware.clinic_roles``)."""
    allowed = [
        other
        for other, roles in held.values()
        if other.organization_id == clinic.organization_id
        and roles_allow(roles, Perm.VIEW_OUTCOMES)
    ]
    return sorted(allowed, key=lambda c: c.name)


def rate(successes: int, n: int) -> dict[str, Any]:
    interval: Interval = wilson_interval(successes, n)
    return {
        "successes": successes,
        "n": n,
        "estimate": interval.estimate,
        "lower": interval.lower,
        "upper": interval.upper,
    }


def _closed(today: date) -> Q:
    """Courses whose end-of-induction window has closed (or that ended)."""
    return Q(induction_due_on__lt=today) | Q(ended_on__isnull=False)


def started_by_month(rows: QuerySet[CourseOutcome]) -> list[Any]:
    grouped = rows.values("start_month", "route", "protocol_key", "protocol_title").annotate(
        courses=Count("pk")
    )
    return list(grouped.order_by("-start_month", "route", "protocol_key"))


def _recent(started: list[Any]) -> set[date]:
    months = sorted({row["start_month"] for row in started}, reverse=True)
    return set(months[:RECENT_MONTHS])


def induction_results(rows: QuerySet[CourseOutcome], today: date) -> list[dict[str, Any]]:
    grouped = (
        rows.filter(_closed(today))
        .values("instrument")
        .annotate(
            courses=Count("pk"),
            no_baseline=Count("pk", filter=Q(baseline_total__isnull=True)),
            evaluable=Count("pk", filter=Q(induction_total__isnull=False)),
            responded=Count("pk", filter=Q(induction_responded=True)),
            remitted=Count("pk", filter=Q(induction_remitted=True)),
        )
        .order_by("instrument")
    )
    results = []
    for row in grouped:
        missing = row["courses"] - row["no_baseline"] - row["evaluable"]
        results.append(
            row
            | {
                "missing": missing,
                "response": rate(row["responded"], row["evaluable"]),
                "remission": rate(row["remitted"], row["evaluable"]),
            }
        )
    return results


def survival(
    rows: QuerySet[CourseOutcome], *, days: str, event: Q, only: Q
) -> dict[str, dict[str, Any]]:
    """Per instrument: the Kaplan-Meier table of `days` with `event`, among `only`."""
    grouped = (
        rows.filter(only, **{f"{days}__isnull": False})
        .values("instrument", days)
        .annotate(events=Count("pk", filter=event), subjects=Count("pk"))
        .order_by("instrument", days)
    )
    by_instrument: defaultdict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for row in grouped:
        by_instrument[row["instrument"]].append((row[days], row["events"], row["subjects"]))
    result = {}
    for instrument, groups in by_instrument.items():
        # From the counts per day: the work grows with the distinct days, not the courses.
        steps = kaplan_meier_counted(groups)
        result[instrument] = {
            "at_days": at_days(steps),
            "steps": steps,
            "median": median_survival(steps),
            "subjects": sum(g[2] for g in groups),
            "events": sum(g[1] for g in groups),
        }
    return result


MILESTONES = (7, 14, 28, 56, 91, 182, 365)


def at_days(steps: list[KmStep]) -> list[dict[str, Any]]:
    """The curve read at fixed days, within follow-up (the page's text alternative to the
    drawing; the CSV has every step). `at_risk` is how many were still followed after the day."""
    found = []
    for day in MILESTONES:
        if not steps or day > steps[-1].time:
            break
        last = next((s for s in reversed(steps) if s.time <= day), None)
        after = next((s.at_risk for s in steps if s.time > day), 0)
        found.append(
            {
                "day": day,
                "survival": last.survival if last else 1.0,
                "at_risk": after,
                "lower": last.lower if last else None,
                "upper": last.upper if last else None,
            }
        )
    return found


def sessions_to_response(rows: QuerySet[CourseOutcome]) -> float | None:
    """The median over responders, from the count of courses at each number of sessions."""
    counts = (
        rows.filter(sessions_to_response__isnull=False)
        .values("sessions_to_response")
        .annotate(n=Count("pk"))
    )
    return median_of_counts({row["sessions_to_response"] or 0: row["n"] for row in counts})


def safety_and_completeness(rows: QuerySet[CourseOutcome]) -> dict[str, Any]:
    totals = rows.aggregate(
        sessions=Sum("sessions_given", default=0),
        adverse=Sum("adverse_events", default=0),
        alerts=Sum("threshold_alerts", default=0),
        delays=Sum("discharge_delays", default=0),
        side=Sum("side_effects", default=0),
        due=Sum("questionnaires_due", default=0),
        answered=Sum("questionnaires_answered", default=0),
    )
    per100 = lambda n: None if not totals["sessions"] else round(100 * n / totals["sessions"], 1)  # noqa: E731
    totals |= {
        "adverse_per_100": per100(totals["adverse"]),
        "alerts_per_100": per100(totals["alerts"]),
        "delays_per_100": per100(totals["delays"]),
        "side_per_100": per100(totals["side"]),
        "completeness": rate(totals["answered"], totals["due"]),
    }
    return totals


def comparison(induction: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each published study next to the clinic's own rates (which are not like for like)."""
    own = {row["instrument"]: row for row in induction}
    rows = []
    for study in BENCHMARKS:
        rows.append({"study": study, "results": _main_results(study), "own": own})
    return rows


def _main_results(study: Benchmark) -> list[Any]:
    return [r for r in study.results if not r.is_comparator]


def version(scope: Scope) -> tuple[int, str]:
    """How many rows the scope has and when the newest was refreshed (one query on the
    (clinic, refreshed_at) index, in plain SQL as every view asks it): the dashboard's
    figures cannot change unless this does."""
    marks = ", ".join(["%s"] * len(scope.clinic_ids))
    sql = f"SELECT COUNT(*), MAX(refreshed_at) FROM {plain.table(CourseOutcome)} WHERE clinic_id IN ({marks})"  # noqa: S608
    found = plain.fetch_one(CourseOutcome, sql, scope.clinic_ids)
    count, newest = found if found is not None else (0, None)
    return int(count), str(newest or "")


def build_cached(scope: Scope, today: date) -> dict[str, Any]:
    """`build`, remembered until a row of the scope is refreshed (or the day changes).

    A page view then costs one indexed query; the grouped queries run once per change.
    """
    state = f"{scope.clinic_ids}:{today}:{version(scope)}"
    key = "outcomes.dashboard." + hashlib.sha256(state.encode()).hexdigest()
    figures = cache.get(key)
    if figures is None:
        figures = build(scope, today)
        cache.set(key, figures, CACHE_SECONDS)
    # The page caches its rendered figures under the same key, so a view that finds
    # nothing changed renders only the page frame.
    return figures | {"version_key": key, "cache_seconds": CACHE_SECONDS}


def build(scope: Scope, today: date) -> dict[str, Any]:
    rows = CourseOutcome.objects.for_clinics(scope.clinic_ids)
    induction = induction_results(rows, today)
    responders = Q(responded_at__isnull=False)
    return {
        "scope": scope,
        "started": (started := started_by_month(rows)),
        "recent_started": [r for r in started if r["start_month"] in _recent(started)],
        "induction": induction,
        "time_to_response": survival(
            rows, days="days_to_response", event=responders, only=Q(baseline_total__isnull=False)
        ),
        "durability": survival(
            rows, days="durability_days", event=Q(response_lost_at__isnull=False), only=responders
        ),
        "sessions_to_response": sessions_to_response(rows),
        "safety": safety_and_completeness(rows),
        "comparison": comparison(induction),
        "comparability_note": COMPARABILITY_NOTE,
    }
