"""A plan is created and signed only on a signed, current eligibility decision for its route.

Every test uses real screenings, decisions and consents made through the intake services.
"""

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.clinics.registry import set_setting
from katclinic.intake.tests.factories import program_consent, signed_decision
from katclinic.protocols import services
from katclinic.protocols.models import EligibilityReview, Plan, PlanVersion
from katclinic.protocols.tests import fixtures
from katclinic.testing import ClinicTestCase


class PlanEligibilityTest(ClinicTestCase):
    def setUp(self) -> None:
        fixtures.ready_clinic(self)
        program_consent(self.pat, by=self.nick)

    def create(self, key: str = "iv_ketamine_elektd", **extra: Any) -> PlanVersion:
        return services.create_plan(
            patient=self.pat,
            protocol_version=fixtures.protocol(self, key),
            phase="induction",
            start_on=fixtures.next_monday(),
            requested_mg=None,
            by=self.paula,
            **extra,
        )

    def assert_refused(self, field: str, **extra: Any) -> None:
        with self.assertRaisesMessage(services.PlanError, f"{field}:"):
            self.create(**extra)
        self.assertFalse(Plan.objects.exists())
        self.assertFalse(PlanVersion.objects.exists())

    def test_no_screening_refuses_the_plan_and_stores_nothing(self) -> None:
        self.assert_refused("eligibility")

    def test_a_signed_not_eligible_decision_refuses_the_plan(self) -> None:
        signed_decision(self.pat, route="iv", by=self.paula, decision="not_eligible")
        self.assert_refused("eligibility")
        self.assert_refused("eligibility", eligibility_reason="I judge it safe")

    def test_an_eligible_decision_for_another_route_does_not_count(self) -> None:
        signed_decision(self.pat, route="intranasal", by=self.paula)
        self.assert_refused("eligibility")

    def test_needs_review_needs_a_written_reason_which_is_kept_with_who_and_when(self) -> None:
        signed_decision(self.pat, route="iv", by=self.paula, decision="needs_review")
        self.assert_refused("eligibility_reason")
        self.assert_refused("eligibility_reason", eligibility_reason="   ")
        version = self.create(eligibility_reason="BP controlled on two readings this week.")
        review = EligibilityReview.objects.get(version=version)
        self.assertEqual(review.reason, "BP controlled on two readings this week.")
        self.assertEqual(review.recorded_by, self.paula)
        event = AuditEvent.objects.get(
            object_id=str(version.pk), action="create", object_type__icontains="planversion"
        )
        self.assertEqual(event.detail["eligibility_reason"], review.reason)
        signed = services.sign_plan(version=version, prescriber=self.paula)
        self.assertTrue(signed.is_signed)

    def test_a_newer_signed_screening_supersedes_the_old_answer(self) -> None:
        signed_decision(self.pat, route="iv", by=self.paula, decision="not_eligible")
        self.assert_refused("eligibility")
        signed_decision(self.pat, route="iv", by=self.paula, decision="eligible")
        self.assertEqual(self.create().plan.patient, self.pat)

    def test_signing_is_refused_when_the_decision_became_not_eligible(self) -> None:
        signed_decision(self.pat, route="iv", by=self.paula)
        draft = self.create()
        signed_decision(self.pat, route="iv", by=self.paula, decision="not_eligible")
        with self.assertRaisesMessage(services.PlanError, "eligibility:"):
            services.sign_plan(version=draft, prescriber=self.paula)
        draft.refresh_from_db()
        self.assertFalse(draft.is_signed)
        self.assertEqual(Plan.objects.get().status, "draft")

    def test_the_clinic_may_allow_a_plan_without_a_screening(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="intake_screening_required",
            raw=False,
            by=self.adam,
            reason="Screening done by the referring psychiatrist",
        )
        version = self.create()
        self.assertIn("does not require", str(version.readiness))
        signed_decision(self.pat, route="iv", by=self.paula, decision="not_eligible")
        with self.assertRaisesMessage(services.PlanError, "eligibility:"):
            services.sign_plan(version=version, prescriber=self.paula)

    def test_the_page_lists_the_reasons_in_clinical_words(self) -> None:
        signed_decision(self.pat, route="iv", by=self.paula, decision="not_eligible")
        self.login(self.paula)
        page = self.client.get(reverse("protocols:patient_plans", args=[self.pat.pk]))
        self.assertContains(page, "Signed not eligible by")
        self.assertContains(page, "Treatment-resistance criterion not met")
        self.assertNotContains(page, "Not checked")
        response = self.client.post(
            reverse("protocols:create_plan", args=[self.pat.pk]),
            {
                "protocol_version": fixtures.protocol(self).pk,
                "phase": "induction",
                "start_on": fixtures.next_monday().isoformat(),
            },
        )
        self.assertContains(response, "not allowed", status_code=400)
        self.assertFalse(Plan.objects.exists())


class StaleWeightTest(ClinicTestCase):
    def setUp(self) -> None:
        fixtures.ready_clinic(self)
        self.pat.weights.update(measured_on=timezone.localdate() - timedelta(days=90))
        self.draft = fixtures.draft(self)

    def test_a_stale_weight_cannot_be_signed_without_acknowledgement(self) -> None:
        with self.assertRaisesMessage(services.PlanError, "acknowledge_stale_weight:"):
            services.sign_plan(version=self.draft, prescriber=self.paula)
        self.draft.refresh_from_db()
        self.assertFalse(self.draft.is_signed)
        self.assertIsNone(self.draft.stale_weight_acknowledged_at)

    def test_an_acknowledged_stale_weight_is_signed_and_recorded(self) -> None:
        signed = services.sign_plan(
            version=self.draft, prescriber=self.paula, acknowledge_stale_weight=True
        )
        self.assertEqual(signed.stale_weight_acknowledged_at, signed.signed_at)
        event = AuditEvent.objects.get(
            object_id=str(signed.pk), action="sign", object_type__icontains="planversion"
        )
        self.assertTrue(event.detail["stale_weight_acknowledged"])

    def test_the_page_asks_for_the_acknowledgement(self) -> None:
        self.login(self.paula)
        page = self.client.get(reverse("protocols:patient_plans", args=[self.pat.pk]))
        self.assertContains(page, 'name="acknowledge_stale_weight"')
        self.client.post(reverse("protocols:sign", args=[self.draft.pk]))
        self.draft.refresh_from_db()
        self.assertFalse(self.draft.is_signed)
        self.client.post(
            reverse("protocols:sign", args=[self.draft.pk]), {"acknowledge_stale_weight": "on"}
        )
        self.draft.refresh_from_db()
        self.assertTrue(self.draft.is_signed)
