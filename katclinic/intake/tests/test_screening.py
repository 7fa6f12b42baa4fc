"""Screening, decision support, signing, immutability and who may see or change what."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.intake import screening as screenings
from katclinic.intake.eligibility import ROUTES
from katclinic.intake.models import (
    ROUTE_CHOICES,
    AntidepressantTrial,
    EligibilityDecision,
    Screening,
)
from katclinic.patients.models import Medication, WeightReading
from katclinic.testing import ClinicTestCase, shown_text

CLEAR = dict.fromkeys(screenings.ANSWERED_FACTS, "false")


def trial_rows(*rows: dict[str, Any]) -> dict[str, str]:
    data = {"trials-TOTAL_FORMS": str(len(rows)), "trials-INITIAL_FORMS": "0"}
    for index, row in enumerate(rows):
        data |= {f"trials-{index}-{name}": str(value) for name, value in row.items()}
    return data


FAILED_SERTRALINE = {
    "drug": "Sertraline",
    "max_daily_dose_mg": 150,
    "adequate_dose_mg": 50,
    "weeks_at_dose": 8,
    "adherence": "good",
    "improvement_percent": 10,
    "current_episode": "True",
}
FAILED_VENLAFAXINE = FAILED_SERTRALINE | {
    "drug": "Venlafaxine",
    "max_daily_dose_mg": 225,
    "adequate_dose_mg": 75,
}
SHORT_BUPROPION = FAILED_SERTRALINE | {"drug": "Bupropion", "weeks_at_dose": 3}


class ScreeningTest(ClinicTestCase):
    def setUp(self) -> None:
        WeightReading.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            recorded_by=self.nick,
            measured_on="2026-01-02",
            weight_kg=Decimal("80.0"),
            entered_value=Decimal("80.0"),
            entered_unit="kg",
        )
        Medication.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            recorded_by=self.nick,
            name="Lorazepam",
            is_benzodiazepine=True,
        )

    def post_screening(self, **extra: str) -> Any:
        self.login(self.paula)
        data = (
            {
                "route": "iv",
                "diagnosis": "F33.2 MDD, recurrent, severe",
                "baseline_systolic_mmhg": "158",
                "baseline_diastolic_mmhg": "98",
                "height_cm": "175",
            }
            | CLEAR
            | extra
        )
        data |= trial_rows(FAILED_SERTRALINE, FAILED_VENLAFAXINE, SHORT_BUPROPION)
        return self.client.post(reverse("intake:screening_new", args=[self.pat.pk]), data)

    def test_a_prescriber_records_a_screening_with_trials_weight_bmi_and_medication_flags(
        self,
    ) -> None:
        response = self.post_screening()
        screening = Screening.objects.get()
        self.assertRedirects(response, reverse("intake:screening", args=[screening.pk]))
        self.assertEqual(
            (screening.version, screening.route, screening.weight_kg), (1, "iv", Decimal("80.0"))
        )
        self.assertEqual(screening.bmi, Decimal("26.1"))
        self.assertIs(screening.facts["benzodiazepine"], True)
        self.assertIs(screening.facts["maoi"], False)
        self.assertEqual(AntidepressantTrial.objects.filter(screening=screening).count(), 3)
        self.assertTrue(
            AuditEvent.objects.filter(action="create", object_type="intake.screening").exists()
        )

    def test_raised_baseline_bp_is_flagged_needs_review_with_cited_reasons_and_trd_met(
        self,
    ) -> None:
        self.post_screening()
        page = self.client.get(reverse("intake:screening", args=[Screening.objects.get().pk]))
        assessment = page.context["assessment"]
        self.assertEqual(assessment.suggestion.suggestion, "needs_review")
        keys = [r.rule_key for r in assessment.suggestion.reasons]
        self.assertIn("baseline_systolic_above_limit", keys)
        self.assertIn("baseline_diastolic_above_limit", keys)
        self.assertIn("concomitant_benzodiazepine", keys)
        self.assertTrue(assessment.trd.met)
        self.assertEqual(
            [t.drug for t in assessment.trd.counting_trials], ["Sertraline", "Venlafaxine"]
        )
        self.assertContains(page, "TRD criterion met")
        self.assertContains(page, "Needs review")
        self.assertContains(page, "https://")

    def test_unanswered_facts_are_listed_as_missing(self) -> None:
        self.post_screening(psychosis_history="unknown")
        assessment = screenings.assess(Screening.objects.get())
        self.assertIn("psychosis_history", assessment.suggestion.missing)

    def test_the_bp_limits_are_clinic_settings(self) -> None:
        from katclinic.clinics.registry import set_setting

        set_setting(
            clinic=self.clinic,
            key="intake_baseline_systolic_limit_mmhg",
            raw="160",
            by=self.adam,
            reason="MD sign-off",
        )
        set_setting(
            clinic=self.clinic,
            key="intake_baseline_diastolic_limit_mmhg",
            raw="100",
            by=self.adam,
            reason="MD sign-off",
        )
        self.post_screening()
        keys = [r.rule_key for r in screenings.assess(Screening.objects.get()).suggestion.reasons]
        self.assertNotIn("baseline_systolic_above_limit", keys)

    def sign(self, screening: Screening, decision: str = "needs_review") -> Any:
        return self.client.post(
            reverse("intake:screening_sign", args=[screening.pk]),
            {"decision": decision, "rationale": "BP to be controlled first.", "confirm": "on"},
        )

    def test_the_prescriber_signs_a_decision_that_may_differ_and_it_is_hashed(self) -> None:
        self.post_screening()
        screening = Screening.objects.get()
        response = self.sign(screening, decision="not_eligible")
        self.assertRedirects(response, reverse("intake:screening", args=[screening.pk]))
        decision = EligibilityDecision.objects.get()
        self.assertEqual(
            (decision.suggestion, decision.decision, decision.decided_by),
            ("needs_review", "not_eligible", self.paula),
        )
        self.assertTrue(decision.differs)
        self.assertTrue(screenings.hash_matches(decision))
        self.assertEqual(
            screenings.content_hash(screenings.signed_content(decision)), decision.content_hash
        )
        self.assertEqual(decision.thresholds["intake_baseline_systolic_limit_mmhg"], "140")
        self.assertTrue(decision.trd_met)
        screening.refresh_from_db()
        self.assertTrue(screening.is_signed)
        self.assertTrue(
            AuditEvent.objects.filter(
                action="sign", object_type="intake.eligibilitydecision"
            ).exists()
        )

    def test_signing_needs_a_rationale_and_confirmation(self) -> None:
        self.post_screening()
        screening = Screening.objects.get()
        response = self.client.post(
            reverse("intake:screening_sign", args=[screening.pk]), {"decision": "eligible"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(EligibilityDecision.objects.exists())

    def test_a_signed_screening_cannot_be_edited_through_the_service_the_page_or_the_database(
        self,
    ) -> None:
        self.post_screening()
        screening = Screening.objects.get()
        self.sign(screening)
        screening.refresh_from_db()
        with self.assertRaises(screenings.ScreeningLocked):
            screenings.save_screening(
                patient=self.pat,
                data={"route": "iv", "diagnosis": "x"},
                answers={},
                trials=[],
                by=self.paula,
                screening=screening,
            )
        response = self.client.post(
            reverse("intake:screening_edit", args=[screening.pk]), {"route": "iv", "diagnosis": "x"}
        )
        self.assertEqual(response.status_code, 302)
        with self.assertRaises(screenings.ScreeningLocked):
            screenings.sign_decision(
                screening=screening, decision="eligible", rationale="again", by=self.paula
            )
        for statement in (
            lambda: Screening.objects.filter(pk=screening.pk).update(diagnosis="changed"),
            lambda: AntidepressantTrial.objects.filter(screening=screening).update(drug="changed"),
            lambda: AntidepressantTrial.objects.filter(screening=screening).delete(),
            lambda: EligibilityDecision.objects.update(rationale="changed"),
            lambda: AntidepressantTrial.objects.create(
                clinic=self.clinic,
                screening=screening,
                drug="X",
                max_daily_dose_mg=1,
                weeks_at_dose=1,
                adherence="good",
            ),
        ):
            with self.assertRaises(IntegrityError), transaction.atomic():
                statement()
        screening.refresh_from_db()
        self.assertEqual(screening.diagnosis, "F33.2 MDD, recurrent, severe")
        self.assertEqual(EligibilityDecision.objects.get().rationale, "BP to be controlled first.")
        self.assertTrue(screenings.hash_matches(EligibilityDecision.objects.get()))

    def test_the_hash_detects_a_changed_decision(self) -> None:
        self.post_screening()
        self.sign(Screening.objects.get())
        decision = EligibilityDecision.objects.get()
        decision.decision = "eligible"  # changed in memory only: the database refuses it
        self.assertFalse(screenings.hash_matches(decision))

    def test_a_correction_is_a_new_version_that_keeps_the_signed_one(self) -> None:
        self.post_screening()
        first = Screening.objects.get()
        self.sign(first)
        response = self.client.post(reverse("intake:screening_correct", args=[first.pk]))
        second = Screening.objects.get(version=2)
        self.assertRedirects(response, reverse("intake:screening_edit", args=[second.pk]))
        self.assertEqual(
            (second.supersedes, second.is_signed, second.trials.count()), (first, False, 3)
        )
        first.refresh_from_db()
        self.assertTrue(first.is_signed)
        self.assertEqual(list(Screening.objects.current()), [second])
        self.client.post(reverse("intake:screening_correct", args=[first.pk]))
        self.assertEqual(Screening.objects.count(), 2)


def test_the_route_choices_are_the_routes_the_rules_know() -> None:
    assert tuple(code for code, _ in ROUTE_CHOICES) == ROUTES


class ScreeningAccessTest(ClinicTestCase):
    def setUp(self) -> None:
        self.screening = screenings.save_screening(
            patient=self.pat,
            data={
                "route": "iv",
                "diagnosis": "F33.2 secret detail",
                "baseline_systolic_mmhg": 150,
                "baseline_diastolic_mmhg": 95,
            },
            answers={},
            trials=[],
            by=self.paula,
        )
        screenings.sign_decision(
            screening=self.screening, decision="needs_review", rationale="Check BP", by=self.paula
        )

    def test_a_therapist_sees_the_decision_but_cannot_change_it(self) -> None:
        self.login(self.tara)
        page = self.client.get(reverse("intake:screening", args=[self.screening.pk]))
        self.assertContains(page, "Check BP")
        self.assertNotContains(page, "Start a correction")
        for name in ("screening_correct", "screening_sign"):
            self.assertEqual(
                self.client.post(reverse(f"intake:{name}", args=[self.screening.pk])).status_code,
                403,
            )
        self.assertEqual(
            self.client.get(reverse("intake:screening_new", args=[self.pat.pk])).status_code, 403
        )
        self.assertEqual(Screening.objects.count(), 1)

    def test_front_desk_cannot_see_screening_details(self) -> None:
        self.login(self.alice)
        for url in (
            reverse("intake:screening", args=[self.screening.pk]),
            reverse("intake:chart_tab", args=[self.pat.pk]),
        ):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 403)
            self.assertNotContains(response, "secret detail", status_code=403)

    def test_another_clinics_prescriber_gets_404(self) -> None:
        self.login(self.oscar)
        response = self.client.get(reverse("intake:screening", args=[self.screening.pk]))
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "secret detail", status_code=404)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.pat.last_name, shown_text(response))

    def test_the_chart_tab_lists_screenings_with_decisions_in_one_view_event(self) -> None:
        self.login(self.tara)
        before = AuditEvent.objects.filter(action="view").count()
        response = self.client.get(reverse("intake:chart_tab", args=[self.pat.pk]))
        self.assertContains(response, "Needs review")
        self.assertEqual(AuditEvent.objects.filter(action="view").count(), before + 1)
