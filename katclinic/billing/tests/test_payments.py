import zlib

from django.core import mail
from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.billing import payments, services
from katclinic.billing.models import Payment, PaymentStatus, Refund
from katclinic.billing.services import BillingError
from katclinic.billing.tests import helpers as h
from katclinic.clinics.models import Clinic
from katclinic.testing import ClinicTestCase


def pdf_text(body: bytes) -> bytes:
    """The page text of a PDF: streams inflated where compressed, brackets unescaped."""
    chunks = [body]
    for part in body.split(b"stream")[1:]:
        raw = part.split(b"endstream")[0].strip(b"\r\n")
        try:
            chunks.append(zlib.decompress(raw))
        except zlib.error:
            continue
    return b"".join(chunks).replace(b"\\(", b"(").replace(b"\\)", b")")


class PostedChargeCase(ClinicTestCase):
    def setUp(self) -> None:
        h.fee_schedule(self)
        h.diagnose(self, self.pat)
        self.bill = h.billing_user(self)
        Clinic.objects.filter(pk=self.clinic.pk).update(npi="1234567893", tax_id="12-3456789")
        self.paula.npi = "1999999984"
        self.paula.save(update_fields=["npi"])
        self.session = h.discharged(self, self.pat, route="iv")
        self.charge = services.propose_charge(session=self.session, by=self.bill)
        services.post_charge(charge=self.charge, by=self.bill)
        self.invoice = self.charge.invoice
        self.total = services.charge_total(self.charge)  # 300 + 100 + 50 dollars


class PaymentTest(PostedChargeCase):
    def test_refunds_never_exceed_what_was_paid(self) -> None:
        payment = services.record_payment(
            patient=self.pat, amount_cents=20000, method="cash", invoice=self.invoice, by=self.alice
        )
        services.refund_payment(
            payment=payment, amount_cents=15000, reason="Overpaid", by=self.bill
        )
        with self.assertRaisesMessage(BillingError, "Only $50.00"):
            services.refund_payment(payment=payment, amount_cents=5001, reason="More", by=self.bill)
        self.assertEqual(Refund.objects.count(), 1)
        services.refund_payment(payment=payment, amount_cents=5000, reason="Rest", by=self.bill)
        self.assertEqual(services.refunded_cents(payment), 20000)
        self.assertEqual(services.invoice_balance(self.invoice), self.total)

    def test_a_waiting_card_payment_cannot_be_refunded(self) -> None:
        link = services.send_payment_link(
            patient=self.pat, amount_cents=1000, email="pat@example.org", by=self.alice
        )
        with self.assertRaises(BillingError):
            services.refund_payment(payment=link, amount_cents=100, reason="x", by=self.bill)
        self.assertFalse(Refund.objects.exists())

    def test_balances_count_deposits_payments_and_refunds(self) -> None:
        self.assertEqual(services.patient_balance(self.pat), self.total)
        services.record_payment(patient=self.pat, amount_cents=5000, method="cash", by=self.alice)
        cheque = services.record_payment(
            patient=self.pat,
            amount_cents=self.total - 5000,
            method="cheque",
            reference="1044",
            invoice=self.invoice,
            by=self.alice,
        )
        self.assertEqual(services.patient_balance(self.pat), 0)
        services.refund_payment(payment=cheque, amount_cents=1000, reason="Discount", by=self.bill)
        self.assertEqual(services.patient_balance(self.pat), 1000)

    def test_an_invoice_cannot_be_overpaid(self) -> None:
        with self.assertRaises(BillingError) as caught:
            services.record_payment(
                patient=self.pat,
                amount_cents=self.total + 1,
                method="cash",
                invoice=self.invoice,
                by=self.alice,
            )
        self.assertEqual(caught.exception.field, "amount")
        self.assertFalse(Payment.objects.exists())

    def test_a_payment_link_is_emailed_and_confirmed_through_the_provider(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            link = services.send_payment_link(
                patient=self.pat,
                amount_cents=self.total,
                invoice=self.invoice,
                email="pat@example.org",
                by=self.alice,
            )
        self.assertEqual(link.status, PaymentStatus.PENDING)
        self.assertEqual(link.provider, "console")
        self.assertTrue(link.provider_reference.startswith("console_"))
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn(link.checkout_url, mail.outbox[0].body)
        self.assertEqual(services.invoice_balance(self.invoice), self.total)
        services.confirm_checkout(payment=link, by=self.alice)
        self.assertEqual(services.invoice_balance(self.invoice), 0)

    def test_every_financial_write_is_audited(self) -> None:
        before = AuditEvent.objects.count()
        payment = services.record_payment(
            patient=self.pat, amount_cents=100, method="cash", by=self.alice
        )
        services.refund_payment(payment=payment, amount_cents=100, reason="Back", by=self.bill)
        self.assertEqual(AuditEvent.objects.count(), before + 2)


class ProviderTest(ClinicTestCase):
    def test_console_is_the_default_and_the_hosted_checkout_is_chosen_by_setting(self) -> None:
        self.assertIsInstance(payments.provider(), payments.ConsoleProvider)
        with self.settings(BILLING_PAYMENT_PROVIDER="stripe", BILLING_STRIPE_SECRET_KEY="sk_x"):
            chosen = payments.provider()
        assert isinstance(chosen, payments.StripeCheckoutProvider)
        fields = chosen.checkout_fields(
            amount_cents=45000, currency="USD", description="Invoice 1", return_url="https://x/"
        )
        self.assertEqual(fields["line_items[0][price_data][unit_amount]"], 45000)
        request = chosen.build_request("POST", "/checkout/sessions", fields)
        self.assertTrue(request.full_url.startswith("https://"))
        self.assertNotIn(b"card", request.data or b"")
        with self.settings(BILLING_PAYMENT_PROVIDER="stripe", BILLING_STRIPE_SECRET_KEY=""):
            with self.assertRaises(payments.ProviderError):
                payments.provider()


class SuperbillTest(PostedChargeCase):
    def test_the_superbill_names_provider_patient_codes_diagnoses_and_payments(self) -> None:
        services.record_payment(
            patient=self.pat, amount_cents=12500, method="cash", invoice=self.invoice, by=self.alice
        )
        self.login(self.alice)
        response = self.client.get(reverse("billing:superbill", args=[self.charge.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/pdf")
        text = pdf_text(response.content)
        day = self.charge.date_of_service.isoformat()
        for expected in (
            "1234567893",
            "12-3456789",
            "1999999984",
            "Pat Doe",
            day,
            "96365",
            "96366",
            "J3490",
            "F33.2",
            "$450.00",
            "$125.00",
            "$325.00",
        ):
            self.assertIn(expected.encode(), text, expected)

    def test_the_patient_downloads_it_from_the_portal_and_no_one_else(self) -> None:
        self.login(self.pat_user)
        page = self.client.get(reverse("billing:my_statements", args=[self.pat.pk]))
        self.assertContains(page, "Superbill")
        url = reverse("billing:my_superbill", args=[self.pat.pk, self.charge.pk])
        response = self.client.get(url)
        self.assertEqual(response.status_code, 200)
        self.assertIn(b"96365", pdf_text(response.content))
        self.login(self.quinn_user)
        self.assertEqual(self.client.get(url).status_code, 404)
        other = reverse("billing:my_superbill", args=[self.quinn.pk, self.charge.pk])
        self.assertEqual(self.client.get(other).status_code, 404)


class ReportTest(PostedChargeCase):
    def test_the_reports_show_charges_payments_ages_and_revenue_and_export_csv(self) -> None:
        services.record_payment(
            patient=self.pat, amount_cents=10000, method="cash", invoice=self.invoice, by=self.alice
        )
        self.login(self.adam)
        page = self.client.get(reverse("billing:reports"))
        self.assertContains(page, "96365")
        self.assertContains(page, "Ketamine infusion (IV)")
        self.assertContains(page, "$350.00")  # outstanding
        csv = self.client.get(reverse("billing:report_csv", args=["revenue"]))
        self.assertEqual(csv.status_code, 200)
        self.assertIn("Ketamine infusion (IV),1,45000", csv.content.decode())
        ages = self.client.get(reverse("billing:report_csv", args=["outstanding"]))
        self.assertIn("0-30 days,1,35000", ages.content.decode())
