"""The pre-dose gate asks the insurance app whether an insured esketamine session has a valid
prior authorization: a soft stop when it has none. Real sessions, real authorizations."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from katclinic.clinics.registry import set_setting
from katclinic.dosing import services as dosing
from katclinic.dosing.models import DosingSession, GateCheck
from katclinic.dosing.services import DosingError
from katclinic.dosing.statemachine import SessionState as S
from katclinic.dosing.tests import factories as d
from katclinic.insurance.models import PriorAuthorization
from katclinic.insurance.tests import factories as f
from katclinic.testing import ClinicTestCase


class AuthorizationGateTest(ClinicTestCase):
    def checked_in(self, key: str = "esketamine_trd") -> DosingSession:
        d.consent(self.pat, self.nick)
        sess = d.session(self.pat, d.signed_plan(self.pat, self.paula, key), self.nick)
        return dosing.transition(session=sess, to=S.CHECKED_IN, by=self.nick)

    def gate(self, sess: DosingSession) -> dict[str, GateCheck]:
        d.pre_dose(sess, self.nick)
        return {c.key: c for c in dosing.latest_gate(sess)}

    def insured(self, **auth: object) -> PriorAuthorization | None:
        cover = f.coverage(
            self.pat, self.alice, valid_from=timezone.localdate() - timedelta(days=90)
        )
        if auth.pop("none", False):
            return None
        today = timezone.localdate()
        values = {"valid_from": today - timedelta(days=30), "valid_to": today + timedelta(days=60)}
        return f.authorization(cover, self.alice, **(values | auth))

    def test_a_valid_authorization_passes(self) -> None:
        self.insured()
        check = self.gate(self.checked_in())["prior_authorization"]
        self.assertEqual((check.result, check.stop), ("pass", "soft"))
        self.assertIn("PA-1001 covers this session", check.reason)

    def test_removing_the_authorization_gives_a_soft_stop_a_prescriber_may_override(self) -> None:
        auth = self.insured()
        sess = self.checked_in()
        self.assertEqual(self.gate(sess)["prior_authorization"].result, "pass")
        assert auth is not None
        auth.delete()
        check = self.gate(sess)["prior_authorization"]
        self.assertEqual((check.result, check.stop), ("fail", "soft"))
        self.assertIn("Acme Health Plan: no prior authorization on file", check.reason)
        with self.assertRaisesMessage(DosingError, "Dosing is blocked by"):
            dosing.start_dosing(session=sess, by=self.nick)
        self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.PRE_DOSE_CHECKS)
        dosing.override_soft_stop(check=check, by=self.paula, reason="Payer confirmed by phone")
        dosing.start_dosing(session=sess, by=self.nick)
        self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.DOSING)

    def test_an_authorization_for_s0013_does_not_cover_a_j0013_session(self) -> None:
        self.insured(codes="S0013, G2083")
        check = self.gate(self.checked_in())["prior_authorization"]
        self.assertEqual(check.result, "fail")
        self.assertIn("names S0013; sessions from then on bill J0013", check.reason)

    def test_expired_denied_or_used_up_authorizations_do_not_count(self) -> None:
        today = timezone.localdate()
        auth = self.insured(
            valid_from=today - timedelta(days=90), valid_to=today - timedelta(days=1)
        )
        assert auth is not None
        check = self.gate(self.checked_in())["prior_authorization"]
        self.assertEqual(check.result, "fail")
        self.assertIn("outside the authorization's approved dates", check.reason)

    def test_no_coverage_means_no_check(self) -> None:
        checks = self.gate(self.checked_in())
        self.assertNotIn("prior_authorization", checks)

    def test_the_clinic_can_turn_the_check_off(self) -> None:
        self.insured(none=True)
        set_setting(
            clinic=self.clinic,
            key="insurance.authorization_soft_stop",
            raw=False,
            by=self.adam,
            reason="specialty pharmacy handles it",
        )
        self.assertNotIn("prior_authorization", self.gate(self.checked_in()))

    def test_an_iv_session_needs_no_authorization(self) -> None:
        self.insured(none=True)
        self.assertNotIn("prior_authorization", self.gate(self.checked_in("iv_ketamine_elektd")))
