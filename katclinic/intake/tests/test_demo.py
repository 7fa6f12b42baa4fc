"""The demo builder leaves a believable intake history."""

from __future__ import annotations

from django.test import TestCase

from katclinic.demo.seed import build_demo
from katclinic.intake.models import (
    ConsentDocument,
    ConsentSignature,
    ConsultationRequest,
    EligibilityDecision,
)
from katclinic.intake.services import consent_status
from katclinic.patients.models import Patient


class DemoTest(TestCase):
    def test_the_demo_has_requests_screenings_decisions_and_consents(self) -> None:
        world = build_demo(patients_per_clinic=20)
        north = world.clinics[0]
        requests = ConsultationRequest.objects.for_clinic(north)
        self.assertGreaterEqual(len({r.state for r in requests}), 4)
        self.assertEqual(requests.filter(urgent=True).count(), 1)
        stages = set(EligibilityDecision.objects.values_list("patient__stage", flat=True))
        self.assertTrue({"screening", "induction", "maintenance"} <= stages)
        flagged = EligibilityDecision.objects.get(
            decision="needs_review", patient__stage="screening"
        )
        self.assertIn("baseline_systolic_above_limit", [r["rule"] for r in flagged.reasons])
        self.assertEqual(ConsentDocument.objects.get(clinic=north).version, 1)
        treated = Patient.objects.filter(clinic=north, stage__in=["induction", "maintenance"])
        self.assertEqual(
            ConsentSignature.objects.filter(patient__in=treated).count(), treated.count()
        )
        self.assertTrue(all(consent_status(p).current for p in treated))
