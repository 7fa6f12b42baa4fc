"""Each pre-dose check blocks dosing when it fails; soft stops yield only to a prescriber's reason."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from katclinic.dosing import services
from katclinic.dosing.models import Administration, DosingSession, GateCheck
from katclinic.dosing.services import DosingError
from katclinic.dosing.statemachine import SessionState as S
from katclinic.dosing.tests import factories as f
from katclinic.intake.tests.factories import signed_decision
from katclinic.measures.models import Invitation, MeasurementSchedule, SafetyAlert
from katclinic.protocols.models import EligibilityReview, Plan
from katclinic.testing import ClinicTestCase


class GateTest(ClinicTestCase):
    def checked_in(self, *, consent: bool = True, key: str = "esketamine_trd") -> DosingSession:
        if consent:
            f.consent(self.pat, self.nick)
        sess = f.session(self.pat, f.signed_plan(self.pat, self.paula, key), self.nick)
        return services.transition(session=sess, to=S.CHECKED_IN, by=self.nick)

    def gate_after(self, sess: DosingSession, **changes: object) -> dict[str, GateCheck]:
        f.pre_dose(sess, self.nick, **changes)
        return {c.key: c for c in services.latest_gate(sess)}

    def assert_blocked(self, sess: DosingSession, key: str) -> None:
        with self.assertRaisesMessage(DosingError, "Dosing is blocked by"):
            services.start_dosing(session=sess, by=self.nick)
        sess.refresh_from_db()
        self.assertEqual(sess.state, S.PRE_DOSE_CHECKS)

    def assert_hard(self, sess: DosingSession, check: GateCheck) -> None:
        self.assertEqual((check.result, check.stop), ("fail", "hard"))
        self.assert_blocked(sess, check.key)
        with self.assertRaises(DosingError):
            services.override_soft_stop(check=check, by=self.paula, reason="I judge it safe")
        check.refresh_from_db()
        self.assertIsNone(check.overridden_by)

    def test_every_check_passes_for_a_prepared_patient_and_dosing_can_start(self) -> None:
        sess = self.checked_in()
        checks = self.gate_after(sess)
        self.assertEqual({c.result for c in checks.values()}, {"pass"})
        self.assertEqual(
            set(checks) - {"no_open_safety_alert", "eligibility_current"},
            {
                c.key
                for c in f.protocol_version(self.clinic, "esketamine_trd").protocol.pre_dose_checks
            },
        )
        services.start_dosing(session=sess, by=self.nick)
        self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.DOSING)

    def test_missing_consent_is_a_hard_stop(self) -> None:
        sess = self.checked_in(consent=False)
        self.assert_hard(sess, self.gate_after(sess)["consent_current"])

    def test_a_signed_not_eligible_decision_is_a_hard_stop_and_nothing_is_given(self) -> None:
        sess = self.checked_in()
        signed_decision(self.pat, route="intranasal", by=self.paula, decision="not_eligible")
        check = self.gate_after(sess)["eligibility_current"]
        self.assertIn("not eligible", check.reason)
        self.assert_hard(sess, check)
        self.assertFalse(Administration.objects.filter(session=sess).exists())

    def test_needs_review_without_a_plan_reason_is_a_hard_stop(self) -> None:
        sess = self.checked_in()
        signed_decision(self.pat, route="intranasal", by=self.paula, decision="needs_review")
        self.assert_hard(sess, self.gate_after(sess)["eligibility_current"])

    def test_needs_review_passes_with_the_prescribers_reason_on_the_signed_plan(self) -> None:
        sess = self.checked_in()
        signed_decision(self.pat, route="intranasal", by=self.paula, decision="needs_review")
        version = sess.plan.current_version()
        assert version is not None
        EligibilityReview.objects.create(
            clinic=self.clinic, version=version, reason="BP controlled", recorded_by=self.paula
        )
        check = self.gate_after(sess)["eligibility_current"]
        self.assertEqual(check.result, "pass")

    def test_no_screening_is_a_hard_stop_and_a_newer_eligible_one_clears_it(self) -> None:
        sess = self.checked_in()
        signed_decision(self.pat, route="intranasal", by=self.paula, decision="not_eligible")
        self.assertEqual(self.gate_after(sess)["eligibility_current"].result, "fail")
        signed_decision(self.pat, route="intranasal", by=self.paula, decision="eligible")
        self.assertEqual(self.gate_after(sess)["eligibility_current"].result, "pass")

    def test_an_eligible_decision_for_another_route_does_not_count(self) -> None:
        sess = self.checked_in()
        signed_decision(self.pat, route="intranasal", by=self.paula, decision="not_eligible")
        signed_decision(self.pat, route="iv", by=self.paula, decision="eligible")
        self.assert_hard(sess, self.gate_after(sess)["eligibility_current"])

    def test_an_unsigned_plan_is_a_hard_stop(self) -> None:
        sess = self.checked_in()
        unsigned = Plan.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            protocol_version=sess.plan.protocol_version,
            status="active",
            created_by=self.paula,
        )
        DosingSession.objects.filter(pk=sess.pk).update(plan=unsigned)
        sess.refresh_from_db()
        self.assert_hard(sess, self.gate_after(sess)["plan_signed"])

    def test_a_dose_inside_the_minimum_interval_is_a_hard_stop(self) -> None:
        earlier = f.ready_to_dose(self.pat, self.paula, self.nick, checked_ago=timedelta(hours=21))
        lot = f.stock(self.clinic, self.nick)
        services.record_administration(
            session=earlier,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(hours=20),
            late_entry_reason="Entered from the paper record after a power cut.",
            by=self.nick,
        )
        sess = self.checked_in()
        check = self.gate_after(sess)["interval_respected"]
        self.assertIn("the protocol needs 48.0 h", check.reason)
        self.assert_hard(sess, check)

    def test_high_blood_pressure_is_a_soft_stop_a_prescriber_overrides_with_a_reason(self) -> None:
        sess = self.checked_in()
        check = self.gate_after(
            sess, vitals={"systolic": 150, "diastolic": 85, "heart_rate": 70, "spo2": 98}
        )["vitals_within_limits"]
        self.assertEqual((check.result, check.stop), ("fail", "soft"))
        self.assert_blocked(sess, check.key)
        with self.assertRaisesMessage(DosingError, "Only a prescriber"):
            services.override_soft_stop(check=check, by=self.nick, reason="Looks fine")
        with self.assertRaisesMessage(DosingError, "written reason"):
            services.override_soft_stop(check=check, by=self.paula, reason="  ")
        services.override_soft_stop(
            check=check, by=self.paula, reason="White-coat rise; manual recheck 136/86"
        )
        check.refresh_from_db()
        self.assertEqual(
            (check.overridden_by, check.override_reason),
            (self.paula, "White-coat rise; manual recheck 136/86"),
        )
        self.assertIsNotNone(check.overridden_at)
        services.start_dosing(session=sess, by=self.nick)
        self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.DOSING)

    def test_unanswered_pre_session_questionnaires_are_a_soft_stop(self) -> None:
        sess = self.checked_in()
        schedule = MeasurementSchedule.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            instrument_key="phq9",
            rule="pre_session",
            created_by=self.nick,
        )
        Invitation.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            instrument_key="phq9",
            schedule=schedule,
            due_at=sess.scheduled_for - timedelta(hours=24),
            expires_at=sess.scheduled_for,
        )
        check = self.gate_after(sess, questionnaires_confirmed=False)["questionnaires_done"]
        self.assertEqual((check.result, check.stop), ("fail", "soft"))
        self.assertIn("PHQ9", check.reason)
        self.assert_blocked(sess, check.key)
        services.override_soft_stop(
            check=check, by=self.paula, reason="Completed on paper, score 9"
        )
        services.start_dosing(session=sess, by=self.nick)

    def test_an_open_safety_alert_is_a_hard_stop(self) -> None:
        SafetyAlert.objects.create(
            clinic=self.clinic, patient=self.pat, kind="phq9_item9", reason="item 9 = 1"
        )
        sess = self.checked_in()
        self.assert_hard(sess, self.gate_after(sess)["no_open_safety_alert"])

    def test_eating_an_hour_before_is_a_soft_stop(self) -> None:
        sess = self.checked_in()
        check = self.gate_after(sess, last_food_at=timezone.now() - timedelta(hours=1))["fasting"]
        self.assertEqual((check.result, check.stop), ("fail", "soft"))
        self.assert_blocked(sess, check.key)
        services.override_soft_stop(check=check, by=self.paula, reason="Small snack only")
        services.start_dosing(session=sess, by=self.nick)

    def test_no_escort_or_no_agreement_not_to_drive_is_a_hard_stop(self) -> None:
        sess = self.checked_in()
        self.assert_hard(sess, self.gate_after(sess, no_driving_agreed=False)["escort_confirmed"])

    def test_unknown_pregnancy_status_is_a_hard_stop(self) -> None:
        sess = self.checked_in()
        self.assert_hard(
            sess, self.gate_after(sess, pregnancy_status="unknown")["pregnancy_status"]
        )

    def test_pregnancy_does_not_apply_by_default_to_a_patient_born_male(self) -> None:
        self.pat.sex_at_birth = "male"
        self.pat.save()
        sess = self.checked_in()
        self.assertEqual(sess.pregnancy_status, "not_applicable")

    def test_no_rems_enrolment_is_a_hard_stop_for_esketamine(self) -> None:
        sess = self.checked_in()
        self.assert_hard(sess, self.gate_after(sess, rems_enrolled_on=None)["rems_enrolled"])

    def test_rems_does_not_apply_to_iv_ketamine(self) -> None:
        sess = self.checked_in(key="iv_ketamine_elektd")
        checks = self.gate_after(sess, rems_enrolled_on=None)
        self.assertNotIn("rems_enrolled", checks)

    def test_medications_not_reviewed_is_a_hard_stop(self) -> None:
        sess = self.checked_in()
        self.assert_hard(
            sess, self.gate_after(sess, meds_reviewed=False)["concomitant_meds_reviewed"]
        )

    def test_only_the_latest_run_of_checks_can_be_overridden(self) -> None:
        sess = self.checked_in()
        old = self.gate_after(
            sess, vitals={"systolic": 150, "diastolic": 85, "heart_rate": 70, "spo2": 98}
        )["vitals_within_limits"]
        self.gate_after(sess)
        with self.assertRaisesMessage(DosingError, "latest run"):
            services.override_soft_stop(check=old, by=self.paula, reason="Stale")

    def test_every_transition_is_recorded_and_invalid_ones_refused(self) -> None:
        sess = self.checked_in()
        with self.assertRaises(DosingError):
            services.transition(session=sess, to=S.DISCHARGED, by=self.nick)
        with self.assertRaisesMessage(DosingError, "written reason"):
            services.transition(session=sess, to=S.STOPPED_EARLY, by=self.nick)
        services.transition(
            session=sess, to=S.STOPPED_EARLY, by=self.nick, reason="Felt unwell on arrival"
        )
        events = list(sess.events.values_list("from_state", "to_state", "by__email", "reason"))
        self.assertEqual(
            events,
            [
                ("", "scheduled", "nick@example.org", ""),
                ("scheduled", "checked_in", "nick@example.org", ""),
                ("checked_in", "stopped_early", "nick@example.org", "Felt unwell on arrival"),
            ],
        )


class MedicationFlagTest(ClinicTestCase):
    def test_the_medication_check_names_each_flagged_medication(self) -> None:
        from katclinic.patients.models import Medication

        Medication.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            recorded_by=self.paula,
            name="Lorazepam",
            is_benzodiazepine=True,
        )
        Medication.objects.create(
            clinic=self.clinic, patient=self.pat, recorded_by=self.paula, name="Sertraline"
        )
        f.consent(self.pat, self.nick)
        sess = f.session(self.pat, f.signed_plan(self.pat, self.paula), self.nick)
        services.transition(session=sess, to=S.CHECKED_IN, by=self.nick)
        checks = {c.key: c for c in f.pre_dose(sess, self.nick, meds_reviewed=False)}
        self.assertEqual(
            checks["concomitant_meds_reviewed"].reason,
            "Not reviewed; flagged: Lorazepam (benzodiazepine).",
        )
        self.assertEqual(checks["concomitant_meds_reviewed"].result, "fail")
