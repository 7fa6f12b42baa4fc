"""The rollup's definitions checked against courses worked out by hand (no database)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.test import SimpleTestCase

from katclinic.measures.scoring import load_builtin_instruments
from katclinic.outcomes.rollup import CourseFacts, Score, SessionFacts, summarize
from katclinic.outcomes.tests.helpers import START, on

PHQ9 = load_builtin_instruments()["phq9"]


def facts(scores: list[tuple[int, int]], **extra: object) -> CourseFacts:
    rows = [
        Score(at=on(day), total=total, response_id=index + 1)
        for index, (day, total) in enumerate(scores)
    ]
    return CourseFacts(started_on=START, ended_on=None, baseline_id=1, scores=rows, **extra)  # type: ignore[arg-type]


class RollupTest(SimpleTestCase):
    def test_response_remission_and_loss_are_the_first_scores_that_meet_them(self) -> None:
        # Baseline 20: response needs 10 or less (a 50% fall), remission under 5.
        summary = summarize(
            facts([(0, 20), (7, 14), (14, 9), (21, 4), (28, 12), (35, 11)]),
            PHQ9,
            induction_days=28,
            window=7,
        )
        self.assertEqual(summary.baseline.total if summary.baseline else None, 20)
        self.assertEqual(summary.responded_at, on(14))
        self.assertEqual(summary.remitted_at, on(21))
        self.assertEqual(summary.response_lost_at, on(28))
        self.assertEqual(summary.days_to_response, 14)
        self.assertEqual(summary.durability_days, 14)  # from day 14 to the loss on day 28
        self.assertEqual(summary.best_percent_change, -80.0)
        self.assertEqual(summary.latest.total if summary.latest else None, 11)

    def test_end_of_induction_is_the_latest_score_in_the_window(self) -> None:
        summary = summarize(
            facts([(0, 20), (14, 9), (27, 8), (40, 2)]), PHQ9, induction_days=28, window=7
        )
        self.assertEqual(summary.induction_total, 8)  # day 27 is in 21..35; day 40 is not
        self.assertTrue(summary.induction_responded)
        self.assertFalse(summary.induction_remitted)
        self.assertEqual(summary.induction_due_on, START + timedelta(days=35))

    def test_a_course_without_a_score_in_the_window_has_no_induction_result(self) -> None:
        summary = summarize(facts([(0, 20), (7, 9)]), PHQ9, induction_days=28, window=7)
        self.assertIsNone(summary.induction_total)
        self.assertIsNone(summary.induction_responded)

    def test_a_responder_still_responding_is_censored_at_the_last_score(self) -> None:
        summary = summarize(
            facts([(0, 18), (10, 8), (30, 6), (45, 7)]), PHQ9, induction_days=28, window=7
        )
        self.assertEqual(summary.responded_at, on(10))
        self.assertIsNone(summary.response_lost_at)
        self.assertEqual(summary.durability_days, 35)  # day 10 to the last score on day 45

    def test_a_non_responder_is_censored_for_time_to_response(self) -> None:
        summary = summarize(facts([(0, 18), (10, 15), (20, 12)]), PHQ9, induction_days=28, window=7)
        self.assertIsNone(summary.responded_at)
        self.assertEqual(summary.days_to_response, 20)  # follow-up to the last score, no event
        self.assertIsNone(summary.durability_days)

    def test_the_latest_score_before_the_start_is_the_baseline_when_the_course_names_none(
        self,
    ) -> None:
        rows = [Score(at=on(-3), total=22, response_id=7), Score(at=on(5), total=11, response_id=8)]
        summary = summarize(
            CourseFacts(started_on=START, ended_on=None, baseline_id=None, scores=rows),
            PHQ9,
            induction_days=28,
            window=7,
        )
        self.assertEqual(summary.baseline, rows[0])
        self.assertEqual(summary.responded_at, on(5))  # 11 is exactly 50% of 22

    def test_session_totals_count_only_sessions_in_the_course(self) -> None:
        sessions = [
            SessionFacts(on(-10), Decimal(35)),
            SessionFacts(on(1), Decimal(35), side_effects=2, adverse_events=1, threshold_alerts=1),
            SessionFacts(on(4), Decimal("37.5"), discharge_delayed=True),
            SessionFacts(on(15), Decimal(40)),
        ]
        summary = summarize(
            facts([(0, 20), (10, 9)], sessions=sessions), PHQ9, induction_days=28, window=7
        )
        self.assertEqual(summary.totals["sessions_given"], 3)
        self.assertEqual(summary.totals["cumulative_mg"], Decimal("112.5"))
        self.assertEqual((summary.totals["side_effects"], summary.totals["adverse_events"]), (2, 1))
        self.assertEqual(
            (summary.totals["threshold_alerts"], summary.totals["discharge_delays"]), (1, 1)
        )
        self.assertEqual(summary.sessions_to_response, 2)  # the sessions on days 1 and 4

    def test_a_course_without_scores_has_only_its_dates(self) -> None:
        summary = summarize(facts([]), PHQ9, induction_days=28, window=7)
        self.assertIsNone(summary.baseline)
        self.assertIsNone(summary.days_to_response)
