from decimal import Decimal

from django.test import TestCase

from katclinic.demo.seed import build_demo
from katclinic.dosing import ledger, ledger_services, record_services
from katclinic.dosing.models import DosingSession, RemsForm, StockLot, SupportNote


class DemoTest(TestCase):
    def test_the_demo_has_finished_sessions_one_live_chair_rems_forms_and_a_ledger_that_balances(
        self,
    ) -> None:
        build_demo(seed=7, patients_per_clinic=20)
        self.assertTrue(
            DosingSession.objects.filter(state="discharged", administrations__isnull=False).exists()
        )
        live = DosingSession.objects.in_progress().get()
        self.assertEqual((live.route, live.state), ("intranasal", "monitoring"))
        self.assertTrue(live.alerts.filter(measure="systolic").exists())
        complete = RemsForm.objects.filter(completed_at__isnull=False)
        self.assertEqual([record_services.form_missing(f) for f in complete], [[]])
        self.assertEqual(RemsForm.objects.due().count(), 1)
        self.assertTrue(
            SupportNote.objects.filter(kind="integration", signed_at__isnull=False).exists()
        )
        for lot in StockLot.objects.all():
            entries = [
                ledger.LedgerEntry(
                    kind=ledger.EntryKind(e.kind),
                    quantity_mg=e.quantity_mg,
                    recorded_by=str(e.recorded_by_id),
                    witness=str(e.witness_id) if e.witness_id else None,
                    reason=e.reason,
                )
                for e in lot.entries.order_by("pk")
            ]
            self.assertEqual(ledger.replay(entries), ledger_services.balance(lot))
            self.assertLess(
                ledger_services.balance(lot), lot.entries.get(kind="receipt").quantity_mg
            )
            self.assertGreater(ledger_services.balance(lot), Decimal(0))
