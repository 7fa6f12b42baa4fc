"""The dashboard's curves and medians come from counts per day and per number of sessions;
on a built set of courses they are exactly what the rule over every course one by one gives."""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from katclinic.lib.statistics import kaplan_meier, median_survival
from katclinic.measures.models import Course
from katclinic.outcomes import dashboard
from katclinic.outcomes.models import CourseOutcome
from katclinic.outcomes.tests import helpers as h
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase


def build_courses(test: ClinicTestCase, count: int, seed: int) -> None:
    """`count` rolled-up courses with ties, censoring, missing values and two instruments."""
    draw = random.Random(seed)
    patients = Patient.objects.bulk_create(
        Patient(
            clinic=test.clinic,
            mrn=f"C{seed:02d}{i:05d}",
            first_name="C",
            last_name=f"P{i}",
            date_of_birth=date(1980, 1, 1),
        )
        for i in range(count)
    )
    courses = Course.objects.bulk_create(
        Course(
            clinic=test.clinic,
            patient=p,
            started_on=h.START - timedelta(days=draw.randrange(200)),
            created_by=test.paula,
        )
        for p in patients
    )
    now = timezone.now()
    rows = []
    for c in courses:
        responded = draw.random() < 0.6
        lost = responded and draw.random() < 0.4
        rows.append(
            CourseOutcome(
                clinic=test.clinic,
                patient_id=c.patient_id,
                course=c,
                instrument=draw.choice(["phq9", "phq9", "gad7"]),
                started_on=c.started_on,
                start_month=c.started_on.replace(day=1),
                baseline_total=None if draw.random() < 0.1 else 18,
                responded_at=now if responded else None,
                response_lost_at=now if lost else None,
                days_to_response=None if draw.random() < 0.05 else draw.randrange(0, 120),
                durability_days=draw.randrange(0, 90) if responded else None,
                sessions_to_response=draw.randrange(0, 12) if responded else None,
                sessions_given=draw.randrange(0, 12),
                induction_days=28,
                induction_due_on=c.started_on + timedelta(days=35),
            )
        )
    CourseOutcome.objects.bulk_create(rows)


def one_by_one(
    rows: Sequence[Mapping[str, Any]], *, days: str, event: str, only: str
) -> dict[str, dict[str, Any]]:
    """The curves as the dashboard computed them before: every course listed in Python."""
    by_instrument: dict[str, tuple[list[float], list[bool]]] = {}
    for row in rows:
        if row[only] is None or row[days] is None:
            continue
        durations, events = by_instrument.setdefault(row["instrument"], ([], []))
        durations.append(float(row[days]))
        events.append(row[event] is not None)
    result = {}
    for instrument, (durations, events) in by_instrument.items():
        steps = kaplan_meier(durations, events)
        result[instrument] = {
            "at_days": dashboard.at_days(steps),
            "steps": steps,
            "median": median_survival(steps),
            "subjects": len(durations),
            "events": sum(events),
        }
    return result


class CountedFiguresTest(ClinicTestCase):
    def test_the_curves_and_the_median_equal_the_rule_over_every_course(self) -> None:
        for seed, count in ((1, 1), (2, 40), (3, 400)):
            CourseOutcome.objects.all().delete()
            build_courses(self, count, seed)
            scope = dashboard.Scope([self.clinic.pk], "clinic", False)
            figures = dashboard.build(scope, timezone.localdate())
            rows = list(CourseOutcome.objects.for_clinics([self.clinic.pk]).values())
            self.assertEqual(len(rows), count)
            ttr = one_by_one(
                rows, days="days_to_response", event="responded_at", only="baseline_total"
            )
            durability = one_by_one(
                rows, days="durability_days", event="response_lost_at", only="responded_at"
            )
            self.assertEqual(figures["time_to_response"], ttr, seed)
            self.assertEqual(figures["durability"], durability, seed)
            sessions = [
                r["sessions_to_response"] for r in rows if r["sessions_to_response"] is not None
            ]
            expected = statistics.median(sessions) if sessions else None
            self.assertEqual(figures["sessions_to_response"], expected, seed)
            self.assertIs(type(figures["sessions_to_response"]), type(expected))
            if count > 1:
                self.assertGreater(len(ttr["phq9"]["steps"]), 1)
                self.assertTrue(any(s.censored for s in durability["phq9"]["steps"]))
