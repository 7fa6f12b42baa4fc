from datetime import timedelta
from typing import Any
from unittest import mock

import pyotp
from django.contrib.auth.hashers import identify_hasher, make_password
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

from katclinic.accounts import services
from katclinic.accounts.models import LoginFailure, RecoveryCode, TotpDevice, User, UserSession
from katclinic.audit.models import Action, AuditEvent
from katclinic.testing import PASSWORD, ClinicTestCase


class SignInTestCase(ClinicTestCase):
    def enrol(self, user: User) -> TotpDevice:
        return TotpDevice.objects.create(
            user=user, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )

    def password_step(self, email: str, password: str = PASSWORD) -> Any:
        response = self.client.post("/accounts/login/", {"email": email, "password": password})
        return response


class PasswordStepTest(SignInTestCase):
    def test_staff_must_pass_a_second_factor_before_any_page(self) -> None:
        self.enrol(self.nick)
        response = self.password_step("nick@example.org")
        self.assertRedirects(response, "/accounts/second-factor/", fetch_redirect_response=False)
        response = self.client.get("/patients/")
        self.assertRedirects(response, "/accounts/second-factor/", fetch_redirect_response=False)

    def test_staff_without_an_authenticator_must_enrol(self) -> None:
        self.password_step("nick@example.org")
        response = self.client.get("/accounts/second-factor/")
        self.assertRedirects(
            response, "/accounts/second-factor/setup/", fetch_redirect_response=False
        )

    def test_wrong_password_is_refused_and_recorded(self) -> None:
        response = self.password_step("nick@example.org", "not the password at all")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "do not match", status_code=400)
        self.assertNotIn("_auth_user_id", self.client.session)
        event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
        self.assertEqual(event.object_id, "nick@example.org")
        self.assertEqual(event.outcome, "failure")

    def test_account_locks_after_repeated_failures(self) -> None:
        for _ in range(5):
            self.password_step("nick@example.org", "wrong guess number")
        response = self.password_step("nick@example.org")  # the right password, too late
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Too many failed attempts", status_code=400)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_lockout_ends_after_the_lockout_period(self) -> None:
        for _ in range(5):
            self.password_step("nick@example.org", "wrong guess number")
        later = timezone.now() + timedelta(minutes=16)
        with mock.patch("django.utils.timezone.now", return_value=later):
            response = self.password_step("nick@example.org")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.client.session["_auth_user_id"], str(self.nick.pk))

    def test_sign_in_is_recorded_once(self) -> None:
        self.enrol(self.nick)
        self.password_step("nick@example.org")
        self.assertEqual(AuditEvent.objects.filter(action=Action.LOGIN, user=self.nick).count(), 1)

    def test_patient_without_authenticator_needs_no_second_factor(self) -> None:
        response = self.password_step("pat@example.org")
        self.assertEqual(response.status_code, 302)
        response = self.client.get("/accounts/second-factor/")
        self.assertEqual(response.status_code, 302)
        self.assertTrue(self.client.session[services.OTP_OK])


class SecondFactorTest(SignInTestCase):
    def test_a_correct_code_completes_sign_in(self) -> None:
        device = self.enrol(self.nick)
        self.password_step("nick@example.org")
        response = self.client.post(
            "/accounts/second-factor/", {"code": pyotp.TOTP(device.secret).now()}
        )
        self.assertEqual(response.status_code, 302)
        self.assertTrue(self.client.session[services.OTP_OK])
        self.assertContains(self.client.get("/patients/"), self.pat.last_name)

    def test_a_code_cannot_be_used_twice(self) -> None:
        device = self.enrol(self.nick)
        code = pyotp.TOTP(device.secret).now()
        self.password_step("nick@example.org")
        self.client.post("/accounts/second-factor/", {"code": code})
        self.client.logout()
        self.password_step("nick@example.org")
        response = self.client.post("/accounts/second-factor/", {"code": code})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.client.session[services.OTP_OK])

    def test_wrong_codes_are_refused(self) -> None:
        self.enrol(self.nick)
        self.password_step("nick@example.org")
        response = self.client.post("/accounts/second-factor/", {"code": "000000"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.client.session.get(services.OTP_OK, False))
        self.assertRedirects(
            self.client.get("/patients/"), "/accounts/second-factor/", fetch_redirect_response=False
        )

    def test_enrolment_gives_single_use_recovery_codes(self) -> None:
        self.password_step("nick@example.org")
        self.client.get("/accounts/second-factor/setup/")
        secret = self.client.session["totp_setup_secret"]
        response = self.client.post(
            "/accounts/second-factor/setup/", {"code": pyotp.TOTP(secret).now()}
        )
        codes = response.context["codes"]
        self.assertEqual(len(codes), 10)
        self.assertEqual(
            RecoveryCode.objects.filter(user=self.nick, used_at__isnull=True).count(), 10
        )
        self.client.logout()
        self.password_step("nick@example.org")
        self.assertEqual(
            self.client.post("/accounts/second-factor/", {"code": codes[0]}).status_code, 302
        )
        self.client.logout()
        self.password_step("nick@example.org")
        self.assertEqual(
            self.client.post("/accounts/second-factor/", {"code": codes[0]}).status_code, 400
        )

    def test_a_recovery_code_made_only_of_digits_still_works(self) -> None:
        self.enrol(self.nick)
        RecoveryCode.objects.create(user=self.nick, code_hash=make_password("1234567890"))
        self.password_step("nick@example.org")
        response = self.client.post("/accounts/second-factor/", {"code": "1234567890"})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(RecoveryCode.objects.get(user=self.nick).used_at)

    def test_enrolment_refuses_a_wrong_code_and_enrols_nothing(self) -> None:
        self.password_step("nick@example.org")
        self.client.get("/accounts/second-factor/setup/")
        response = self.client.post("/accounts/second-factor/setup/", {"code": "123456"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(
            TotpDevice.objects.filter(user=self.nick, confirmed_at__isnull=False).exists()
        )

    @override_settings(DEMO_MODE=False)
    def test_demo_code_is_not_shown_outside_demo_mode(self) -> None:
        self.nick.is_demo = True
        self.nick.save()
        self.enrol(self.nick)
        self.password_step("nick@example.org")
        response = self.client.get("/accounts/second-factor/")
        self.assertNotContains(response, "demo-code")

    @override_settings(DEMO_MODE=True)
    def test_demo_code_is_shown_for_demo_accounts_in_demo_mode(self) -> None:
        self.nick.is_demo = True
        self.nick.save()
        device = self.enrol(self.nick)
        self.password_step("nick@example.org")
        response = self.client.get("/accounts/second-factor/")
        self.assertContains(response, pyotp.TOTP(device.secret).now())

    @override_settings(DEMO_MODE=True)
    def test_demo_code_is_never_shown_for_real_accounts(self) -> None:
        self.enrol(self.nick)
        self.password_step("nick@example.org")
        self.assertNotContains(self.client.get("/accounts/second-factor/"), "demo-code")


class SessionLifetimeTest(SignInTestCase):
    def test_staff_session_ends_after_idle_timeout(self) -> None:
        self.login(self.nick)
        self.assertEqual(self.client.get("/patients/").status_code, 200)
        later = timezone.now() + timedelta(minutes=16)
        with mock.patch("django.utils.timezone.now", return_value=later):
            response = self.client.get("/patients/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_activity_keeps_a_session_alive_within_the_idle_limit(self) -> None:
        self.login(self.nick)
        start = timezone.now()
        for minutes in (10, 20, 30):
            with mock.patch(
                "django.utils.timezone.now", return_value=start + timedelta(minutes=minutes)
            ):
                self.assertEqual(self.client.get("/patients/").status_code, 200)
        self.assertEqual(self.client.session["_auth_user_id"], str(self.nick.pk))

    def test_session_ends_after_absolute_lifetime_despite_activity(self) -> None:
        self.login(self.nick)
        start = timezone.now()
        for minutes in range(10, 12 * 60, 10):
            with mock.patch(
                "django.utils.timezone.now", return_value=start + timedelta(minutes=minutes)
            ):
                self.client.get("/patients/")
        with mock.patch(
            "django.utils.timezone.now", return_value=start + timedelta(hours=12, minutes=5)
        ):
            response = self.client.get("/patients/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_logout_deletes_the_session_on_the_server(self) -> None:
        self.enrol(self.nick)
        self.password_step("nick@example.org")
        key = self.client.session.session_key
        self.client.post("/accounts/logout/")
        self.assertFalse(Session.objects.filter(session_key=key).exists())
        self.assertEqual(AuditEvent.objects.filter(action=Action.LOGOUT, user=self.nick).count(), 1)

    def test_deactivation_ends_every_session_of_the_user(self) -> None:
        self.enrol(self.nick)
        self.password_step("nick@example.org")
        other = self.client_class()
        other.post("/accounts/login/", {"email": "nick@example.org", "password": PASSWORD})
        self.assertEqual(UserSession.objects.filter(user=self.nick).count(), 2)
        services.deactivate_user(user=self.nick, by=self.adam)
        self.assertEqual(UserSession.objects.filter(user=self.nick).count(), 0)
        self.assertEqual(Session.objects.count(), 0)
        self.assertEqual(self.client.get("/patients/").status_code, 302)


class PasswordPolicyTest(SignInTestCase):
    @override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
    def test_passwords_are_hashed_with_argon2(self) -> None:
        self.nick.set_password("a long and memorable passphrase")
        self.nick.save()
        self.assertEqual(identify_hasher(self.nick.password).algorithm, "argon2")

    def test_long_passphrases_are_accepted_and_common_passwords_refused(self) -> None:
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        validate_password("the quiet river runs past the old mill at dawn " * 2, self.nick)
        with self.assertRaises(ValidationError):
            validate_password("password1234", self.nick)
        with self.assertRaises(ValidationError):
            validate_password("x" * 300, self.nick)

    def test_failures_are_kept_per_account(self) -> None:
        self.password_step("nick@example.org", "wrong guess number")
        self.assertEqual(LoginFailure.objects.filter(email="nick@example.org").count(), 1)


class BackgroundRefreshTest(SignInTestCase):
    def test_automatic_refreshes_do_not_keep_a_session_alive(self) -> None:
        self.login(self.nick)
        start = timezone.now()
        for minutes in (5, 10, 14):
            with mock.patch(
                "django.utils.timezone.now", return_value=start + timedelta(minutes=minutes)
            ):
                self.client.get("/patients/", headers={"X-Background-Refresh": "1"})
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(minutes=16)):
            response = self.client.get("/patients/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])
        self.assertNotIn("_auth_user_id", self.client.session)
