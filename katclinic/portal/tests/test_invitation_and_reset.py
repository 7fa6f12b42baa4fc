from datetime import timedelta

import pyotp
from django.contrib.sessions.models import Session
from django.core import mail
from django.utils import timezone

from katclinic.accounts.models import TotpDevice, User, UserSession
from katclinic.audit.models import AuditEvent
from katclinic.portal.models import PortalLink
from katclinic.portal.tests.test_sign_in_links import token_from_last_email
from katclinic.testing import ClinicTestCase

NEW_PASSWORD = "a lighthouse keeps its lamp"  # noqa: S105 - test value


class InvitationTest(ClinicTestCase):
    def setUp(self) -> None:
        self.newbie = self.make_patient(
            self.clinic, "Nia", "Newman", "K000009", email="nia@example.org"
        )

    def test_front_desk_invites_a_patient_who_sets_a_password_then_signs_in(self) -> None:
        self.login(self.alice)
        response = self.client.post(
            f"/portal/patients/{self.newbie.pk}/invite/", {"email": "Nia@Example.org"}
        )
        self.assertRedirects(
            response, f"/portal/patients/{self.newbie.pk}/invite/", fetch_redirect_response=False
        )
        user = User.objects.get(patient=self.newbie)
        self.assertEqual(
            (user.email, user.kind, user.has_usable_password()),
            ("nia@example.org", "patient", False),
        )
        self.assertEqual(mail.outbox[0].to, ["nia@example.org"])
        self.assertTrue(
            AuditEvent.objects.filter(
                action="create", object_type="account", patient_id=self.newbie.pk
            ).exists()
        )
        link = PortalLink.objects.get(user=user)
        self.assertEqual(link.expires_at - link.created_at, timedelta(hours=72))

        self.client.logout()
        url = f"/portal/set-password/{token_from_last_email()}/"
        self.assertContains(self.client.get(url), "Welcome: choose your password")
        response = self.client.post(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        self.assertRedirects(response, "/accounts/login/", fetch_redirect_response=False)
        self.assertNotIn("_auth_user_id", self.client.session, "setting a password signs nobody in")
        self.assertEqual(
            self.client.post(url, {"password": "x" * 20, "confirm": "x" * 20}).status_code, 410
        )
        user.refresh_from_db()
        self.assertTrue(user.check_password(NEW_PASSWORD))

        self.client.post("/accounts/login/", {"email": "nia@example.org", "password": NEW_PASSWORD})
        self.assertEqual(self.client.get("/accounts/second-factor/")["Location"], "/")
        self.assertRedirects(self.client.get("/"), "/portal/", fetch_redirect_response=False)
        self.assertEqual(self.client.get(f"/portal/{self.newbie.pk}/").status_code, 200)

    def test_a_weak_password_is_refused_with_a_field_error_and_the_link_kept(self) -> None:
        self.login(self.alice)
        self.client.post(f"/portal/patients/{self.newbie.pk}/invite/", {"email": "nia@example.org"})
        self.client.logout()
        url = f"/portal/set-password/{token_from_last_email()}/"
        response = self.client.post(url, {"password": "password", "confirm": "password"})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, 'aria-invalid="true"', status_code=400)
        self.assertIsNone(PortalLink.objects.get().used_at)
        self.assertFalse(User.objects.get(email="nia@example.org").has_usable_password())

    def test_an_email_already_in_use_is_refused_and_nothing_created(self) -> None:
        self.login(self.alice)
        response = self.client.post(
            f"/portal/patients/{self.newbie.pk}/invite/", {"email": "pat@example.org"}
        )
        self.assertContains(response, "Another account already uses", status_code=400)
        self.newbie.refresh_from_db()
        self.assertIsNone(self.newbie.user_id)
        self.assertEqual(len(mail.outbox), 0)

    def test_a_therapist_cannot_invite(self) -> None:
        self.login(self.tara)
        response = self.client.post(
            f"/portal/patients/{self.newbie.pk}/invite/", {"email": "nia@example.org"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(User.objects.filter(email="nia@example.org").exists())

    def test_another_clinic_cannot_invite_our_patient(self) -> None:
        self.login(self.oscar)
        response = self.client.post(
            f"/portal/patients/{self.newbie.pk}/invite/", {"email": "nia@example.org"}
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(User.objects.filter(email="nia@example.org").exists())

    def test_an_expired_invitation_can_be_sent_again(self) -> None:
        self.login(self.alice)
        self.client.post(f"/portal/patients/{self.newbie.pk}/invite/", {"email": "nia@example.org"})
        first = token_from_last_email()
        self.client.post(f"/portal/patients/{self.newbie.pk}/invite/")
        self.assertEqual(len(mail.outbox), 2)
        self.client.logout()
        self.assertEqual(self.client.get(f"/portal/set-password/{first}/").status_code, 410)
        self.assertEqual(
            self.client.get(f"/portal/set-password/{token_from_last_email()}/").status_code, 200
        )


class PasswordResetTest(ClinicTestCase):
    def reset(self) -> None:
        self.client.post("/portal/reset/", {"email": "pat@example.org"})
        url = f"/portal/set-password/{token_from_last_email()}/"
        response = self.client.post(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        self.assertRedirects(response, "/accounts/login/", fetch_redirect_response=False)

    def test_a_reset_ends_every_session_and_signs_nobody_in(self) -> None:
        phone = self.client_class()
        phone.force_login(self.pat_user)
        key = phone.session.session_key or ""
        UserSession.objects.create(user=self.pat_user, session_key=key)
        self.reset()
        self.assertFalse(UserSession.objects.filter(user=self.pat_user).exists())
        self.assertFalse(Session.objects.filter(session_key=key).exists())
        self.pat_user.refresh_from_db()
        self.assertTrue(self.pat_user.check_password(NEW_PASSWORD))

    def test_after_a_reset_the_second_factor_is_still_required(self) -> None:
        device = TotpDevice.objects.create(
            user=self.pat_user, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
        self.reset()
        self.client.post("/accounts/login/", {"email": "pat@example.org", "password": NEW_PASSWORD})
        self.assertRedirects(self.client.get(f"/portal/{self.pat.pk}/"), "/accounts/second-factor/")
        self.assertEqual(self.client.get("/accounts/second-factor/").status_code, 200)
        self.client.post("/accounts/second-factor/", {"code": pyotp.TOTP(device.secret).now()})
        self.assertEqual(self.client.get(f"/portal/{self.pat.pk}/").status_code, 200)

    def test_a_reset_link_cannot_be_used_as_a_sign_in_link(self) -> None:
        self.client.post("/portal/reset/", {"email": "pat@example.org"})
        raw = token_from_last_email()
        self.assertEqual(self.client.post(f"/portal/sign-in-link/{raw}/").status_code, 410)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_staff_cannot_reset_through_the_portal(self) -> None:
        self.client.post("/portal/reset/", {"email": "paula@example.org"})
        self.assertEqual(len(mail.outbox), 0)
        self.assertFalse(PortalLink.objects.exists())
