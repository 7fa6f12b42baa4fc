"""The read API: exposure, review tasks and decisions, for staff with a token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.api.models import ApiToken, Scope
from katclinic.surveillance.models import ReviewKind, ReviewTask, TreatmentDecision
from katclinic.surveillance.services import raise_review_task
from katclinic.surveillance.tests.helpers import course, given, sublingual_plan
from katclinic.testing import ClinicTestCase


class ApiTest(ClinicTestCase):
    def setUp(self) -> None:
        course(self.pat, self.paula)
        sublingual_plan(self.pat, self.paula)
        given(self.pat, self.nick, timezone.now() - timedelta(days=3), "100")
        given(self.pat, self.nick, timezone.now() - timedelta(days=40), "150", route="oral")

    def get(self, name: str, user: User, scopes: list[str] | None = None) -> Any:
        clinic = self.other_clinic if user == self.oscar else self.clinic
        _, raw = ApiToken.issue(
            user=user, clinic=clinic, name="t", scopes=scopes or list(Scope.values)
        )
        url = reverse(f"api:{name}", kwargs={"patient_id": self.pat.pk})
        return self.client.get(url, headers={"Authorization": f"Bearer {raw}"})

    def test_exposure_gives_rolling_totals_by_route_and_the_thresholds(self) -> None:
        body = self.get("surveillance_exposure", self.paula).json()
        self.assertEqual(body["last_30_days"]["mg"], "100.00")
        self.assertEqual(
            body["last_12_months"]["by_route"], {"oral": "150.00", "sublingual": "100.00"}
        )
        self.assertEqual(body["review_above_mg"], {"30d": "2000", "12m": "12000"})

    def test_review_tasks_and_decisions_are_listed(self) -> None:
        raise_review_task(
            patient=self.pat,
            kind=ReviewKind.COUNT_MISMATCH,
            reason="2 lozenges short",
            source_type="athome.Count",
            source_id=1,
        )
        TreatmentDecision.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            decision="continue",
            reason="stable",
            decided_by=self.paula,
        )
        tasks = self.get("surveillance_tasks", self.nick).json()
        self.assertEqual([t["kind"] for t in tasks], ["count_mismatch"])
        decisions = self.get("surveillance_decisions", self.nick).json()
        self.assertEqual(
            [(d["decision"], d["reason"]) for d in decisions], [("continue", "stable")]
        )

    def test_a_token_without_the_scope_is_refused(self) -> None:
        response = self.get("surveillance_exposure", self.paula, [Scope.MEASURES_READ])
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("last_30_days", response.json())
        self.assertDenialsRecorded(reverse("api:surveillance_exposure", args=[self.pat.pk]))

    def test_the_patient_and_another_clinic_cannot_read(self) -> None:
        self.assertEqual(self.get("surveillance_tasks", self.pat_user).status_code, 403)
        self.assertEqual(self.get("surveillance_tasks", self.oscar).status_code, 404)
        self.assertFalse(ReviewTask.objects.exists())
