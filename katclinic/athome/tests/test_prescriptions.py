"""A take-home prescription is signed only after a recent prescription-monitoring check."""

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from katclinic.athome.models import Dispense, TakeHomePrescription
from katclinic.athome.tests.factories import prescription, sublingual_plan
from katclinic.clinics.registry import set_setting
from katclinic.testing import ClinicTestCase


class PrescriptionTest(ClinicTestCase):
    def setUp(self) -> None:
        self.plan = sublingual_plan(self.pat, self.paula)
        self.url = reverse("athome:prescribe", args=[self.pat.pk])

    def form(self, **changes: Any) -> dict[str, Any]:
        data = {
            "plan": self.plan.pk,
            "product": "Ketamine troche",
            "strength_mg": "50",
            "lozenges_per_session": "2",
            "quantity": "12",
            "refills": "1",
            "pharmacy": "Main Street Pharmacy",
            "pdmp_checked": "on",
            "pdmp_checked_on": timezone.localdate().isoformat(),
        }
        data.update(changes)
        return {k: v for k, v in data.items() if v is not None}

    def test_the_prescriber_signs_with_the_check_recorded_under_their_name(self) -> None:
        self.login(self.paula)
        response = self.client.post(self.url, self.form())
        self.assertRedirects(response, reverse("athome:patient", args=[self.pat.pk]))
        rx = TakeHomePrescription.objects.get()
        self.assertEqual((rx.dose_mg, rx.quantity, rx.refills), (100, 12, 1))
        self.assertEqual(rx.pdmp_checked_by, self.paula)
        self.assertEqual(rx.signed_by, self.paula)
        self.assertEqual(rx.pdmp_checked_on, timezone.localdate())

    def test_it_refuses_to_sign_without_the_monitoring_check(self) -> None:
        self.login(self.paula)
        for changes in ({"pdmp_checked": None}, {"pdmp_checked_on": None}):
            response = self.client.post(self.url, self.form(**changes))
            self.assertEqual(response.status_code, 400)
            self.assertIn("pdmp_checked_on", response.context["form"].errors)
        self.assertFalse(TakeHomePrescription.objects.exists())

    def test_a_new_prescription_needs_a_fresh_check(self) -> None:
        self.login(self.paula)
        old = (timezone.localdate() - timedelta(days=8)).isoformat()
        response = self.client.post(self.url, self.form(pdmp_checked_on=old))
        self.assertEqual(response.status_code, 400)
        self.assertIn("older than 7 days", str(response.context["form"].errors["pdmp_checked_on"]))
        future = (timezone.localdate() + timedelta(days=1)).isoformat()
        self.assertEqual(
            self.client.post(self.url, self.form(pdmp_checked_on=future)).status_code, 400
        )
        self.assertFalse(TakeHomePrescription.objects.exists())
        set_setting(
            clinic=self.clinic,
            key="athome.pdmp_max_age_days",
            raw="10",
            by=self.adam,
            reason="State rule",
        )
        self.assertEqual(
            self.client.post(self.url, self.form(pdmp_checked_on=old)).status_code, 302
        )

    def test_a_dose_outside_the_plans_limits_is_refused(self) -> None:
        self.login(self.paula)
        response = self.client.post(self.url, self.form(lozenges_per_session="8"))  # 400 mg > 300
        self.assertEqual(response.status_code, 400)
        self.assertIn("lozenges_per_session", response.context["form"].errors)
        self.assertFalse(TakeHomePrescription.objects.exists())

    def test_a_nurse_cannot_prescribe(self) -> None:
        self.login(self.nick)
        self.assertEqual(self.client.post(self.url, self.form()).status_code, 403)
        self.assertFalse(TakeHomePrescription.objects.exists())

    def test_dispenses_stay_within_quantity_and_refills(self) -> None:
        rx = prescription(self.pat, self.paula, dispensed=0)
        self.login(self.nick)
        url = reverse("athome:dispense", args=[rx.pk])
        today = timezone.localdate().isoformat()
        self.assertEqual(
            self.client.post(url, {"quantity": "12", "dispensed_on": today}).status_code, 302
        )
        self.assertEqual(
            self.client.post(url, {"quantity": "12", "dispensed_on": today}).status_code, 302
        )
        response = self.client.post(url, {"quantity": "1", "dispensed_on": today})
        self.assertEqual(response.status_code, 400)
        self.assertIn("quantity", response.context["form"].errors)
        self.assertEqual(sum(Dispense.objects.values_list("quantity", flat=True)), 24)
