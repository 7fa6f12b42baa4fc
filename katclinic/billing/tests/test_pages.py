"""Through HTTP: who may do what, and bad input on every field answers 400 naming the field
and stores nothing."""

from typing import Any

from django.urls import reverse

from katclinic.billing import services
from katclinic.billing.models import ChargeLine, ChargeStatus, FeeSchedule, Payment, Refund
from katclinic.billing.tests import helpers as h
from katclinic.testing import ClinicTestCase


class PagesCase(ClinicTestCase):
    def setUp(self) -> None:
        h.fee_schedule(self)
        h.diagnose(self, self.pat)
        self.bill = h.billing_user(self)
        self.session = h.discharged(self, self.pat, route="iv")

    def errors(self, response: Any) -> set[str]:
        found: set[str] = set()
        for context in response.context:
            for value in context.flatten().values():
                if hasattr(value, "errors") and hasattr(value, "fields") and value.errors:
                    found |= set(value.errors)
        return found


class RoleTest(PagesCase):
    def test_front_desk_sees_but_cannot_propose_or_post_and_billing_can(self) -> None:
        self.login(self.alice)
        page = self.client.get(reverse("billing:home"))
        self.assertContains(page, "Waiting for billing review")
        response = self.client.post(reverse("billing:propose", args=[self.session.pk]))
        self.assertEqual(response.status_code, 403)
        self.assertFalse(ChargeLine.objects.exists())
        self.login(self.bill)
        response = self.client.post(reverse("billing:propose", args=[self.session.pk]))
        self.assertEqual(response.status_code, 302)
        charge = self.session.charge
        page = self.client.get(reverse("billing:charge", args=[charge.pk]))
        self.assertContains(page, "96365")
        self.assertContains(page, "Infusion ran 100 minutes")
        self.login(self.alice)
        response = self.client.post(reverse("billing:post_charge", args=[charge.pk]))
        self.assertEqual(response.status_code, 403)
        charge.refresh_from_db()
        self.assertEqual(charge.status, ChargeStatus.PROPOSED)
        self.login(self.bill)
        response = self.client.post(reverse("billing:post_charge", args=[charge.pk]))
        self.assertEqual(response.status_code, 302)
        charge.refresh_from_db()
        self.assertEqual(charge.status, ChargeStatus.POSTED)
        # Front desk takes the payment after the session.
        self.login(self.alice)
        response = self.client.post(
            reverse("billing:take_payment", args=[self.pat.pk]),
            {"amount": "450.00", "method": "cash", "invoice": charge.invoice.pk},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(services.invoice_balance(charge.invoice), 0)
        # ...but may not refund it.
        payment = Payment.objects.get()
        response = self.client.post(
            reverse("billing:refund", args=[payment.pk]), {"amount": "10", "reason": "x"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Refund.objects.exists())

    def test_clinical_staff_and_another_clinic_see_no_billing(self) -> None:
        for user in (self.nick, self.tara, self.paula):
            self.login(user)
            self.assertEqual(self.client.get(reverse("billing:home")).status_code, 403)
        charge = services.propose_charge(session=self.session, by=self.bill)
        self.login(self.oscar)
        self.assertEqual(
            self.client.get(reverse("billing:charge", args=[charge.pk])).status_code, 403
        )


class BadInputTest(PagesCase):
    def setUp(self) -> None:
        super().setUp()
        self.charge = services.propose_charge(session=self.session, by=self.bill)
        self.line = self.charge.lines.get(code__code="96366")
        self.login(self.bill)

    def assert_refused(self, url: str, data: dict[str, str], field: str) -> None:
        before = (
            list(ChargeLine.objects.values_list("pk", "units", "unit_price_cents", "status")),
            Payment.objects.count(),
            Refund.objects.count(),
            FeeSchedule.objects.count(),
        )
        response = self.client.post(url, data)
        self.assertEqual(response.status_code, 400, (url, data))
        self.assertIn(field, self.errors(response), (url, data))
        after = (
            list(ChargeLine.objects.values_list("pk", "units", "unit_price_cents", "status")),
            Payment.objects.count(),
            Refund.objects.count(),
            FeeSchedule.objects.count(),
        )
        self.assertEqual(before, after)

    def test_adjusting_a_line(self) -> None:
        url = reverse("billing:adjust_line", args=[self.line.pk])
        p = f"l{self.line.pk}-"
        good = {
            p + "units": "1",
            p + "unit_price": "100",
            p + "diagnoses": "F33.2",
            p + "modifiers": "",
            p + "reason": "Price",
        }
        cases = [
            ("units", "2"),  # more than the infusion supports
            ("units", "0"),
            ("units", "abc"),
            ("unit_price", "-5"),
            ("unit_price", "1.234"),
            ("unit_price", "1e400"),
            ("diagnoses", "Z99.99"),
            ("modifiers", "XX"),
            ("reason", ""),
        ]
        for field, value in cases:
            with self.subTest(field=field, value=value):
                self.assert_refused(url, good | {p + field: value}, field)

    def test_adding_a_line(self) -> None:
        url = reverse("billing:add_line", args=[self.charge.pk])
        good = {"code": "99213", "units": "1", "unit_price": "150", "reason": "Visit done"}
        for field, value in [
            ("code", "NOPE"),
            ("code", "S0013"),  # not valid on the date of service
            ("units", "2"),
            ("units", "-1"),
            ("unit_price", "x"),
            ("reason", ""),
        ]:
            with self.subTest(field=field, value=value):
                self.assert_refused(url, good | {field: value}, field)

    def test_payments_links_and_refunds(self) -> None:
        services.post_charge(charge=self.charge, by=self.bill)
        pay = reverse("billing:take_payment", args=[self.pat.pk])
        good = {"amount": "20", "method": "cash", "reference": ""}
        for field, value in [
            ("amount", ""),
            ("amount", "0"),
            ("amount", "ten"),
            ("amount", "100000000"),
            ("method", "card"),
            ("method", "bitcoin"),
            ("invoice", "999999"),
            ("invoice", "x"),
        ]:
            with self.subTest(field=field, value=value):
                self.assert_refused(pay, good | {field: value}, field)
        self.assert_refused(pay, good | {"method": "cheque"}, "reference")
        self.assert_refused(pay, good | {"reference": "x" * 61}, "reference")
        self.assert_refused(
            pay, good | {"amount": "9999", "invoice": str(self.charge.invoice.pk)}, "amount"
        )
        link = reverse("billing:send_link", args=[self.pat.pk])
        for field, value in [("amount", "-1"), ("email", "not-an-address"), ("email", "")]:
            with self.subTest(field=field, value=value):
                self.assert_refused(
                    link, {"amount": "20", "email": "p@example.org"} | {field: value}, field
                )
        payment = services.record_payment(
            patient=self.pat, amount_cents=2000, method="cash", by=self.alice
        )
        refund = reverse("billing:refund", args=[payment.pk])
        for field, value in [("amount", "20.01"), ("amount", "abc"), ("reason", "")]:
            with self.subTest(field=field, value=value):
                self.assert_refused(refund, {"amount": "5", "reason": "x"} | {field: value}, field)

    def test_reversing_and_fee_schedules_and_reports(self) -> None:
        self.assert_refused(
            reverse("billing:reverse_line", args=[self.line.pk]), {"reason": "x"}, "__all__"
        )
        self.assert_refused(
            reverse("billing:drop_line", args=[self.line.pk]), {"reason": ""}, "reason"
        )
        self.login(self.adam)
        url = reverse("billing:fees_new")
        good = {"name": "2027", "valid_from": "2027-01-01", "fees": "96365 310.00"}
        for field, value in [
            ("name", ""),
            ("valid_from", "soon"),
            ("valid_from", "1900-01-01"),
            ("fees", ""),
            ("fees", "96365"),
            ("fees", "96365 -3"),
            ("fees", "ZZZZZ 10"),
            ("payer", "x" * 121),
        ]:
            with self.subTest(field=field, value=value):
                self.assert_refused(url, good | {field: value}, field)
        response = self.client.get(
            reverse("billing:reports"), {"start": "2026-02-01", "end": "2026-01-01"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("end", self.errors(response))
        response = self.client.get(reverse("billing:report_csv", args=["charges"]), {"start": "x"})
        self.assertEqual(response.status_code, 400)
        self.assertIn(b"start", response.content)
        self.assertEqual(
            self.client.get(reverse("billing:report_csv", args=["nothing"])).status_code, 404
        )
