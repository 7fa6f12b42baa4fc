"""The Progress tab and the surveillance review page read one patient's rows in a fixed set
of statements: more scores, sessions and side effects change what they show, not how many
statements they run."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from katclinic.outcomes.tests import helpers as h
from katclinic.testing import ClinicTestCase

# Session, user, roles, patient; the courses; the live summary (settings, instrument,
# session doses, side effects, alerts, delayed discharges, sessions, invitations, answered,
# scores, home doses); the scores, the dosed sessions with their peaks, their doses, their
# side effects, the newest plan; the audit event.
PROGRESS_STATEMENTS = 22
# The same summary and rows, the doses for exposure (clinic and home), the thresholds, the
# signed protocol, the surveillance dues, screens, side effects, tasks and decisions.
REVIEW_STATEMENTS = 32


class ProgressStatementsTest(ClinicTestCase):
    def setUp(self) -> None:
        super().setUp()
        h.course(self.pat, self.paula, [(0, 20), (7, 14)])
        self.plan = h.plan(self.pat, self.paula)
        h.dosed(self.plan, self.nick, h.on(1, 14), side_effect="nausea")
        self.login(self.paula)

    def statements(self, url: str) -> tuple[int, bytes]:
        with CaptureQueriesContext(connection) as captured:
            page = self.client.get(url)
        self.assertEqual(page.status_code, 200)
        return len(captured.captured_queries), page.content

    def grow(self) -> None:
        for day in (3, 5, 8, 10):
            h.dosed(self.plan, self.nick, h.on(day, 14), side_effect="headache", alert=True)
        for day, total in ((9, 12), (11, 9), (13, 6), (15, 4)):
            h.response(self.pat, total, h.on(day))

    def test_the_progress_tab_runs_the_same_statements_for_more_scores_and_sessions(self) -> None:
        url = reverse("outcomes:progress", args=[self.pat.pk])
        self.client.get(url)  # per-process caches (parsed definitions, links) warm up
        count, _ = self.statements(url)
        self.assertEqual(count, PROGRESS_STATEMENTS)
        self.grow()
        count, content = self.statements(url)
        self.assertEqual(count, PROGRESS_STATEMENTS)
        self.assertContains(self.client.get(url), "Headache (moderate)")
        self.assertIn(f"{h.on(15):%Y-%m-%d %H:%M}".encode(), content)

    def test_the_review_page_runs_the_same_statements_for_more_scores_and_sessions(self) -> None:
        url = reverse("surveillance:review", args=[self.pat.pk])
        self.client.get(url)
        count, _ = self.statements(url)
        self.assertEqual(count, REVIEW_STATEMENTS)
        self.grow()
        count, _ = self.statements(url)
        self.assertEqual(count, REVIEW_STATEMENTS)
