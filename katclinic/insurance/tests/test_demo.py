"""The demo's insured esketamine session: claimed as an 837P the X12 checker accepts, paid
by the payer's 835, and the patient left owing the copay."""

import tempfile

from django.test import TestCase, override_settings

from katclinic.billing import services as billing
from katclinic.billing.models import ChargeStatus
from katclinic.demo.seed import build_demo
from katclinic.insurance import demo
from katclinic.insurance.models import Claim, ClaimStatus, Remittance
from katclinic.insurance.x12 import check


class DemoTest(TestCase):
    def setUp(self) -> None:
        self.data_dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.data_dir.cleanup)

    def test_the_demo_claims_an_esketamine_session_and_posts_its_remittance(self) -> None:
        with override_settings(DATA_DIR=self.data_dir.name):
            build_demo(seed=7, patients_per_clinic=20)
        claim = Claim.objects.get()
        self.assertEqual(claim.charge.session_kind, "intranasal")
        self.assertEqual(claim.charge.status, ChargeStatus.POSTED)
        result = check.validate(claim.file_text)
        self.assertTrue(result.ok, result.errors)
        self.assertEqual(claim.status, ClaimStatus.PAID)
        self.assertEqual(Remittance.objects.count(), 1)
        self.assertEqual(claim.patient_responsibility_cents, demo.COPAY_CENTS)
        self.assertEqual(billing.patient_balance(claim.patient), demo.COPAY_CENTS)
        settled = billing.payer_settled(claim.charge)
        self.assertEqual(settled + demo.COPAY_CENTS, billing.charge_total(claim.charge))
