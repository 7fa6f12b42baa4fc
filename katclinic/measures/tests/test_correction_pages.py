"""Correcting a response and ending a course from the chart, and the protocol's schedule."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.measures import services
from katclinic.measures.models import Course, MeasurementSchedule, Response
from katclinic.measures.tests.helpers import PHQ9_MILD, form_data, submit
from katclinic.protocols.tests.fixtures import draft
from katclinic.testing import ClinicTestCase


class CorrectResponsePageTest(ClinicTestCase):
    def test_a_correction_is_a_new_version_and_the_original_is_kept(self) -> None:
        original = submit(self, PHQ9_MILD)
        self.login(self.nick)
        page = self.client.get(reverse("measures:correct", args=[original.pk]))
        self.assertContains(page, 'value="1" checked')

        fixed = PHQ9_MILD | {"q1": 3}
        answer = self.client.post(
            reverse("measures:correct", args=[original.pk]),
            form_data(fixed) | {"reason": "Item 1 was entered from the wrong row."},
        )

        self.assertRedirects(answer, reverse("measures:chart", args=[self.pat.pk]))
        original.refresh_from_db()
        newest = Response.objects.get(corrects=original)
        self.assertFalse(original.is_current)
        self.assertEqual((original.total, newest.total), (8, 10))
        self.assertEqual(newest.correction_reason, "Item 1 was entered from the wrong row.")
        self.assertEqual(newest.submitted_by, self.nick)
        self.assertTrue(
            AuditEvent.objects.filter(
                object_id=str(newest.pk), action="update", user=self.nick
            ).exists()
        )

    def test_without_a_reason_nothing_is_stored_and_the_field_is_named(self) -> None:
        original = submit(self, PHQ9_MILD)
        self.login(self.nick)

        answer = self.client.post(
            reverse("measures:correct", args=[original.pk]),
            form_data(PHQ9_MILD | {"q1": 3}) | {"reason": "  "},
        )

        self.assertEqual(answer.status_code, 400)
        self.assertContains(answer, 'id="reason-error"', status_code=400)
        self.assertContains(answer, "a reason is required", status_code=400)
        self.assertEqual(Response.objects.count(), 1)

    def test_an_invalid_answer_is_refused_with_its_question_named(self) -> None:
        original = submit(self, PHQ9_MILD)
        self.login(self.nick)

        answer = self.client.post(
            reverse("measures:correct", args=[original.pk]),
            form_data(PHQ9_MILD | {"q2": 7}) | {"reason": "typo"},
        )

        self.assertEqual(answer.status_code, 400)
        self.assertContains(answer, 'id="err-q2"', status_code=400)
        self.assertEqual(Response.objects.count(), 1)

    def test_an_older_version_cannot_be_corrected_again(self) -> None:
        original = submit(self, PHQ9_MILD)
        services.correct_response(
            response=original,
            answers=PHQ9_MILD | {"q1": 2},
            reason="first fix",
            by=self.paula,
            request=None,
        )
        self.login(self.nick)

        answer = self.client.post(
            reverse("measures:correct", args=[original.pk]),
            form_data(PHQ9_MILD) | {"reason": "second fix"},
        )

        self.assertContains(answer, "already corrected", status_code=400)
        self.assertEqual(Response.objects.count(), 2)

    def test_the_chart_links_each_response_to_its_correction_page(self) -> None:
        response = submit(self, PHQ9_MILD)
        self.login(self.nick)

        page = self.client.get(reverse("measures:chart", args=[self.pat.pk]))

        self.assertContains(page, reverse("measures:correct", args=[response.pk]))


class EndCourseTest(ClinicTestCase):
    def start(self) -> Course:
        return services.start_course(
            patient=self.pat,
            by=self.paula,
            request=None,
            started_on=timezone.localdate() - timedelta(days=40),
        )

    def test_ending_the_open_course_records_the_date(self) -> None:
        course = self.start()
        self.login(self.paula)

        answer = self.client.post(
            reverse("measures:course_end", args=[self.pat.pk]),
            {"ended_on": timezone.localdate().isoformat()},
        )

        self.assertRedirects(answer, reverse("measures:chart", args=[self.pat.pk]))
        course.refresh_from_db()
        self.assertEqual(course.ended_on, timezone.localdate())

    def test_an_end_before_the_start_is_refused_and_the_course_stays_open(self) -> None:
        course = self.start()
        self.login(self.paula)

        answer = self.client.post(
            reverse("measures:course_end", args=[self.pat.pk]),
            {"ended_on": (course.started_on - timedelta(days=1)).isoformat()},
        )

        self.assertContains(answer, "cannot end before it started", status_code=400)
        course.refresh_from_db()
        self.assertIsNone(course.ended_on)

    def test_a_malformed_date_names_the_field(self) -> None:
        course = self.start()
        self.login(self.paula)

        answer = self.client.post(
            reverse("measures:course_end", args=[self.pat.pk]), {"ended_on": "31/02/2026"}
        )

        self.assertContains(answer, "ended_on", status_code=400)
        self.assertContains(answer, "Enter a valid date.", status_code=400)
        course.refresh_from_db()
        self.assertIsNone(course.ended_on)

    def test_with_no_open_course_nothing_changes(self) -> None:
        self.login(self.paula)

        answer = self.client.post(
            reverse("measures:course_end", args=[self.pat.pk]),
            {"ended_on": timezone.localdate().isoformat()},
        )

        self.assertContains(answer, "no open course", status_code=400)
        self.assertFalse(Course.objects.exists())


class ProtocolScheduleTest(ClinicTestCase):
    def rules(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for key, rule in MeasurementSchedule.objects.filter(
            patient=self.pat, active=True
        ).values_list("instrument_key", "rule"):
            found.setdefault(key, set()).add(rule)
        return found

    def test_signing_a_first_plan_puts_the_protocols_schedule_in_place(self) -> None:
        from katclinic.protocols import services as plans

        plans.sign_plan(version=draft(self, "sublingual_titration"), prescriber=self.paula)

        self.assertEqual(
            self.rules(),
            {
                "phq9": {"baseline", "pre_session", "post_24h"},
                "gad7": {"baseline", "weekly_induction", "monthly_maintenance"},
            },
        )
        # The clinician-administered C-SSRS screener is not sent to the patient.
        self.assertNotIn("cssrs_screener", self.rules())
        # Baseline questionnaires go out at once.
        self.assertEqual(
            set(self.pat.invitations.values_list("instrument_key", flat=True)), {"phq9", "gad7"}
        )

    def test_rules_the_clinician_set_for_the_patient_are_kept(self) -> None:
        from katclinic.protocols import services as plans

        services.set_schedule(
            patient=self.pat, instrument_key="phq9", rules=["post_7d"], by=self.paula, request=None
        )

        plans.sign_plan(version=draft(self, "sublingual_titration"), prescriber=self.paula)

        self.assertEqual(self.rules()["phq9"], {"baseline", "pre_session", "post_24h", "post_7d"})

    def test_after_dose_hours_without_a_rule_are_reported_not_dropped(self) -> None:
        self.assertEqual(
            services.protocol_rules(["baseline", "after_dose_hours"], [24, 48, 168]),
            (["baseline", "post_24h", "post_7d"], [48]),
        )
