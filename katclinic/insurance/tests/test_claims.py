"""Claims from a real posted esketamine charge: checked, written as a valid 837P, dropped for
the clearinghouse, and paid by a saved 835 that posts to its lines with patient
responsibility; unmatched payments are kept for review."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from katclinic.audit.models import AuditEvent
from katclinic.billing import services as billing
from katclinic.billing.models import PayerPosting
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.clinics.registry import set_setting
from katclinic.insurance import claims
from katclinic.insurance.models import (
    Claim,
    ClaimEvent,
    LinePayment,
    Remittance,
    RemittanceClaim,
)
from katclinic.insurance.services import InsuranceError
from katclinic.insurance.tests import claim_setup as cs
from katclinic.insurance.x12 import check
from katclinic.testing import ClinicTestCase, make_user

FIXTURES = Path(__file__).parent / "fixtures"


class ClaimTest(ClinicTestCase):
    def setUp(self) -> None:
        self.data_dir = tempfile.TemporaryDirectory()
        self.enterContext(override_settings(DATA_DIR=Path(self.data_dir.name)))
        self.addCleanup(self.data_dir.cleanup)
        cs.set_up_clinic(self)
        self.coverage = cs.insured(self)
        self.charge = cs.posted_esketamine_charge(self)
        self.bill = make_user("bill@example.org", "Bill Ing")
        StaffMembership.objects.create(user=self.bill, clinic=self.clinic, role=Role.BILLING)

    def era(self, name: str = "era_session.835") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, (FIXTURES / name).read_bytes())

    def test_billing_builds_sends_and_posts_a_claim_through_the_pages(self) -> None:
        self.login(self.bill)
        listing = self.client.get("/insurance/claims/")
        self.assertContains(listing, "Build claim")
        response = self.client.post(f"/insurance/claims/build/{self.charge.pk}/")
        claim = Claim.objects.get()
        self.assertRedirects(response, f"/insurance/claims/{claim.pk}/")
        self.assertEqual((claim.status, claim.control_number), ("ready", "KC000001"))
        self.assertEqual(claim.authorization.number if claim.authorization else "", "PA-7001")
        line = claim.lines.get()
        self.assertEqual((line.code, line.units, line.charge_cents), ("J0013", 56, 61600))

        self.client.post(f"/insurance/claims/{claim.pk}/send/")
        claim.refresh_from_db()
        self.assertEqual(claim.status, "sent")
        dropped = Path(self.data_dir.name) / claim.file_name
        self.assertTrue(dropped.is_file())
        text = dropped.read_text()
        self.assertEqual(text, claim.file_text)
        result = check.validate(text)
        self.assertTrue(result.ok, result.errors)
        self.assertIn("CLM*KC000001*616***11:B:1*Y*A*Y*Y~", text)
        self.assertIn("REF*G1*PA-7001~", text)
        # Sending uses the authorization's units for the lines it covers.
        assert claim.authorization is not None
        self.assertEqual(claim.authorization.used_units, 56)
        self.assertIn("HI*ABK:F332~", text)
        self.assertIn("NM1*82*1*", text)
        self.assertEqual(
            self.client.get(f"/insurance/claims/{claim.pk}/file/").content.decode(), text
        )

        waiting = self.client.get(f"/billing/patients/{self.pat.pk}/")
        self.assertContains(waiting, "of which $616.00 is on claims the payer has not answered")
        self.assertContains(waiting, "Waiting for the payer ($616.00 claimed)")
        response = self.client.post("/insurance/remittances/import/", {"file": self.era()})
        remittance = Remittance.objects.get()
        self.assertRedirects(response, f"/insurance/remittances/{remittance.pk}/")
        claim.refresh_from_db()
        self.assertEqual(
            (claim.status, claim.paid_cents, claim.patient_responsibility_cents),
            ("paid", 50000, 3600),
        )
        paid = LinePayment.objects.get(claim_line=line)
        self.assertEqual((paid.paid_cents, paid.patient_responsibility_cents), (50000, 3600))
        self.assertEqual(
            sorted(paid.adjustments.values_list("group", "reason", "amount_cents")),
            [("CO", "45", 8000), ("PR", "2", 3600)],
        )
        history = list(ClaimEvent.objects.filter(claim=claim).values_list("to_status", flat=True))
        self.assertEqual(history, ["draft", "ready", "sent", "paid"])
        unmatched = RemittanceClaim.objects.get(claim=None)
        self.assertEqual((unmatched.control_number, unmatched.status_code), ("KC999999", "4"))
        page = self.client.get("/insurance/claims/")
        self.assertContains(page, "claim number KC999999 (QUINN ROE), denied")
        self.assertContains(self.client.get(f"/insurance/claims/{claim.pk}/"), "CO-45 $80.00")
        self.assertTrue(AuditEvent.objects.filter(object_type="insurance.remittance").exists())
        tab = self.client.get(f"/insurance/patients/{self.pat.pk}/")
        self.assertContains(tab, "billed $616.00, paid $500.00, patient owes $36.00 · Paid")
        # The payer's payment and contractual write-off leave the patient the $36.00 the payer
        # assigned to them, on the billing account and its invoice.
        self.assertEqual(
            sorted(self.charge.payer_postings.values_list("kind", "amount_cents")),
            [("paid", 50000), ("written_off", 8000)],
        )
        self.assertEqual(billing.patient_balance(self.pat), 3600)
        account = self.client.get(f"/billing/patients/{self.pat.pk}/")
        self.assertContains(account, "Insurance paid $500.00, adjusted $80.00")
        self.assertContains(account, "Balance owed: <strong>$36.00</strong></p>", html=False)

    def test_the_same_remittance_is_never_posted_twice(self) -> None:
        claim = claims.send_claim(
            claim=claims.build_claim(charge=self.charge, by=self.bill), by=self.bill
        )
        self.login(self.bill)
        self.client.post("/insurance/remittances/import/", {"file": self.era()})
        response = self.client.post("/insurance/remittances/import/", {"file": self.era()})
        self.assertEqual(response.status_code, 400)
        self.assertIn("file", response.context["form"].errors)
        claim.refresh_from_db()
        self.assertEqual((claim.paid_cents, Remittance.objects.count()), (50000, 1))

    def test_a_remittance_settling_more_than_the_charge_is_refused_whole(self) -> None:
        claims.send_claim(claim=claims.build_claim(charge=self.charge, by=self.bill), by=self.bill)
        too_much = (
            (FIXTURES / "era_session.835").read_text().replace("CAS*CO*45*80~", "CAS*CO*45*800~")
        )
        with self.assertRaises(InsuranceError) as refused:
            claims.import_remittance(clinic=self.clinic, text=too_much, by=self.bill)
        self.assertEqual(refused.exception.field, "file")
        self.assertIn("KC000001", str(refused.exception))
        self.assertEqual((Remittance.objects.count(), PayerPosting.objects.count()), (0, 0))

    def test_a_remittance_for_an_unsent_claim_is_left_unmatched(self) -> None:
        claim = claims.build_claim(charge=self.charge, by=self.bill)
        claims.import_remittance(
            clinic=self.clinic, text=(FIXTURES / "era_session.835").read_text(), by=self.bill
        )
        claim.refresh_from_db()
        self.assertEqual((claim.status, claim.paid_cents), ("ready", 0))
        self.assertEqual(RemittanceClaim.objects.filter(claim=None).count(), 2)

    def test_a_claim_missing_set_up_stays_a_draft_that_says_what_to_fix(self) -> None:
        set_setting(
            clinic=self.clinic, key="insurance.billing_zip", raw="62701", by=self.adam, reason="x"
        )
        self.clinic.npi = "1234567890"
        self.clinic.save()
        claim = claims.build_claim(charge=self.charge, by=self.bill)
        self.assertEqual(claim.status, "draft")
        self.assertIn("Billing provider NPI is missing or fails its check digit.", claim.problems)
        self.assertIn("Billing provider ZIP code must be 9 digits (ZIP+4).", claim.problems)
        with self.assertRaises(InsuranceError):
            claims.send_claim(claim=claim, by=self.bill)
        self.assertFalse(any(Path(self.data_dir.name).rglob("*.837")))
        self.clinic.npi = "1234567893"
        self.clinic.save()
        set_setting(
            clinic=self.clinic,
            key="insurance.billing_zip",
            raw="627011234",
            by=self.adam,
            reason="x",
        )
        self.assertEqual(claims.recheck_claim(claim=claim, by=self.bill).status, "ready")

    def test_a_claim_folder_outside_the_data_directory_is_refused_and_nothing_is_sent(self) -> None:
        claim = claims.build_claim(charge=self.charge, by=self.bill)
        set_setting(
            clinic=self.clinic,
            key="insurance.claim_folder",
            raw="../../etc",
            by=self.adam,
            reason="x",
        )
        with self.assertRaisesMessage(InsuranceError, "inside the data directory"):
            claims.send_claim(claim=claim, by=self.bill)
        claim.refresh_from_db()
        self.assertEqual((claim.status, claim.file_text), ("ready", ""))
        self.assertFalse(ClaimEvent.objects.filter(claim=claim, to_status="sent").exists())

    def test_a_code_not_valid_on_the_date_of_service_is_caught(self) -> None:
        claim = claims.build_claim(charge=self.charge, by=self.bill)
        claim.lines.update(code="S0013")  # as if built under last year's code
        found = claims.problems(Claim.objects.get(pk=claim.pk))
        self.assertTrue(any(p.startswith("S0013 is not a valid code on") for p in found), found)

    def test_a_bad_diagnosis_pointer_is_caught(self) -> None:
        claim = claims.build_claim(charge=self.charge, by=self.bill)
        claim.lines.update(diagnosis_pointers=[2])
        found = claims.problems(Claim.objects.get(pk=claim.pk))
        self.assertIn("Line 1: a diagnosis pointer names no diagnosis of the claim.", found)

    def test_no_coverage_no_claim_and_one_open_claim_per_charge(self) -> None:
        claims.build_claim(charge=self.charge, by=self.bill)
        with self.assertRaisesMessage(InsuranceError, "already has an open claim"):
            claims.build_claim(charge=self.charge, by=self.bill)
        self.assertEqual(Claim.objects.count(), 1)

    def test_acknowledgements_and_refused_moves(self) -> None:
        claim = claims.send_claim(
            claim=claims.build_claim(charge=self.charge, by=self.bill), by=self.bill
        )
        self.login(self.bill)
        url = f"/insurance/claims/{claim.pk}/status/"
        for data, field in [
            ({"status": "paid"}, "status"),
            ({"status": "rejected", "note": ""}, "note"),
            ({"status": "accepted", "note": "x" * 301}, "note"),
        ]:
            with self.subTest(data=data):
                response = self.client.post(url, data)
                self.assertEqual(response.status_code, 400)
                self.assertIn(field, response.context["form"].errors)
        claim.refresh_from_db()
        self.assertEqual(claim.status, "sent")
        self.client.post(url, {"status": "rejected", "note": "Member id not found"})
        claim.refresh_from_db()
        self.assertEqual(claim.status, "rejected")
        with self.assertRaises(InsuranceError):
            claims.mark_claim(claim=claim, to="accepted", note="", by=self.bill)
        # A rejected claim is corrected by a new claim of the same charge.
        self.assertEqual(
            claims.build_claim(charge=self.charge, by=self.bill).control_number, "KC000002"
        )

    def test_only_billing_and_admin_reach_claims_and_refused_writes_store_nothing(self) -> None:
        for user in (self.alice, self.paula, self.nick, self.tara):
            self.login(user)
            self.assertEqual(self.client.get("/insurance/claims/").status_code, 403)
            response = self.client.post(f"/insurance/claims/build/{self.charge.pk}/")
            self.assertEqual(response.status_code, 403)
            response = self.client.post("/insurance/remittances/import/", {"file": self.era()})
            self.assertEqual(response.status_code, 403)
        self.assertFalse(Claim.objects.exists())
        self.assertFalse(Remittance.objects.exists())
        self.login(self.adam)
        self.assertEqual(self.client.get("/insurance/claims/").status_code, 200)

    def test_bad_remittance_files_are_refused_naming_the_file(self) -> None:
        self.login(self.bill)
        for content in [
            b"",
            b"ISA nonsense",
            b"\xff\xfe",
            (FIXTURES / "eligibility_active.271").read_bytes(),
        ]:
            with self.subTest(content=content[:12]):
                upload = SimpleUploadedFile("x.835", content)
                response = self.client.post("/insurance/remittances/import/", {"file": upload})
                self.assertEqual(response.status_code, 400)
                self.assertIn("file", response.context["form"].errors)
        self.assertFalse(Remittance.objects.exists())
