"""`eligibility_status`, the one read plans and the pre-dose gate ask, and TRD in the suggestion."""

from decimal import Decimal
from typing import get_args

from katclinic.intake import eligibility
from katclinic.intake import screening as screenings
from katclinic.intake.queries import SCREENING_ROUTE_FOR, eligibility_status, eligibility_statuses
from katclinic.intake.tests.factories import signed_decision
from katclinic.protocols.schema import Route
from katclinic.testing import ClinicTestCase

FAILED_TRIAL = {
    "drug": "Sertraline",
    "max_daily_dose_mg": Decimal(150),
    "adequate_dose_mg": Decimal(50),
    "weeks_at_dose": Decimal(8),
    "adherence": "good",
    "improvement_percent": Decimal(10),
    "current_episode": True,
}
ALL_NO: dict[str, bool | None] = dict.fromkeys(screenings.ANSWERED_FACTS, False)


class EligibilityStatusTest(ClinicTestCase):
    def test_without_a_signed_screening_the_state_is_none_and_it_blocks(self) -> None:
        status = eligibility_status(self.pat, route="iv")
        self.assertEqual((status.state, status.decision), ("none", None))
        self.assertIn("No signed screening", status.refusal())

    def test_a_draft_screening_is_not_a_decision(self) -> None:
        screenings.save_screening(
            patient=self.pat,
            data={"route": "iv", "diagnosis": "x"},
            answers={},
            trials=[],
            by=self.paula,
        )
        self.assertEqual(eligibility_status(self.pat, route="iv").state, "none")

    def test_the_newest_signed_decision_for_the_route_is_the_answer(self) -> None:
        first = signed_decision(self.pat, route="iv", by=self.paula, decision="not_eligible")
        status = eligibility_status(self.pat, route="iv")
        self.assertEqual((status.state, status.decision), ("not_eligible", first))
        self.assertEqual(status.signed_by, str(self.paula))
        self.assertIn("not allowed", status.refusal(review_reason="any reason"))
        newer = signed_decision(self.pat, route="iv", by=self.paula, decision="eligible")
        status = eligibility_status(self.pat, route="iv")
        self.assertEqual((status.state, status.decision, status.refusal()), ("eligible", newer, ""))
        self.assertEqual(eligibility_status(self.pat, route="intranasal").state, "none")

    def test_needs_review_is_refused_without_a_reason_and_allowed_with_one(self) -> None:
        signed_decision(self.pat, route="iv", by=self.paula, decision="needs_review")
        status = eligibility_status(self.pat, route="iv")
        self.assertTrue(status.refusal(review_reason=" "))
        self.assertEqual(status.refusal(review_reason="BP now controlled"), "")

    def test_every_protocol_route_maps_to_a_screening_route(self) -> None:
        self.assertEqual(set(SCREENING_ROUTE_FOR), set(get_args(Route)))
        self.assertEqual(set(SCREENING_ROUTE_FOR.values()), set(eligibility.ROUTES))


class TrdInTheSuggestionTest(ClinicTestCase):
    def assess(self, trials: list[dict[str, object]]) -> screenings.Assessment:
        screening = screenings.save_screening(
            patient=self.pat,
            data={
                "route": "intranasal",
                "diagnosis": "F33.2",
                "baseline_systolic_mmhg": 120,
                "baseline_diastolic_mmhg": 80,
            },
            answers=ALL_NO,
            trials=trials,
            by=self.paula,
        )
        return screenings.assess(screening)

    def test_one_failed_trial_needs_review_and_says_why(self) -> None:
        assessment = self.assess([FAILED_TRIAL])
        self.assertFalse(assessment.trd.met)
        self.assertEqual(assessment.suggestion.suggestion, "needs_review")
        keys = [reason.rule_key for reason in assessment.suggestion.reasons]
        self.assertIn(eligibility.TRD_RULE_KEY, keys)

    def test_two_failed_trials_meet_the_criterion_and_add_no_reason(self) -> None:
        second = FAILED_TRIAL | {"drug": "Venlafaxine", "adequate_dose_mg": Decimal(75)}
        assessment = self.assess([FAILED_TRIAL, second])
        self.assertTrue(assessment.trd.met)
        keys = [reason.rule_key for reason in assessment.suggestion.reasons]
        self.assertNotIn(eligibility.TRD_RULE_KEY, keys)

    def test_the_statuses_read_together_are_each_routes_own_status(self) -> None:
        routes = sorted(SCREENING_ROUTE_FOR)
        signed_decision(self.pat, route="iv", by=self.paula, decision="not_eligible")
        newer = signed_decision(self.pat, route="iv", by=self.paula, decision="needs_review")
        signed_decision(self.pat, route="intranasal", by=self.paula, decision="eligible")
        with self.assertNumQueries(2):  # the setting, then every route's decisions at once
            together = eligibility_statuses(self.pat, routes=routes)
        self.assertEqual(together, {r: eligibility_status(self.pat, route=r) for r in routes})
        self.assertEqual(together["iv"].decision, newer)
        self.assertEqual(together["intranasal"].state, "eligible")
        self.assertEqual(
            {s.state for r, s in together.items() if r not in ("iv", "intranasal")}, {"none"}
        )
