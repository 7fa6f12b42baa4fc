"""The controlled-substance ledger as stored: balances, witnesses, counts and the append-only rule."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core import mail
from django.db import DatabaseError, IntegrityError, transaction
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent
from katclinic.dosing import ledger_services
from katclinic.dosing.ledger import EntryKind as K
from katclinic.dosing.ledger_services import LedgerRefused
from katclinic.dosing.models import LedgerEntry, StockLot
from katclinic.dosing.tests import factories as f
from katclinic.testing import PASSWORD, ClinicTestCase


class LedgerTest(ClinicTestCase):
    def setUp(self) -> None:
        self.lot = f.stock(self.clinic, self.nick, mg="280")

    def waste(self, **witness: str) -> HttpResponseBase:
        self.login(self.nick)
        data = {"kind": "waste", "quantity_mg": "10", "reason": "Device dropped"} | witness
        return self.client.post(reverse("dosing:lot_movement", args=[self.lot.pk]), data)

    def test_a_receipt_opens_the_lot_with_its_supplier_and_expiry(self) -> None:
        entry = self.lot.entries.get()
        self.assertEqual(
            (entry.kind, entry.quantity_mg, entry.balance_after_mg, entry.counterparty),
            ("receipt", Decimal("280.00"), Decimal("280.00"), "Wholesaler Inc"),
        )
        self.assertEqual(self.lot.expiry, timezone.localdate() + timedelta(days=365))

    def test_waste_witnessed_by_another_keeper_with_their_password_is_recorded(self) -> None:
        response = self.waste(witness_email="paula@example.org", witness_password=PASSWORD)
        self.assertRedirects(response, reverse("dosing:lot", args=[self.lot.pk]))
        entry = self.lot.entries.get(kind="waste")
        self.assertEqual((entry.recorded_by, entry.witness), (self.nick, self.paula))
        self.assertEqual(ledger_services.balance(self.lot), Decimal("270"))

    def test_waste_without_a_witness_a_wrong_password_or_oneself_is_refused(self) -> None:
        for witness in (
            {},
            {"witness_email": "paula@example.org", "witness_password": "wrong"},
            {"witness_email": "nick@example.org", "witness_password": PASSWORD},
            {"witness_email": "alice@example.org", "witness_password": PASSWORD},
        ):
            with self.subTest(witness=witness):
                self.assertEqual(self.waste(**witness).status_code, 400)
        self.assertEqual(self.lot.entries.count(), 1)
        self.assertEqual(ledger_services.balance(self.lot), Decimal("280"))

    def test_the_balance_can_never_go_negative(self) -> None:
        with self.assertRaisesMessage(LedgerRefused, "would leave"):
            ledger_services.record_movement(
                lot=self.lot,
                kind=K.TRANSFER_OUT,
                quantity_mg=Decimal("300"),
                counterparty="South",
                by=self.nick,
            )
        with self.assertRaises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(
                clinic=self.clinic,
                lot=self.lot,
                kind="return",
                quantity_mg=Decimal("300"),
                balance_after_mg=Decimal("-20"),
                recorded_by=self.nick,
            )
        self.assertEqual(ledger_services.balance(self.lot), Decimal("280"))

    def test_the_database_refuses_to_change_or_delete_an_entry(self) -> None:
        entry = self.lot.entries.get()
        # SQLite reports the trigger's abort as an IntegrityError, PostgreSQL as a ProgrammingError.
        with self.assertRaises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).update(quantity_mg=Decimal("1"))
        with self.assertRaises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.filter(pk=entry.pk).delete()
        self.assertEqual(LedgerEntry.objects.get(pk=entry.pk).quantity_mg, Decimal("280"))

    def test_a_mistake_is_corrected_by_a_new_witnessed_entry(self) -> None:
        wrong = ledger_services.record_movement(
            lot=self.lot,
            kind=K.TRANSFER_OUT,
            quantity_mg=Decimal("56"),
            counterparty="South",
            by=self.nick,
        )
        with self.assertRaisesMessage(LedgerRefused, "witnessed"):
            ledger_services.record_movement(
                lot=self.lot,
                kind=K.CORRECTION,
                quantity_mg=Decimal("28"),
                reason="Only one device went",
                corrects=wrong,
                by=self.nick,
            )
        fix = ledger_services.record_movement(
            lot=self.lot,
            kind=K.CORRECTION,
            quantity_mg=Decimal("28"),
            reason="Only one device went",
            corrects=wrong,
            by=self.nick,
            witness=self.paula,
        )
        self.assertEqual((fix.corrects, fix.balance_after_mg), (wrong, Decimal("252")))

    def test_a_count_that_differs_alerts_the_clinic_admin(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            entry = ledger_services.record_count(
                lot=self.lot, counted_mg=Decimal("252"), by=self.nick
            )
        self.assertEqual(entry.discrepancy_mg, Decimal("-28"))
        self.assertEqual(entry.balance_after_mg, Decimal("280"))
        self.assertEqual([m.to for m in mail.outbox], [["adam@example.org"]])

    def test_a_matching_count_alerts_no_one(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            entry = ledger_services.record_count(
                lot=self.lot, counted_mg=Decimal("280"), by=self.nick
            )
        self.assertIsNone(entry.discrepancy_mg)
        self.assertEqual(mail.outbox, [])

    def test_the_inventory_report_prints_each_lot_and_is_audited_as_an_export(self) -> None:
        ledger_services.record_movement(
            lot=self.lot,
            kind=K.RETURN,
            quantity_mg=Decimal("28"),
            counterparty="Wholesaler Inc",
            by=self.nick,
        )
        self.login(self.paula)
        today = timezone.localdate().isoformat()
        response = self.client.get(reverse("dosing:ledger_report"), {"start": today, "end": today})
        self.assertContains(response, "lot LOT-A")
        self.assertContains(response, "closing balance 252.00 mg")
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.EXPORT, object_type="dosing.inventory_report"
            ).exists()
        )

    def test_a_therapist_cannot_keep_the_ledger(self) -> None:
        self.login(self.tara)
        response = self.client.post(
            reverse("dosing:ledger_receive"),
            {
                "product": "Ketamine",
                "lot_number": "X",
                "expiry": "2099-01-01",
                "quantity_mg": "100",
                "supplier": "S",
            },
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(StockLot.objects.count(), 1)


class LedgerRefusalTest(ClinicTestCase):
    """Movements the ledger refuses answer 400 at their field and store nothing."""

    def setUp(self) -> None:
        self.lot = f.stock(self.clinic, self.nick, mg="28")
        self.login(self.nick)

    def post(self, **values: str) -> Any:
        data = {"witness_email": "paula@example.org", "witness_password": PASSWORD} | values
        return self.client.post(reverse("dosing:lot_movement", args=[self.lot.pk]), data)

    def test_wasting_more_than_the_lot_holds_is_refused_at_the_quantity(self) -> None:
        response = self.post(kind="waste", quantity_mg="30", reason="Dropped")
        self.assertEqual(response.status_code, 400)
        self.assertIn("quantity_mg", response.context["movement_form"].errors)
        self.assertEqual((self.lot.entries.count(), ledger_services.balance(self.lot)), (1, 28))

    def test_a_correction_of_zero_is_refused_at_the_quantity_not_a_server_error(self) -> None:
        response = self.post(kind="correction", quantity_mg="0", reason="Recount")
        self.assertEqual(response.status_code, 400)
        self.assertIn("quantity_mg", response.context["movement_form"].errors)
        self.assertEqual(self.lot.entries.count(), 1)
