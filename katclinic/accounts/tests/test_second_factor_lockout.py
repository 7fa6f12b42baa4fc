"""Wrong second-factor codes are counted on their own, so knowing the password does not
give an attacker unlimited guesses at the authenticator code (review finding, 2026)."""

import pyotp
from django.core import mail
from django.utils import timezone

from katclinic.accounts.models import FailureStep, LoginFailure, TotpDevice
from katclinic.audit.models import AuditEvent
from katclinic.testing import PASSWORD, ClinicTestCase


def wrong_code(secret: str) -> str:
    """A six-digit code that is none of the codes accepted now (current and adjacent steps)."""
    totp = pyotp.TOTP(secret)
    now = timezone.now().timestamp()
    accepted = {totp.at(now + shift) for shift in (-totp.interval, 0, totp.interval)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in accepted)


class SecondFactorLockoutTest(ClinicTestCase):
    def setUp(self) -> None:
        self.device = TotpDevice.objects.create(
            user=self.nick, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )

    def password_step(self) -> int:
        response = self.client.post(
            "/accounts/login/", {"email": "nick@example.org", "password": PASSWORD}
        )
        return response.status_code

    def guess(self, code: str) -> int:
        return self.client.post("/accounts/second-factor/", {"code": code}).status_code

    def test_a_correct_password_does_not_clear_wrong_codes_and_the_right_code_is_then_refused(
        self,
    ) -> None:
        bad = wrong_code(self.device.secret)
        guesses = 0
        for _ in range(3):  # the attack: sign in again after every few wrong codes
            if self.password_step() != 302:
                break
            for _ in range(2):
                self.guess(bad)
                guesses += 1
        # Today's main cleared these at every correct password; now all five count.
        self.assertEqual(guesses, 6)
        self.assertEqual(LoginFailure.objects.filter(step=FailureStep.SECOND_FACTOR).count(), 5)
        # Locked now: the password step is refused, and so is the right code.
        self.assertEqual(self.password_step(), 400)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_once_locked_even_the_right_code_does_not_sign_in(self) -> None:
        self.assertEqual(self.password_step(), 302)
        bad = wrong_code(self.device.secret)
        for _ in range(4):
            self.assertEqual(self.guess(bad), 400)
        # The fifth wrong code locks the account and ends the half-signed-in session.
        self.assertEqual(self.guess(bad), 302)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertEqual(self.password_step(), 400)
        # Even with a session started before the lockout, the right code is refused.
        self.client.logout()
        self.client.force_login(self.nick)
        right = pyotp.TOTP(self.device.secret).now()
        self.client.post("/accounts/second-factor/", {"code": right})
        self.assertEqual(self.client.get("/patients/").status_code, 302)

    def test_the_clinic_admin_is_told_once_when_the_account_locks(self) -> None:
        self.password_step()
        bad = wrong_code(self.device.secret)
        for _ in range(5):
            self.guess(bad)
        told = [m for m in mail.outbox if "second-factor" in m.subject]
        self.assertEqual(len(told), 1)
        self.assertEqual(told[0].to, ["adam@example.org"])
        self.assertIn("nick@example.org", told[0].body)
        self.assertTrue(
            AuditEvent.objects.filter(
                clinic_id=self.clinic.pk, detail__reason="second factor locked"
            ).exists()
        )

    def test_wrong_codes_from_one_address_lock_that_address_across_accounts(self) -> None:
        for _ in range(20):
            LoginFailure.objects.create(
                email="someone@example.org", ip="127.0.0.1", step=FailureStep.SECOND_FACTOR
            )
        self.assertEqual(self.password_step(), 400)

    def test_a_correct_password_still_clears_its_own_failures(self) -> None:
        LoginFailure.objects.create(email="nick@example.org", ip="10.0.0.9")
        self.assertEqual(self.password_step(), 302)
        self.assertFalse(LoginFailure.objects.filter(step=FailureStep.PASSWORD).exists())
