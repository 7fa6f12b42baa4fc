"""The prescriber review page: who sees it, closing tasks and recording decisions."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent
from katclinic.measures.services import submit_response
from katclinic.outcomes.tests import helpers as outcome_helpers
from katclinic.surveillance.models import ReviewState, ReviewTask, TreatmentDecision
from katclinic.surveillance.tests.helpers import course, given, setting, sublingual_plan
from katclinic.testing import ClinicTestCase, json_block

BLADDER = {"q1": 1, "q2": 0, "q3": 1, "q4": 0, "q5": 0}


class ReviewPageTest(ClinicTestCase):
    def setUp(self) -> None:
        self.course = course(self.pat, self.paula)
        sublingual_plan(self.pat, self.paula)
        submit_response(
            patient=self.pat,
            instrument_key="bladder_screen",
            answers=BLADDER,
            source="portal",
            submitted_by=self.pat_user,
            request=None,
        )
        self.task = ReviewTask.objects.get()
        self.url = reverse("surveillance:review", args=[self.pat.pk])
        self.decide = reverse("surveillance:decide", args=[self.pat.pk])
        self.close = reverse("surveillance:close_task", args=[self.pat.pk])

    def test_the_prescriber_sees_everything_on_one_screen(self) -> None:
        self.login(self.paula)
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        for text in (
            "Open review tasks",
            "Pass",
            "Cumulative ketamine exposure",
            "Outcome trajectory",
            "Surveillance screens",
            "positive",
            "Side-effect history",
            "Record a decision",
            "Close task",
        ):
            self.assertContains(response, text)
        self.assertContains(response, self.task.reason)
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.VIEW, patient_id=self.pat.pk, detail__section="surveillance"
            ).exists()
        )

    def test_a_nurse_sees_the_page_without_the_decision_forms(self) -> None:
        self.login(self.nick)
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "Record a decision")
        self.assertNotContains(response, "Close task")

    def test_the_chart_has_a_surveillance_tab(self) -> None:
        self.login(self.paula)
        self.assertContains(
            self.client.get(reverse("outcomes:progress", args=[self.pat.pk])), self.url
        )

    def test_the_prescriber_records_a_decision_and_closes_the_open_tasks(self) -> None:
        self.login(self.paula)
        response = self.client.post(
            self.decide,
            {"decision": "taper", "reason": "New urinary symptoms", "close_open_tasks": "on"},
        )
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        decision = TreatmentDecision.objects.get()
        self.assertEqual(
            (decision.decision, decision.reason, decision.decided_by, decision.course),
            ("taper", "New urinary symptoms", self.paula, self.course),
        )
        self.task.refresh_from_db()
        self.assertEqual((self.task.state, self.task.closed_by), (ReviewState.CLOSED, self.paula))
        self.assertEqual(self.task.outcome, "Taper: New urinary symptoms")
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.CREATE,
                object_type="surveillance.treatmentdecision",
                object_id=str(decision.pk),
                user=self.paula,
            ).exists()
        )

    def test_a_decision_can_leave_the_tasks_open(self) -> None:
        self.login(self.paula)
        self.client.post(
            self.decide, {"decision": "continue", "reason": "Mild; recheck in 2 weeks"}
        )
        self.assertEqual(TreatmentDecision.objects.get().decision, "continue")
        self.task.refresh_from_db()
        self.assertEqual(self.task.state, ReviewState.OPEN)

    def test_a_decision_without_a_reason_is_refused_and_nothing_is_stored(self) -> None:
        self.login(self.paula)
        response = self.client.post(
            self.decide, {"decision": "stop", "reason": "  ", "close_open_tasks": "on"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("reason", response.context["decision_form"].errors)
        self.assertFalse(TreatmentDecision.objects.exists())
        self.task.refresh_from_db()
        self.assertEqual(self.task.state, ReviewState.OPEN)

    def test_an_unknown_decision_is_refused(self) -> None:
        self.login(self.paula)
        response = self.client.post(self.decide, {"decision": "double", "reason": "why not"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("decision", response.context["decision_form"].errors)
        self.assertFalse(TreatmentDecision.objects.exists())

    def test_a_nurse_cannot_record_a_decision(self) -> None:
        self.login(self.nick)
        response = self.client.post(
            self.decide, {"decision": "stop", "reason": "x", "close_open_tasks": "on"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(TreatmentDecision.objects.exists())
        self.task.refresh_from_db()
        self.assertEqual(self.task.state, ReviewState.OPEN)

    def test_another_clinics_prescriber_gets_404_and_nothing_changes(self) -> None:
        self.login(self.oscar)
        self.assertEqual(self.client.get(self.url).status_code, 404)
        response = self.client.post(self.close, {"task": self.task.pk, "outcome": "done"})
        self.assertEqual(response.status_code, 404)
        self.task.refresh_from_db()
        self.assertEqual(self.task.state, ReviewState.OPEN)

    def test_the_prescriber_closes_a_task_with_its_outcome(self) -> None:
        self.login(self.paula)
        response = self.client.post(
            self.close, {"task": self.task.pk, "outcome": "Urine dip clear; GP referral"}
        )
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        self.task.refresh_from_db()
        self.assertEqual(
            (self.task.state, self.task.outcome),
            (ReviewState.CLOSED, "Urine dip clear; GP referral"),
        )

    def test_closing_without_an_outcome_is_refused(self) -> None:
        self.login(self.paula)
        response = self.client.post(self.close, {"task": self.task.pk, "outcome": ""})
        self.assertEqual(response.status_code, 400)
        self.assertIn("outcome", response.context["close_form"].errors)
        self.task.refresh_from_db()
        self.assertEqual(self.task.state, ReviewState.OPEN)

    def test_a_task_of_another_patient_cannot_be_closed_from_this_page(self) -> None:
        self.login(self.paula)
        response = self.client.post(
            reverse("surveillance:close_task", args=[self.quinn.pk]),
            {"task": self.task.pk, "outcome": "done"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("task", response.context["close_form"].errors)
        self.task.refresh_from_db()
        self.assertEqual(self.task.state, ReviewState.OPEN)

    def test_the_prescriber_worklist_and_task_list_show_the_open_task(self) -> None:
        self.login(self.paula)
        today = self.client.get(reverse("core:worklist"))
        self.assertContains(today, "Surveillance: review tasks")
        self.assertContains(today, self.url)
        self.assertContains(self.client.get(reverse("surveillance:tasks")), self.pat.full_name)


class QueryCountTest(ClinicTestCase):
    def raise_tasks(self, count: int) -> None:
        for number in range(count):
            submit_response(
                patient=self.pat,
                instrument_key="misuse_screen",
                answers={"q1": 1, "q2": 0, "q3": 0, "q4": 0},
                source="staff",
                submitted_by=self.nick,
                request=None,
            )
            del number

    def queries(self, url: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            self.assertEqual(self.client.get(url).status_code, 200)
        return len(captured.captured_queries)

    def test_task_list_and_review_page_do_not_grow_with_the_number_of_tasks(self) -> None:
        course(self.pat, self.paula)
        self.login(self.paula)
        self.raise_tasks(1)
        pages = [
            reverse("surveillance:tasks"),
            reverse("surveillance:review", args=[self.pat.pk]),
            reverse("core:worklist"),
        ]
        [self.queries(url) for url in pages]  # the first view warms per-process caches
        before = [self.queries(url) for url in pages]
        self.raise_tasks(4)
        self.assertEqual([self.queries(url) for url in pages], before)


class ReviewChartsTest(ClinicTestCase):
    """The review page's chart blocks: the rolling total with its threshold, the scores."""

    def setUp(self) -> None:
        course(self.pat, self.paula)
        sublingual_plan(self.pat, self.paula)
        setting(self.pat, self.adam, "surveillance.review_mg_30_days", "450")
        now = timezone.now()
        for days_ago in (20, 10):
            given(self.pat, self.nick, now - timedelta(days=days_ago), "200")
        self.url = reverse("surveillance:review", args=[self.pat.pk])

    def test_the_exposure_chart_holds_every_day_and_the_clinics_threshold(self) -> None:
        self.login(self.paula)
        page = self.client.get(self.url)
        [chart] = json_block(page, "exposure-data")
        [daily] = chart["series"]
        self.assertEqual(len(daily["points"]), 366)  # each day of the last 12 months and today
        self.assertEqual(daily["points"][-1]["y"], 400)  # both doses are within 30 days
        self.assertEqual(max(p["y"] for p in daily["points"]), 400)
        self.assertFalse(daily["marks"])
        self.assertEqual(
            chart["levels"], [{"y": 450, "label": "review above 450 mg", "kind": "threshold"}]
        )
        self.assertEqual((chart["y"]["min"], chart["y"]["unit"]), (0, "mg"))
        self.assertEqual(chart["table"], "changes")

    def test_the_outcome_chart_has_each_score_as_a_focusable_point(self) -> None:
        now = timezone.now()
        for days_ago, total in ((14, 19), (7, 11)):
            outcome_helpers.response(self.pat, total, now - timedelta(days=days_ago))
        self.login(self.paula)
        [chart] = json_block(self.client.get(self.url), "outcome-data")
        [scores] = chart["series"]
        self.assertEqual([p["y"] for p in scores["points"]], [19, 11])
        self.assertTrue(scores["marks"])
        self.assertEqual(chart["table"], "all")

    def test_without_doses_there_is_no_exposure_chart(self) -> None:
        course(self.quinn, self.paula)
        self.login(self.paula)
        page = self.client.get(reverse("surveillance:review", args=[self.quinn.pk]))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'id="exposure-data"')
        self.assertContains(page, "Nothing to draw yet.")
