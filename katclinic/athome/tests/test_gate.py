"""The check-in rules without a database."""

from dataclasses import replace

from django.test import SimpleTestCase

from katclinic.athome import gate
from katclinic.athome.tests.factories import GOOD

LIMITS = gate.BpLimits(systolic_max=140, diastolic_max=90, source="test")
ITEMS = ["home_bp", "sober_monitor", "no_substances", "no_driving", "safe_setting", "fasting"]


def run(answers: gate.Answers) -> dict[str, gate.ItemResult]:
    results = gate.evaluate(
        ITEMS, answers, limits=LIMITS, substance_free_hours=24, fasting_text="no food for 2 h"
    )
    return {r.key: r for r in results}


class GateTest(SimpleTestCase):
    def test_everything_reported_well_passes_every_item(self) -> None:
        results = run(replace(GOOD, fasted=True))
        self.assertTrue(all(r.passed for r in results.values()), results)
        self.assertEqual(list(results), ITEMS)

    def test_a_reading_above_either_limit_fails_with_the_reading_and_what_to_do(self) -> None:
        for systolic, diastolic in ((141, 80), (120, 91)):
            bp = run(replace(GOOD, systolic=systolic, diastolic=diastolic))["home_bp"]
            self.assertFalse(bp.passed)
            self.assertIn(f"{systolic}/{diastolic}", bp.reason)
            self.assertIn("140/90", bp.reason)
            self.assertIn("Do not take a dose", bp.todo)

    def test_a_reading_at_the_limit_passes(self) -> None:
        self.assertTrue(run(replace(GOOD, systolic=140, diastolic=90))["home_bp"].passed)

    def test_a_monitor_must_be_present_and_named(self) -> None:
        self.assertFalse(run(replace(GOOD, monitor_present=False))["sober_monitor"].passed)
        self.assertFalse(run(replace(GOOD, monitor_name="  "))["sober_monitor"].passed)

    def test_each_other_item_fails_on_its_own_answer(self) -> None:
        cases = {
            "no_substances": {"substances_taken": True},
            "no_driving": {"will_not_drive": False},
            "safe_setting": {"safe_setting": False},
            "fasting": {"fasted": False},
        }
        for key, change in cases.items():
            results = run(replace(GOOD, **{"fasted": True, **change}))  # type: ignore[arg-type]
            self.assertFalse(results[key].passed, key)
            self.assertTrue(results[key].todo, key)
            self.assertEqual([k for k, r in results.items() if not r.passed], [key])

    def test_only_the_protocols_items_are_checked(self) -> None:
        results = gate.evaluate(
            ["home_bp"],
            replace(GOOD, monitor_present=False),
            limits=LIMITS,
            substance_free_hours=24,
        )
        self.assertEqual([r.key for r in results], ["home_bp"])


class PromptsTest(SimpleTestCase):
    def test_the_timer_prompts_follow_the_protocols_checkpoints_once_each(self) -> None:
        from katclinic.athome.prompts import integration_prompts, timed_prompts
        from katclinic.protocols.schema import load_library

        protocol = load_library()["sublingual_titration"]
        self.assertEqual([p.minute for p in timed_prompts(protocol)], [0, 40, 120])
        self.assertIn("between 24 and 72 hours", " ".join(integration_prompts(protocol)))
