"""Scheduled screens, positive screens and exposure past a threshold raise review tasks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.measures.models import Channel, Invitation
from katclinic.measures.services import correct_response, submit_response
from katclinic.protocols.models import Plan, PlanStatus
from katclinic.surveillance.jobs import run_surveillance
from katclinic.surveillance.models import (
    ExposureFinding,
    ReviewKind,
    ReviewState,
    ReviewTask,
    SurveillanceDue,
)
from katclinic.surveillance.services import check_exposure, close_review_task
from katclinic.surveillance.sources import dose_events
from katclinic.surveillance.tests.helpers import START, course, given, on, setting, sublingual_plan
from katclinic.testing import ClinicTestCase

NO = {"q1": 0, "q2": 0, "q3": 0, "q4": 0, "q5": 0}
BLOOD = {"q1": 0, "q2": 0, "q3": 0, "q4": 1, "q5": 0}


class ScheduleTest(ClinicTestCase):
    def setUp(self) -> None:
        self.course = course(self.pat, self.paula)
        sublingual_plan(self.pat, self.paula)

    def sent(self) -> list[tuple[str, str]]:
        return sorted(
            SurveillanceDue.objects.filter(patient=self.pat).values_list("kind", "due_on__day")
        )

    def test_nothing_is_sent_before_the_first_screen_is_due(self) -> None:
        self.assertEqual(run_surveillance(on(self.pat, 27)), {"sent": 0, "exposure_tasks": 0})
        self.assertFalse(SurveillanceDue.objects.exists())
        self.assertFalse(Invitation.objects.exists())

    def test_due_screens_are_sent_once_with_an_invitation_each(self) -> None:
        self.assertEqual(run_surveillance(on(self.pat, 28))["sent"], 2)
        self.assertEqual(run_surveillance(on(self.pat, 28))["sent"], 0)
        self.assertEqual(run_surveillance(on(self.pat, 40))["sent"], 0)
        dues = SurveillanceDue.objects.filter(patient=self.pat).select_related("invitation")
        self.assertEqual(
            sorted((d.kind, d.due_on, d.invitation.instrument_key) for d in dues),  # type: ignore[union-attr]
            [
                ("bladder", START + timedelta(days=28), "bladder_screen"),
                ("misuse", START + timedelta(days=28), "misuse_screen"),
            ],
        )
        invitations = Invitation.objects.filter(patient=self.pat)
        self.assertEqual(invitations.count(), 2)
        # pat has no email address: the screens wait in the portal.
        self.assertEqual(set(invitations.values_list("channel", flat=True)), {Channel.PORTAL})

    def test_the_next_occurrence_is_sent_after_its_interval(self) -> None:
        run_surveillance(on(self.pat, 28))
        run_surveillance(on(self.pat, 56))
        self.assertEqual(SurveillanceDue.objects.filter(kind="bladder").count(), 2)
        self.assertEqual(Invitation.objects.filter(instrument_key="bladder_screen").count(), 2)

    def test_due_dates_follow_the_clinic_calendar(self) -> None:
        # 23:30 on day 27 in the clinic is already day 28 in UTC: not yet due.
        self.assertEqual(run_surveillance(on(self.pat, 27, hour=23))["sent"], 0)

    def test_a_job_that_missed_weeks_sends_only_the_latest_occurrence(self) -> None:
        run_surveillance(on(self.pat, 100))
        bladder = SurveillanceDue.objects.get(kind="bladder")
        self.assertEqual(bladder.due_on, START + timedelta(days=84))
        self.assertEqual(SurveillanceDue.objects.filter(kind="cognition").count(), 1)

    def test_liver_tests_raise_a_reminder_only_when_the_clinic_turns_them_on(self) -> None:
        run_surveillance(on(self.pat, 84))
        self.assertFalse(ReviewTask.objects.filter(kind=ReviewKind.LIVER_TESTS).exists())
        setting(self.pat, self.adam, "surveillance.liver_test_reminders", "true")
        run_surveillance(on(self.pat, 84))
        run_surveillance(on(self.pat, 85))
        task = ReviewTask.objects.get(kind=ReviewKind.LIVER_TESTS)
        due = SurveillanceDue.objects.get(kind="liver_tests")
        self.assertEqual(
            (task.source_type, task.source_id), ("surveillance.SurveillanceDue", due.pk)
        )
        self.assertEqual(due.review_task, task)
        self.assertIsNone(due.invitation)

    def test_an_unsigned_or_stopped_plan_sends_nothing(self) -> None:
        Plan.objects.filter(patient=self.pat).update(status=PlanStatus.STOPPED)
        run_surveillance(on(self.pat, 28))
        self.assertFalse(SurveillanceDue.objects.exists())

    def test_an_ended_course_sends_nothing(self) -> None:
        self.course.ended_on = START + timedelta(days=10)
        self.course.save()
        run_surveillance(on(self.pat, 28))
        self.assertFalse(SurveillanceDue.objects.exists())


class PositiveScreenTest(ClinicTestCase):
    def submit(self, answers: Mapping[str, int | bool | None]) -> int:
        response = submit_response(
            patient=self.pat,
            instrument_key="bladder_screen",
            answers=answers,
            source="portal",
            submitted_by=self.pat_user,
            request=None,
        )
        return response.pk

    def test_a_positive_bladder_screen_opens_one_review_task_for_the_prescriber(self) -> None:
        pk = self.submit(BLOOD)
        task = ReviewTask.objects.get()
        self.assertEqual(
            (task.kind, task.state, task.patient),
            (ReviewKind.POSITIVE_SCREEN, ReviewState.OPEN, self.pat),
        )
        self.assertEqual((task.source_type, task.source_id), ("measures.Response", pk))
        self.assertIn("Blood in urine", task.reason)
        self.assertTrue(
            AuditEvent.objects.filter(
                object_type="surveillance.reviewtask", object_id=str(task.pk)
            ).exists()
        )

    def test_a_negative_screen_opens_no_task(self) -> None:
        self.submit(NO)
        self.assertFalse(ReviewTask.objects.exists())

    def test_other_questionnaires_open_no_task(self) -> None:
        answers = {f"q{n}": 3 for n in range(1, 10)} | {"difficulty": 3}
        submit_response(
            patient=self.pat,
            instrument_key="phq9",
            answers=answers,
            source="staff",
            submitted_by=self.nick,
            request=None,
        )
        self.assertFalse(ReviewTask.objects.exists())

    def test_a_correction_to_positive_opens_a_task_for_the_corrected_response(self) -> None:
        from katclinic.measures.models import Response

        first = Response.objects.get(pk=self.submit(NO))
        corrected = correct_response(
            response=first, answers=BLOOD, reason="patient misread q4", by=self.nick, request=None
        )
        self.assertEqual(ReviewTask.objects.get().source_id, corrected.pk)


class ExposureTest(ClinicTestCase):
    def setUp(self) -> None:
        course(self.pat, self.paula)
        sublingual_plan(self.pat, self.paula)
        setting(self.pat, self.adam, "surveillance.review_mg_30_days", "250")
        self.now = timezone.now()

    def test_the_clinic_source_counts_ketamine_but_not_adjuncts(self) -> None:
        given(self.pat, self.nick, self.now - timedelta(days=2), "100")
        given(self.pat, self.nick, self.now - timedelta(days=2), "4", adjunct=True)
        events = dose_events(self.pat)
        self.assertEqual(
            [(e.mg, e.route, e.setting) for e in events],
            [(Decimal("100.00"), "sublingual", "clinic")],
        )

    def test_crossing_the_30_day_threshold_raises_one_exposure_task(self) -> None:
        for days_ago in (20, 10):
            given(self.pat, self.nick, self.now - timedelta(days=days_ago), "100")
        self.assertEqual(check_exposure(patient=self.pat, now=self.now), [])
        third = given(self.pat, self.nick, self.now - timedelta(days=1), "100")
        self.assertEqual(run_surveillance(self.now)["exposure_tasks"], 1)
        self.assertEqual(run_surveillance(self.now)["exposure_tasks"], 0)
        finding = ExposureFinding.objects.get()
        self.assertEqual(
            (finding.window, finding.total_mg, finding.threshold_mg),
            ("30d", Decimal("300"), Decimal("250")),
        )
        self.assertEqual(
            (finding.dose_source_type, finding.dose_source_id), ("dosing.Administration", third.pk)
        )
        task = ReviewTask.objects.get(kind=ReviewKind.EXPOSURE)
        self.assertIn("300", task.reason)
        close_review_task(task=task, outcome="Discussed; dose spacing widened", user=self.paula)
        run_surveillance(self.now)
        self.assertEqual(ReviewTask.objects.filter(kind=ReviewKind.EXPOSURE).count(), 1)

    def test_reaching_the_threshold_exactly_raises_nothing(self) -> None:
        given(self.pat, self.nick, self.now - timedelta(days=3), "250")
        run_surveillance(self.now)
        self.assertFalse(ReviewTask.objects.exists())
        self.assertFalse(ExposureFinding.objects.exists())

    def test_a_crossing_that_has_left_the_window_raises_nothing(self) -> None:
        given(self.pat, self.nick, self.now - timedelta(days=45), "300")
        run_surveillance(self.now)
        self.assertFalse(ReviewTask.objects.exists())

    def test_the_12_month_threshold_is_checked_too(self) -> None:
        setting(self.pat, self.adam, "surveillance.review_mg_12_months", "500")
        for days_ago in (300, 200, 100):
            given(self.pat, self.nick, self.now - timedelta(days=days_ago), "200")
        check_exposure(patient=self.pat, now=self.now)
        self.assertEqual(ExposureFinding.objects.get().window, "12m")
