"""The demo builder: a patient with a positive bladder screen, its open task, exposure and
an earlier decision."""

from django.test import TestCase

from katclinic.demo.seed import build_demo
from katclinic.dosing import demo as dosing_demo
from katclinic.intake import demo as intake_demo
from katclinic.measures import demo as measures_demo
from katclinic.protocols import demo as protocols_demo
from katclinic.surveillance import demo
from katclinic.surveillance.models import ReviewKind, ReviewState, ReviewTask, TreatmentDecision
from katclinic.surveillance.sources import dose_events


class DemoTest(TestCase):
    def test_a_demo_patient_is_ready_for_a_surveillance_review(self) -> None:
        # The builders this one reads from, in app order: consents, courses, plans, sessions.
        builders = [
            intake_demo.build,
            measures_demo.build,
            protocols_demo.build,
            dosing_demo.build,
            demo.build,
        ]
        build_demo(seed=3, patients_per_clinic=8, histories=builders)
        task = ReviewTask.objects.get()
        self.assertEqual((task.kind, task.state), (ReviewKind.POSITIVE_SCREEN, ReviewState.OPEN))
        decision = TreatmentDecision.objects.get()
        self.assertEqual((decision.patient, decision.decision), (task.patient, "continue"))
        self.assertLess(decision.decided_at, task.raised_at)
        self.assertTrue(dose_events(task.patient))
