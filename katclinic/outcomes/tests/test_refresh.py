"""The rollup row of a course, computed from its rows and kept current."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from katclinic.athome.models import HomeSession
from katclinic.athome.tests import factories as athome_factories
from katclinic.clinics.models import ClinicSetting
from katclinic.outcomes import services
from katclinic.outcomes.models import CourseOutcome, RefreshMark
from katclinic.outcomes.tests import helpers as h
from katclinic.testing import ClinicTestCase


class RefreshTest(ClinicTestCase):
    def make_course(self) -> None:
        plan = h.plan(self.pat, self.paula)
        self.course = h.course(self.pat, self.paula, [(0, 20), (7, 14), (14, 9), (21, 4), (28, 12)])
        h.dosed(plan, self.nick, h.on(1), side_effect="nausea", alert=True, peak=(168, 96))
        h.dosed(
            plan, self.nick, h.on(4), mg="40", side_effect="headache", serious=True, delayed=True
        )
        h.dosed(plan, self.nick, h.on(8))
        answered = h.response(self.pat, 9, h.on(14, 11))
        h.invitation(self.pat, h.on(14), answered=answered)
        h.invitation(self.pat, h.on(21))

    def test_it_rolls_a_course_up_as_worked_out_by_hand(self) -> None:
        self.make_course()
        row = services.refresh_course_outcome(self.course)
        self.assertEqual(
            (row.clinic_id, row.patient_id, row.instrument), (self.clinic.pk, self.pat.pk, "phq9")
        )
        self.assertEqual((row.protocol_key, row.route), ("iv_ketamine_elektd", "iv"))
        self.assertEqual(row.start_month, h.START.replace(day=1))
        self.assertEqual((row.baseline_total, row.latest_total), (20, 12))
        self.assertEqual(row.responded_at, h.on(14))
        self.assertEqual(row.remitted_at, h.on(21))
        self.assertEqual(row.response_lost_at, h.on(28))
        self.assertEqual(
            (row.sessions_given, row.cumulative_mg, row.sessions_to_response),
            (3, Decimal("110"), 3),
        )
        self.assertEqual(
            (row.side_effects, row.adverse_events, row.threshold_alerts, row.discharge_delays),
            (2, 1, 1, 1),
        )
        # The day-21 questionnaire was not answered through its link, but the day-21 score
        # entered at the clinic while the link was open answers it.
        self.assertEqual((row.questionnaires_due, row.questionnaires_answered), (2, 2))
        self.assertEqual(row.induction_total, 12)  # day 28, the latest in days 21..35
        self.assertFalse(row.induction_responded)

    def test_refreshing_twice_changes_nothing(self) -> None:
        self.make_course()
        services.refresh_course_outcome(self.course)
        first = CourseOutcome.objects.values().get()
        services.refresh_course_outcome(self.course)
        second = CourseOutcome.objects.values().get()
        ignore = {"refreshed_at"}
        self.assertEqual(
            {k: v for k, v in first.items() if k not in ignore},
            {k: v for k, v in second.items() if k not in ignore},
        )
        self.assertEqual(CourseOutcome.objects.count(), 1)

    def test_the_periodic_job_picks_up_new_courses_and_moves_its_watermark(self) -> None:
        self.make_course()
        self.assertEqual(services.refresh_outcomes_task.enqueue().return_value, 1)
        mark = RefreshMark.objects.get(name=services.JOB)
        self.assertEqual(CourseOutcome.objects.get().latest_total, 12)
        # A later score, stamped after the watermark, is found on the next run.
        h.response(self.pat, 3, timezone.now())
        services.refresh_outcomes_task.enqueue()
        self.assertEqual(CourseOutcome.objects.get().latest_total, 3)
        self.assertGreater(RefreshMark.objects.get(name=services.JOB).at, mark.at)

    def test_it_leaves_unchanged_courses_alone(self) -> None:
        self.make_course()
        services.refresh_outcomes_task.enqueue()
        other = h.course(self.quinn, self.paula, [(0, 15), (7, 5)])
        later = timezone.now() + timedelta(minutes=1)
        courses = services.changed_courses(since=later)
        self.assertEqual([c.pk for c in courses], [other.pk])  # no row yet; pat's course is current

    def test_a_changed_outcome_setting_recomputes_the_clinics_rows(self) -> None:
        self.make_course()
        services.refresh_outcomes_task.enqueue()
        ClinicSetting.objects.create(
            clinic=self.clinic,
            key="outcomes.induction_days",
            value=14,
            changed_by=self.adam,
            reason="our induction is two weeks",
        )
        services.refresh_outcomes_task.enqueue()
        row = CourseOutcome.objects.get()
        self.assertEqual(
            (row.induction_days, row.induction_total), (14, 4)
        )  # day 21 is the latest in 7..21
        self.assertTrue(row.induction_remitted)

    def test_a_course_that_ends_drops_later_scores(self) -> None:
        self.make_course()
        self.course.ended_on = h.START + timedelta(days=20)
        self.course.save()
        row = services.refresh_course_outcome(self.course)
        self.assertEqual(row.latest_total, 9)
        self.assertIsNone(row.response_lost_at)
        self.assertEqual(row.sessions_given, 3)

    def test_a_response_committed_after_a_run_passed_its_id_is_found_on_the_next(self) -> None:
        self.make_course()
        services.refresh_outcomes_task.enqueue()
        late = h.response(self.pat, 2, timezone.now())
        # As if the last run had read ids far beyond this one while its transaction was still
        # open (ids are handed out before commit), and the run before it had stopped short.
        # Its time is moved on too, so that only the ids can find it.
        RefreshMark.objects.filter(name=services.JOB).update(
            at=timezone.now() + 2 * services.OVERLAP,
            response_id=late.pk + 10 * services.RESPONSE_OVERLAP,
            previous_response_id=late.pk - 1,
        )
        services.refresh_outcomes_task.enqueue()
        self.assertEqual(CourseOutcome.objects.get().latest_total, 2)
        mark = RefreshMark.objects.get(name=services.JOB)
        self.assertEqual(mark.previous_response_id, late.pk + 10 * services.RESPONSE_OVERLAP)

    def test_the_periodic_job_finds_a_back_dated_score_by_its_id(self) -> None:
        self.make_course()
        services.refresh_outcomes_task.enqueue()
        h.response(self.pat, 2, h.on(30))  # stored now, dated long before the watermark
        services.refresh_outcomes_task.enqueue()
        self.assertEqual(CourseOutcome.objects.get().latest_total, 2)

    def test_the_measures_hook_refreshes_the_patients_open_course(self) -> None:
        self.make_course()
        self.assertEqual(services.refresh_open_courses(patient=self.pat), 1)
        self.assertEqual(services.refresh_open_courses(patient=self.quinn), 0)
        self.assertEqual(CourseOutcome.objects.get().course_id, self.course.pk)

    def test_one_clinic_score_answers_one_due_questionnaire_and_only_while_it_is_open(self) -> None:
        self.course = h.course(self.pat, self.paula, [(0, 20), (7, 14)])
        h.invitation(self.pat, h.on(7, 9))  # open until day 9: the day-7 score answers it
        h.invitation(self.pat, h.on(7, 8))  # the same score cannot answer this one too
        h.invitation(self.pat, h.on(3))  # closed on day 5, before the day-7 score
        row = services.refresh_course_outcome(self.course)
        self.assertEqual((row.questionnaires_due, row.questionnaires_answered), (3, 1))

    def test_at_home_doses_count_as_sessions_before_response(self) -> None:
        rx = athome_factories.prescription(self.pat, self.paula)
        for day in (1, 4):
            HomeSession.objects.create(
                clinic=self.clinic,
                patient=self.pat,
                prescription=rx,
                state="checked_out",
                started_at=h.on(day),
                taken_at=h.on(day),
                lozenges=1,
                dose_mg=Decimal("50"),
                checkin_due_at=h.on(day, 12),
            )
        course = h.course(self.pat, self.paula, [(0, 20), (14, 8)])
        row = services.refresh_course_outcome(course)
        self.assertEqual((row.sessions_given, row.sessions_to_response), (2, 2))
        self.assertEqual(row.cumulative_mg, Decimal("100"))
