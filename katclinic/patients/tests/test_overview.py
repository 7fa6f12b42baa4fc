"""The Overview tab's lists come from one plain statement and are the rows the ORM gives."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import timezone

from katclinic.patients.models import Allergy, Diagnosis, Medication, Patient, WeightReading
from katclinic.patients.overview import WEIGHTS_SHOWN, overview_lists
from katclinic.testing import ClinicTestCase

# The sign-in session, the user, the roles; the patient; the audit event; the SMART apps
# staff may launch; the four lists.
OVERVIEW_STATEMENTS = 7


def values(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


class OverviewListsTest(ClinicTestCase):
    def fill(self, patient: Patient, weights: int) -> None:
        today = timezone.localdate()
        common = {"clinic": patient.clinic, "patient": patient, "recorded_by": self.nick}
        for n in range(weights):
            kg = Decimal("60.0") + n
            WeightReading.objects.create(
                **common,
                measured_on=today - timedelta(days=(n * 7) % 40),
                weight_kg=kg,
                entered_value=Decimal("132.3") + n if n % 2 else kg,
                entered_unit="lb" if n % 2 else "kg",
            )
        for n, active in enumerate((True, False, True)):
            Allergy.objects.create(
                **common, substance=f"Substance {n}", reaction="rash" * n, is_active=active
            )
            Medication.objects.create(
                **common, name=f"Drug {n}", dose="10 mg", is_maoi=n == 2, is_active=active
            )
            Diagnosis.objects.create(
                **common, icd10_code="F33.2", description=f"Dx {n}", is_primary=n == 0
            )

    def assertSameRows(self, found: list[Any], orm: models.QuerySet[Any]) -> None:
        self.assertEqual([values(row) for row in found], [values(row) for row in orm])

    def test_each_list_is_what_its_queryset_gives_in_its_order(self) -> None:
        self.fill(self.pat, 14)
        self.fill(self.quinn, 2)
        for patient in (self.pat, self.quinn):
            lists = overview_lists(patient)
            weights = patient.weights.order_by("-measured_on", "-recorded_at", "-pk")
            self.assertSameRows(lists.weights, weights[:WEIGHTS_SHOWN])
            self.assertSameRows(
                lists.allergies, patient.allergies.filter(is_active=True).order_by("pk")
            )
            self.assertSameRows(
                lists.medications, patient.medications.filter(is_active=True).order_by("pk")
            )
            self.assertSameRows(lists.diagnoses, patient.diagnoses.order_by("pk"))
        self.assertEqual(len(overview_lists(self.pat).weights), WEIGHTS_SHOWN)
        self.assertEqual(len(overview_lists(self.quinn).allergies), 2)

    def test_a_patient_with_nothing_recorded_has_empty_lists(self) -> None:
        self.fill(self.pat, 3)
        lists = overview_lists(self.stranger)
        self.assertEqual(
            (lists.weights, lists.allergies, lists.medications, lists.diagnoses), ([], [], [], [])
        )

    def test_the_overview_shows_the_lists_with_a_fixed_set_of_statements(self) -> None:
        self.fill(self.pat, 12)
        self.login(self.nick)
        url = reverse("patients:chart", args=[self.pat.pk])
        self.client.get(url)  # per-process caches (navigation, links) warm up
        with self.assertNumQueries(OVERVIEW_STATEMENTS):
            page = self.client.get(url)
        latest = self.pat.weights.order_by("-measured_on", "-recorded_at", "-pk").first()
        assert latest is not None
        self.assertContains(page, f"<strong>{latest.weight_kg} kg</strong>", html=False)
        self.assertEqual(page.content.decode().count(" kg</li>"), WEIGHTS_SHOWN)
        self.assertContains(page, "<strong>Substance 0</strong>")
        self.assertContains(page, "<strong>Substance 2</strong>: rashrash")
        self.assertNotContains(page, "Substance 1")
        self.assertContains(page, "Drug 2 10 mg")
        self.assertNotContains(page, "Drug 1")
        self.assertContains(page, "<strong>F33.2</strong> Dx 1")
