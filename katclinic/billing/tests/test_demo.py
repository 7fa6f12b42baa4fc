from django.test import TestCase

from katclinic.billing import services
from katclinic.billing.models import Charge, ChargeStatus, FeeSchedule
from katclinic.demo.seed import build_demo
from katclinic.dosing.models import DosingSession


class DemoTest(TestCase):
    def test_the_demo_has_fees_and_charges_for_its_finished_sessions(self) -> None:
        build_demo(seed=7, patients_per_clinic=20)
        self.assertTrue(FeeSchedule.objects.exists())
        finished = DosingSession.objects.filter(state="discharged")
        self.assertEqual(Charge.objects.count(), finished.count())
        self.assertTrue(Charge.objects.filter(status=ChargeStatus.PROPOSED).exists())
        kinds = set(Charge.objects.values_list("session_kind", flat=True))
        self.assertEqual(kinds, {"iv", "intranasal"})
        codes = set(Charge.objects.values_list("lines__code__code", flat=True))
        drug = (
            "J0013"
            if Charge.objects.latest("date_of_service").date_of_service.year >= 2026
            else "S0013"
        )
        self.assertTrue({"96365", "J3490", drug} <= codes, codes)
        self.assertTrue({"G2082", "G2083"} & codes, codes)
        posted = Charge.objects.get(status=ChargeStatus.POSTED, session_kind="iv")
        self.assertGreater(services.invoice_balance(posted.invoice), 0)
        self.assertGreater(services.invoice_paid(posted.invoice), 0)
