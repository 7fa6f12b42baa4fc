from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from katclinic.intake.models import ConsentWithdrawal
from katclinic.protocols import services
from katclinic.protocols.models import Plan, PlannedDose, PlanVersion
from katclinic.protocols.tests import fixtures
from katclinic.testing import ClinicTestCase


class CreatePlanTest(ClinicTestCase):
    def create(self, key: str = "iv_ketamine_elektd", **data: str) -> Any:
        fixtures.ready_clinic(self)
        self.login(self.paula)
        form = {
            "protocol_version": fixtures.protocol(self, key).pk,
            "phase": "induction",
            "start_on": fixtures.next_monday().isoformat(),
            **data,
        }
        fixtures.consented(self, key)
        return self.client.post(reverse("protocols:create_plan", args=[self.pat.pk]), form)

    def test_an_iv_plan_at_70_kg_is_35_mg_over_40_minutes_with_its_arithmetic(self) -> None:
        response = self.create()
        self.assertEqual(response.status_code, 302)
        version = PlanVersion.objects.get(plan__patient=self.pat)
        self.assertEqual((version.dose_mg, version.duration_minutes), (Decimal("35.0"), 40))
        self.assertEqual(version.rate_mg_per_min, Decimal("0.875"))
        self.assertEqual(version.plan.planned_doses.count(), 6)
        page = self.client.get(reverse("protocols:patient_plans", args=[self.pat.pk]))
        self.assertContains(page, "0.5 mg/kg x 70.0 kg = 35.0 mg")
        self.assertContains(page, "Volume: 35.0 mg / 100 mg/mL = 0.35 mL")
        self.assertContains(page, "35.0 mg / 40 min = 0.875 mg/min")

    def test_an_esketamine_plan_doses_in_whole_devices(self) -> None:
        self.create("esketamine_trd")
        version = PlanVersion.objects.get(plan__patient=self.pat)
        self.assertEqual((version.dose_mg, version.devices), (Decimal("56.0"), 2))
        self.assertEqual(version.plan.planned_doses.count(), 8)

    def test_a_dose_above_the_hard_maximum_is_refused_naming_the_limit(self) -> None:
        response = self.create(dose_mg="80")
        self.assertContains(response, "hard_max", status_code=400)
        self.assertFalse(Plan.objects.exists())

    def test_a_soft_limit_needs_a_written_reason(self) -> None:
        response = self.create(dose_mg="60")
        self.assertContains(response, "written reason", status_code=400)
        self.assertFalse(Plan.objects.exists())
        response = self.create(dose_mg="60", soft_limit_reason="Partial response at 0.75 mg/kg")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            PlanVersion.objects.get().soft_limit_reason, "Partial response at 0.75 mg/kg"
        )

    def test_a_patient_whose_consent_was_withdrawn_gets_no_plan(self) -> None:
        fixtures.consented(self)
        signature = self.pat.consent_signatures.get()
        ConsentWithdrawal.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            signature=signature,
            reason="no reason given",
            recorded_by=self.alice,
        )
        with self.assertRaisesMessage(services.PlanError, "consent:"):
            services.create_plan(
                patient=self.pat,
                protocol_version=fixtures.protocol(self),
                phase="induction",
                start_on=fixtures.next_monday(),
                requested_mg=None,
                by=self.paula,
            )
        self.assertFalse(Plan.objects.exists())

    def test_a_stale_weight_is_flagged(self) -> None:
        fixtures.ready_clinic(self)
        self.pat.weights.update(measured_on=timezone.localdate() - timedelta(days=90))
        version = fixtures.draft(self)
        self.assertTrue(version.weight_was_stale)

    def test_front_desk_cannot_create_a_plan(self) -> None:
        fixtures.ready_clinic(self)
        self.login(self.alice)
        response = self.client.post(
            reverse("protocols:create_plan", args=[self.pat.pk]),
            {
                "protocol_version": fixtures.protocol(self).pk,
                "phase": "induction",
                "start_on": fixtures.next_monday().isoformat(),
            },
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Plan.objects.exists())


class SigningTest(ClinicTestCase):
    def test_signing_records_who_when_and_a_digest_that_verifies(self) -> None:
        version = fixtures.signed(self)
        self.assertEqual(version.signed_by, self.paula)
        self.assertEqual(len(version.content_hash), 64)
        self.assertTrue(services.verify_signature(version))
        self.assertEqual(version.plan.status, "active")

    def test_a_signed_version_never_changes(self) -> None:
        version = fixtures.signed(self)
        with self.assertRaises(services.PlanError):
            services.edit_draft(
                version=version,
                phase="induction",
                start_on=version.start_on,
                requested_mg=Decimal("40"),
                by=self.paula,
            )
        with self.assertRaises(DatabaseError), transaction.atomic():
            PlanVersion.objects.filter(pk=version.pk).update(dose_mg=Decimal("40"))
        with self.assertRaises(DatabaseError), transaction.atomic():
            PlannedDose.objects.filter(version=version).update(dose_mg=Decimal("40"))
        version.refresh_from_db()
        self.assertEqual(version.dose_mg, Decimal("35.0"))
        self.assertTrue(services.verify_signature(version))

    def test_an_unsigned_draft_can_be_edited(self) -> None:
        version = fixtures.draft(self)
        services.edit_draft(
            version=version,
            phase="induction",
            start_on=version.start_on,
            requested_mg=Decimal("30"),
            by=self.paula,
        )
        version.refresh_from_db()
        self.assertEqual(version.dose_mg, Decimal("30.0"))
        self.assertEqual(set(version.doses.values_list("dose_mg", flat=True)), {Decimal("30.0")})

    def test_a_titration_is_a_new_signed_version_in_the_history(self) -> None:
        first = fixtures.signed(self)
        self.login(self.paula)
        response = self.client.post(
            reverse("protocols:amend", args=[first.plan_id]),
            {
                "kind": "titration",
                "reason": "Partial response",
                "dose_mg": "42",
                "start_on": (first.start_on + timedelta(days=7)).isoformat(),
            },
        )
        self.assertEqual(response.status_code, 302)
        amendment = PlanVersion.objects.get(plan=first.plan, number=2)
        self.client.post(reverse("protocols:sign", args=[amendment.pk]))
        amendment.refresh_from_db()
        self.assertTrue(amendment.is_signed)
        self.assertEqual(
            services.plan_dose_limits(first.plan),
            (Decimal("7.0"), Decimal("70.0"), Decimal("42.0")),
        )
        page = self.client.get(reverse("protocols:patient_plans", args=[self.pat.pk]))
        self.assertContains(page, "Titration")
        self.assertContains(page, "Partial response")

    def test_an_amendment_needs_a_reason(self) -> None:
        first = fixtures.signed(self)
        with self.assertRaises(services.PlanError):
            services.amend_plan(
                plan=first.plan,
                kind="titration",
                reason=" ",
                requested_mg=Decimal("42"),
                phase=None,
                start_on=first.start_on,
                by=self.paula,
            )
        self.assertEqual(first.plan.versions.count(), 1)

    def test_stopping_a_plan_leaves_no_active_plan(self) -> None:
        first = fixtures.signed(self)
        self.assertEqual(services.active_plan(self.pat), first.plan)
        stop = services.amend_plan(
            plan=first.plan,
            kind="stop",
            reason="Completed course",
            requested_mg=None,
            phase=None,
            start_on=first.start_on,
            by=self.paula,
        )
        services.sign_plan(version=stop, prescriber=self.paula)
        self.assertIsNone(services.active_plan(self.pat))

    def test_exposure_sums_given_doses_per_course_and_12_months(self) -> None:
        plan = fixtures.signed(self).plan
        now = timezone.now()
        given = [
            (now - timedelta(days=400), Decimal("35")),
            (now - timedelta(hours=2), Decimal("35")),
        ]
        Plan.objects.filter(pk=plan.pk).update(created_at=now - timedelta(days=500))
        plan.refresh_from_db()
        result = services.exposure(plan, given)
        self.assertEqual(
            (result.course_mg, result.last_12_months_mg), (Decimal("70"), Decimal("35"))
        )
        self.assertEqual(result.planned_course_mg, Decimal("210.0"))

    def test_the_plans_api_lists_versions_and_doses(self) -> None:
        from katclinic.api.models import ApiToken

        fixtures.signed(self)
        _, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=["plans:read"]
        )
        response = self.client.get(
            reverse("api:plans_for_patient", args=[self.pat.pk]),
            headers={"Authorization": f"Bearer {raw}"},
        )
        body = response.json()
        self.assertEqual(body[0]["versions"][0]["dose_mg"], "35.0")
        self.assertEqual(len(body[0]["doses"]), 6)
