"""The Progress tab, the Measures tab, the dashboard and the PDF show the same outcome."""

from __future__ import annotations

from unittest import mock

from django.urls import reverse

from katclinic.measures import services as measures
from katclinic.measures.charting import chart_context
from katclinic.measures.models import Invitation
from katclinic.outcomes.models import CourseOutcome
from katclinic.outcomes.services import refresh_outcomes_task
from katclinic.outcomes.tests import helpers as h
from katclinic.testing import ClinicTestCase


def answers(total: int) -> dict[str, int]:
    """PHQ-9 answers adding up to `total` (item 9 always 0)."""
    values = [min(3, max(0, total - 3 * n)) for n in range(8)]
    return {f"q{n + 1}": v for n, v in enumerate(values)} | {"q9": 0}


class OutcomeFiguresAgreeTest(ClinicTestCase):
    def submit(self, day: int, total: int, invitation: Invitation | None = None) -> None:
        with mock.patch("django.utils.timezone.now", return_value=h.on(day)):
            measures.submit_response(
                patient=self.pat,
                instrument_key="phq9",
                answers=answers(total),
                source="staff",
                submitted_by=self.paula,
                request=None,
                invitation=invitation,
            )

    def setUp(self) -> None:
        super().setUp()
        measures.start_course(patient=self.pat, started_on=h.START, by=self.paula, request=None)
        plan = h.plan(self.pat, self.paula)
        for day in (1, 4, 8):
            h.dosed(plan, self.nick, h.on(day, 14))
        linked = h.invitation(self.pat, h.on(9, 9))
        for day in (14, 18, 21):
            h.invitation(self.pat, h.on(day, 9))  # 14 and 21 answered at the clinic, 18 never
        self.submit(0, 20)
        self.submit(9, 8, invitation=linked)  # response after three sessions
        self.submit(14, 4)  # remission
        self.submit(21, 16)  # neither, at the latest score
        refresh_outcomes_task.enqueue()  # the worker's job, which fills the dashboard's rows

    def test_every_page_shows_the_same_figures(self) -> None:
        first_response, first_remission = f"{h.on(9):%Y-%m-%d}", f"{h.on(14):%Y-%m-%d}"
        response = f"not met at the latest score (first met {first_response})"
        remission = f"not met at the latest score (first met {first_remission})"
        self.login(self.paula)
        progress = self.client.get(reverse("outcomes:progress", args=[self.pat.pk]))
        self.assertContains(progress, response)
        self.assertContains(progress, remission)
        self.assertContains(progress, "3 of 4 due (75%)")
        self.assertEqual(progress.context["progress"].summary.sessions_to_response, 3)

        (change,) = chart_context(self.pat)["changes"]  # what the Measures tab shows
        self.assertEqual((change["change"].baseline_total, change["change"].latest_total), (20, 16))
        assert change["change"].response and change["change"].remission
        self.assertFalse(change["change"].response.met)
        self.assertFalse(change["change"].remission.met)

        row = CourseOutcome.objects.get()  # what the dashboard counts
        self.assertEqual((row.questionnaires_answered, row.questionnaires_due), (3, 4))
        self.assertEqual(row.sessions_to_response, 3)
        dashboard = self.client.get(reverse("outcomes:dashboard"))
        self.assertEqual(dashboard.context["sessions_to_response"], 3)
        completeness = dashboard.context["safety"]["completeness"]
        self.assertEqual((completeness["successes"], completeness["n"]), (3, 4))
        self.assertContains(dashboard, "75%")

        pdf = self.client.get(reverse("outcomes:progress_pdf", args=[self.pat.pk])).content
        pdf = pdf.replace(b"\\(", b"(").replace(b"\\)", b")")  # PDF strings escape brackets
        for text in (response, remission, "3 of 4 due (75%)"):
            self.assertIn(text.encode(), pdf)

    def test_remission_met_at_the_latest_score_is_said_so_everywhere(self) -> None:
        self.submit(28, 3)
        self.login(self.paula)
        progress = self.client.get(reverse("outcomes:progress", args=[self.pat.pk]))
        self.assertContains(progress, "met at the latest score (first met")
        (change,) = chart_context(self.pat)["changes"]
        assert change["change"].remission
        self.assertTrue(change["change"].remission.met)
        self.assertTrue(progress.context["progress"].summary.remitted)
