"""A course's outcome row changes in the transaction of the response that changes it."""

from __future__ import annotations

from django.utils import timezone

from katclinic.measures import services as measures
from katclinic.measures.models import Course
from katclinic.outcomes.models import CourseOutcome, RefreshMark
from katclinic.testing import ClinicTestCase

SEVERE = {f"q{n}": 2 for n in range(1, 9)} | {"q9": 1}  # total 17
MINIMAL = {f"q{n}": 1 if n <= 3 else 0 for n in range(1, 10)}  # total 3


class OutcomeOnSubmissionTest(ClinicTestCase):
    def start(self) -> Course:
        return measures.start_course(
            patient=self.pat, started_on=timezone.localdate(), by=self.paula, request=None
        )

    def submit(self, answers: dict[str, int]) -> None:
        measures.submit_response(
            patient=self.pat,
            instrument_key="phq9",
            answers=answers,
            source="staff",
            submitted_by=self.paula,
            request=None,
        )

    def test_a_submitted_response_changes_the_course_outcome_at_once(self) -> None:
        course = self.start()
        self.submit(SEVERE)
        row = CourseOutcome.objects.get(course=course)
        self.assertEqual((row.baseline_total, row.latest_total), (17, None))
        self.assertIsNone(row.remitted_at)
        self.submit(MINIMAL)
        row = CourseOutcome.objects.get(course=course)
        self.assertEqual(row.latest_total, 3)
        self.assertIsNotNone(row.responded_at)
        self.assertIsNotNone(row.remitted_at)
        self.assertFalse(RefreshMark.objects.exists())  # the background job never ran

    def test_a_correction_changes_the_course_outcome_at_once(self) -> None:
        course = self.start()
        self.submit(SEVERE)
        self.submit(MINIMAL)
        latest = course.patient.responses.order_by("-pk").first()
        assert latest is not None
        measures.correct_response(
            response=latest,
            answers=SEVERE,
            reason="answers entered for the wrong visit",
            by=self.paula,
            request=None,
        )
        row = CourseOutcome.objects.get(course=course)
        self.assertEqual(row.latest_total, 17)
        self.assertIsNone(row.remitted_at)
