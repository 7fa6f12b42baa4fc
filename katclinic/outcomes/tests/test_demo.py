from django.test import TestCase
from django.utils import timezone

from katclinic.demo.seed import build_demo
from katclinic.measures.models import Course
from katclinic.outcomes import dashboard
from katclinic.outcomes.models import CourseOutcome


class DemoTest(TestCase):
    def test_the_demo_fills_the_rollup_with_a_dashboard_worth_reading(self) -> None:
        world = build_demo(seed=7, patients_per_clinic=20)
        self.assertEqual(CourseOutcome.objects.count(), Course.objects.count())
        scope = dashboard.Scope([c.pk for c in world.clinics], "demo", True)
        figures = dashboard.build(scope, timezone.localdate())
        induction = figures["induction"][0]
        self.assertGreater(induction["evaluable"], 0)
        self.assertGreater(induction["responded"], 0)
        self.assertTrue(figures["durability"]["phq9"]["steps"])
        self.assertGreater(figures["safety"]["sessions"], 0)
        self.assertTrue(any(row["route"] for row in figures["started"]))
