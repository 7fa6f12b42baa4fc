"""The Measures tab, treatment courses, corrections, staff entry and the demo builders."""

import random
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from katclinic.measures import services
from katclinic.measures.demo import generate_responses
from katclinic.measures.models import Course, Invitation, Response
from katclinic.measures.tests.helpers import GAD7_MODERATE, PHQ9_MILD, form_data, submit
from katclinic.testing import ClinicTestCase, json_block

PHQ9_SEVERE = {f"q{n}": 2 for n in range(1, 9)} | {"q9": 0}  # 16
PHQ9_REMITTED = {f"q{n}": 0 for n in range(1, 9)} | {"q1": 1, "q9": 0}  # 1


class ChartTest(ClinicTestCase):
    def test_the_tab_shows_change_response_and_remission_with_their_thresholds(self) -> None:
        baseline = submit(self, PHQ9_SEVERE)
        Response.objects.filter(pk=baseline.pk).update(
            submitted_at=timezone.now() - timedelta(days=30)
        )
        services.start_course(
            patient=self.pat,
            started_on=timezone.localdate() - timedelta(days=30),
            by=self.paula,
            request=None,
        )
        submit(self, PHQ9_REMITTED)
        self.login(self.paula)
        page = self.client.get(reverse("measures:chart", args=[self.pat.pk]))
        self.assertContains(page, "Response: reduction of at least 50% from baseline")
        self.assertContains(page, "Remission: total &lt; 5")
        self.assertContains(page, "-15 (-93.8%)")
        self.assertContains(page, 'id="measures-series"')

    def test_the_tab_uses_a_fixed_number_of_queries(self) -> None:
        for _ in range(3):
            submit(self, PHQ9_MILD)
        self.login(self.paula)
        url = reverse("measures:chart", args=[self.pat.pk])
        self.client.get(url)
        with self.assertNumQueries(12):
            self.client.get(url)
        for _ in range(10):
            submit(self, PHQ9_MILD)
        with self.assertNumQueries(12):
            self.client.get(url)

    def test_the_first_complete_response_in_a_course_becomes_its_baseline(self) -> None:
        course = services.start_course(
            patient=self.pat, started_on=timezone.localdate(), by=self.paula, request=None
        )
        first = submit(self, PHQ9_SEVERE)
        submit(self, PHQ9_MILD)
        course.refresh_from_db()
        self.assertEqual(course.baseline, first)

    def test_a_correction_is_a_new_version_linked_to_the_old(self) -> None:
        old = submit(self, PHQ9_SEVERE)
        new = services.correct_response(
            response=old,
            answers=PHQ9_MILD,
            reason="Entered wrong form",
            by=self.paula,
            request=None,
        )
        old.refresh_from_db()
        self.assertEqual((old.is_current, old.total, new.corrects, new.total), (False, 16, old, 8))
        self.assertEqual(list(Response.objects.current()), [new])

    def test_staff_enter_a_clinician_rated_instrument(self) -> None:
        self.login(self.nick)
        answers = {f"q{n}": 2 for n in range(1, 11)}
        self.client.post(reverse("measures:enter", args=[self.pat.pk, "madrs"]), form_data(answers))
        self.assertEqual(Response.objects.get().total, 20)

    def test_an_answer_to_a_question_that_does_not_apply_is_refused_on_the_web(self) -> None:
        self.login(self.nick)
        answers = {"q1": False, "q2": False, "q3": True, "q6": False}
        page = self.client.post(
            reverse("measures:enter", args=[self.pat.pk, "cssrs_screener"]), form_data(answers)
        )
        self.assertContains(page, "applies only when", status_code=400)
        self.assertFalse(Response.objects.exists())

    def test_a_therapist_cannot_open_another_clinics_patient(self) -> None:
        self.login(self.tara)
        url = reverse("measures:chart", args=[self.stranger.pk])
        response = self.client.get(url)
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, self.stranger.last_name, status_code=404)
        self.assertDenialsRecorded(url)

    def test_front_desk_cannot_see_scores(self) -> None:
        submit(self, PHQ9_MILD)
        self.login(self.alice)
        url = reverse("measures:chart", args=[self.pat.pk])
        response = self.client.get(url)
        self.assertEqual(response.status_code, 403)
        self.assertNotContains(response, "PHQ-9", status_code=403)
        self.assertDenialsRecorded(url)

    def test_bulk_generation_writes_scored_rows(self) -> None:
        written = generate_responses([self.pat, self.quinn], 6, random.Random(1))
        self.assertEqual(written, 12)
        self.assertEqual(
            Response.objects.filter(instrument_key="gad7", total__isnull=False).count(), 6
        )

    def test_one_open_course_per_patient(self) -> None:
        services.start_course(
            patient=self.pat, started_on=timezone.localdate(), by=self.paula, request=None
        )
        with self.assertRaises(services.SubmissionError):
            services.start_course(
                patient=self.pat, started_on=timezone.localdate(), by=self.paula, request=None
            )
        self.assertEqual(Course.objects.count(), 1)

    def test_an_invalid_invitation_form_is_refused_with_nothing_stored(self) -> None:
        self.login(self.nick)
        page = self.client.post(
            reverse("measures:invite", args=[self.pat.pk]),
            {"instrument": "madrs", "channel": "fax"},
        )
        self.assertContains(page, "Select a valid choice", status_code=400)
        self.assertFalse(Invitation.objects.exists())


QIDS_KNOWN = dict(
    zip(
        [f"q{n}" for n in range(1, 17)],
        [1, 3, 0, 2, 2, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 2],
        strict=True,
    )
)


class DomainScoreTest(ClinicTestCase):
    def test_the_tab_shows_qids_nine_domain_scores_with_the_total(self) -> None:
        submit(self, QIDS_KNOWN, key="qids_sr16")
        self.login(self.paula)
        page = self.client.get(reverse("measures:chart", args=[self.pat.pk]))
        for text in (
            "Sleep (highest of items 1-4): 3",
            "Sad mood (item 5): 2",
            "Appetite/weight (highest of items 6-9; answer at least one): 2",
            "Concentration (item 10): 1",
            "View of self (item 11): 1",
            "Thoughts of death or suicide (item 12): 0",
            "General interest (item 13): 2",
            "Energy (item 14): 1",
            "Psychomotor (highest of items 15-16): 2",
            "<td>14<ul",
        ):
            self.assertContains(page, text)

    def test_a_flag_is_shown_by_its_label_not_its_code(self) -> None:
        submit(self, QIDS_KNOWN | {"q12": 2}, key="qids_sr16")
        self.login(self.paula)
        page = self.client.get(reverse("measures:chart", args=[self.pat.pk]))
        self.assertContains(page, "Item 12 (thoughts of death or suicide) at or above")
        self.assertNotContains(page, "suicidal_ideation_qids</span>")

    def test_the_chart_block_has_one_chart_per_instrument_with_its_scores_and_bands(self) -> None:
        submit(self, PHQ9_SEVERE)
        submit(self, GAD7_MODERATE, key="gad7")
        submit(self, PHQ9_MILD)
        self.login(self.paula)
        page = self.client.get(reverse("measures:chart", args=[self.pat.pk]))
        self.assertContains(page, 'data-chart="measures-series"')
        phq9, gad7 = json_block(page, "measures-series")
        self.assertEqual(phq9["title"], "Patient Health Questionnaire-9 (PHQ-9)")
        [scores] = phq9["series"]
        self.assertEqual(
            [(p["y"], p["note"]) for p in scores["points"]],
            [(16, "moderately severe"), (8, "mild")],
        )
        self.assertTrue(scores["marks"])
        self.assertEqual((phq9["y"]["min"], phq9["y"]["max"]), (0, 27))
        self.assertEqual(
            [(b["y"], b["label"], b["kind"]) for b in phq9["levels"]][1:3],
            [(5, "mild", "band"), (10, "moderate", "band")],
        )
        self.assertIn("2 scores, latest 8", phq9["summary"])
        self.assertEqual([p["y"] for p in gad7["series"][0]["points"]], [14])

    def test_the_chart_data_places_every_point_on_an_axis_that_holds_it(self) -> None:
        submit(self, QIDS_KNOWN, key="qids_sr16")
        self.login(self.paula)
        series = self.client.get(reverse("measures:chart", args=[self.pat.pk])).context["series"][
            "qids_sr16"
        ]
        self.assertEqual((series["min"], series["max"]), (0, 27))
        self.assertEqual(series["points"][0]["position"], round(14 / 27, 4))
