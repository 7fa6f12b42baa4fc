"""A submission stores its response and raises its alerts at once; the course's outcome
row follows when the worker runs the outcomes job, and the dashboard says as of when."""

from __future__ import annotations

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from katclinic.bulk.tests.test_export import DB_TASKS, run_worker_once
from katclinic.measures import services as measures
from katclinic.measures.models import Course, Response, SafetyAlert
from katclinic.outcomes.models import CourseOutcome, RefreshMark
from katclinic.outcomes.services import refresh_outcomes_task
from katclinic.testing import ClinicTestCase

SEVERE = {f"q{n}": 2 for n in range(1, 9)} | {"q9": 1}  # total 17, item 9 above 0
MINIMAL = {f"q{n}": 1 if n <= 3 else 0 for n in range(1, 10)}  # total 3


@override_settings(TASKS=DB_TASKS)
class OutcomeAfterSubmissionTest(ClinicTestCase):
    def start(self) -> Course:
        return measures.start_course(
            patient=self.pat, started_on=timezone.localdate(), by=self.paula, request=None
        )

    def submit(self, answers: dict[str, int]) -> Response:
        return measures.submit_response(
            patient=self.pat,
            instrument_key="phq9",
            answers=answers,
            source="staff",
            submitted_by=self.paula,
            request=None,
        )

    def run_job(self) -> None:
        """The outcomes job as the worker runs it: queued through the database backend."""
        with self.captureOnCommitCallbacks(execute=True):
            refresh_outcomes_task.enqueue()
        run_worker_once()

    def test_the_response_and_its_alert_are_stored_at_once_and_the_course_follows(self) -> None:
        course = self.start()
        response = self.submit(SEVERE)
        self.assertTrue(Response.objects.filter(pk=response.pk, flagged=True).exists())
        self.assertEqual(SafetyAlert.objects.get().response_id, response.pk)
        self.assertEqual(Course.objects.get(pk=course.pk).baseline_id, response.pk)
        self.assertFalse(CourseOutcome.objects.exists())  # nothing refreshed on the request

        self.run_job()
        row = CourseOutcome.objects.get(course=course)
        self.assertEqual((row.baseline_total, row.latest_total), (17, None))
        self.assertIsNone(row.remitted_at)

        self.submit(MINIMAL)
        self.assertIsNone(CourseOutcome.objects.get(course=course).latest_total)
        self.run_job()
        row = CourseOutcome.objects.get(course=course)
        self.assertEqual(row.latest_total, 3)
        self.assertIsNotNone(row.responded_at)
        self.assertIsNotNone(row.remitted_at)

    def test_a_correction_reaches_the_course_when_the_job_runs(self) -> None:
        course = self.start()
        self.submit(SEVERE)
        latest = self.submit(MINIMAL)
        self.run_job()
        self.assertEqual(CourseOutcome.objects.get(course=course).latest_total, 3)
        alerts = SafetyAlert.objects.count()

        corrected = measures.correct_response(
            response=latest,
            answers=SEVERE,
            reason="answers entered for the wrong visit",
            by=self.paula,
            request=None,
        )
        # The corrected answers raise their alert in the correction's own transaction.
        self.assertEqual(SafetyAlert.objects.count(), alerts + 1)
        self.assertTrue(SafetyAlert.objects.filter(response=corrected).exists())
        self.assertEqual(CourseOutcome.objects.get(course=course).latest_total, 3)

        self.run_job()
        row = CourseOutcome.objects.get(course=course)
        self.assertEqual(row.latest_total, 17)
        self.assertIsNone(row.remitted_at)

    def test_the_dashboard_says_as_of_when_its_figures_are(self) -> None:
        self.start()
        self.submit(SEVERE)
        self.login(self.paula)
        before = self.client.get(reverse("outcomes:dashboard"))
        self.assertContains(before, "The worker has not refreshed the outcome rollup yet")

        self.run_job()
        mark = RefreshMark.objects.get()
        after = self.client.get(reverse("outcomes:dashboard"))
        as_of = timezone.localtime(mark.at)
        self.assertContains(after, f"Figures as of {as_of:%Y-%m-%d %H:%M}")
        self.assertNotContains(after, "has not refreshed")
