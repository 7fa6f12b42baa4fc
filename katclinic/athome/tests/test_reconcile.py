"""Lozenge counts at a visit: dispensed - sessions x per session - counted = discrepancy."""

from django.urls import reverse

from katclinic.athome.models import Reconciliation
from katclinic.athome.tests.factories import prescription, taken_session
from katclinic.clinics.registry import set_setting
from katclinic.surveillance.models import ReviewKind, ReviewTask
from katclinic.testing import ClinicTestCase


class ReconcileTest(ClinicTestCase):
    """12 dispensed, one session of 2 logged: 10 expected."""

    def setUp(self) -> None:
        self.rx = prescription(self.pat, self.paula, dispensed=12)
        taken_session(self.pat)
        self.url = reverse("athome:reconcile", args=[self.rx.pk])
        self.login(self.nick)

    def test_the_form_shows_the_expected_count(self) -> None:
        response = self.client.get(self.url)
        self.assertContains(response, "should have <strong>10</strong>", html=False)

    def test_a_matching_count_raises_no_review_task(self) -> None:
        self.assertEqual(self.client.post(self.url, {"counted_remaining": "10"}).status_code, 302)
        count = Reconciliation.objects.get()
        self.assertEqual((count.dispensed, count.sessions_logged, count.discrepancy), (12, 1, 0))
        self.assertEqual(count.counted_by, self.nick)
        self.assertFalse(ReviewTask.objects.exists())

    def test_missing_lozenges_open_a_review_task_for_possible_diversion(self) -> None:
        self.client.post(self.url, {"counted_remaining": "6", "note": "Says some were lost."})
        count = Reconciliation.objects.get()
        self.assertEqual(count.discrepancy, 4)
        task = ReviewTask.objects.get()
        self.assertEqual(
            (task.kind, task.source_type, task.source_id),
            (ReviewKind.COUNT_MISMATCH, "athome.Reconciliation", count.pk),
        )
        self.assertIn("possible diversion", task.reason)
        self.assertEqual(task.patient, self.pat)

    def test_extra_lozenges_point_to_missed_doses(self) -> None:
        self.client.post(self.url, {"counted_remaining": "12"})
        self.assertIn("missed doses", ReviewTask.objects.get().reason)

    def test_a_difference_within_the_clinics_tolerance_is_accepted(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="athome.count_tolerance",
            raw="1",
            by=self.adam,
            reason="Crumbled troches",
        )
        self.client.post(self.url, {"counted_remaining": "9"})
        self.assertEqual(Reconciliation.objects.get().discrepancy, 1)
        self.assertFalse(ReviewTask.objects.exists())

    def test_a_negative_count_is_refused_and_nothing_is_stored(self) -> None:
        response = self.client.post(self.url, {"counted_remaining": "-1"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("counted_remaining", response.context["form"].errors)
        self.assertFalse(Reconciliation.objects.exists())

    def test_a_therapist_cannot_count(self) -> None:
        self.login(self.tara)
        self.assertEqual(self.client.post(self.url, {"counted_remaining": "10"}).status_code, 403)
        self.assertFalse(Reconciliation.objects.exists())
