import re
from datetime import timedelta

import pyotp
from django.core import mail
from django.utils import timezone

from katclinic.accounts.models import TotpDevice
from katclinic.audit.models import AuditEvent
from katclinic.portal import services
from katclinic.portal.models import LinkPurpose, LinkRequest, PortalLink
from katclinic.testing import ClinicTestCase


def without_tokens(html: str) -> str:
    """The page without its per-response CSRF token (64 characters, masked differently each time)."""
    return re.sub(r"[A-Za-z0-9]{64}", "", html)


def token_from_last_email() -> str:
    body = mail.outbox[-1].body
    url = next(word for word in body.split() if "/portal/" in word)
    return url.rstrip("/").rsplit("/", 1)[1]


class SignInLinkTest(ClinicTestCase):
    def ask(self, email: str, url: str = "/portal/sign-in-link/") -> str:
        response = self.client.post(url, {"email": email})
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_an_active_patient_gets_a_link_and_the_answer_reveals_nothing(self) -> None:
        known = self.ask("PAT@example.org")
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["pat@example.org"])
        unknown = self.ask("nobody@example.org")
        staff = self.ask("paula@example.org")
        self.assertEqual(len(mail.outbox), 1, "no link for unknown or staff addresses")
        self.assertEqual(without_tokens(known), without_tokens(unknown))
        self.assertEqual(without_tokens(unknown), without_tokens(staff))

    def test_only_the_hash_of_the_token_is_stored(self) -> None:
        self.ask("pat@example.org")
        raw = token_from_last_email()
        link = PortalLink.objects.get()
        self.assertNotEqual(link.token_hash, raw)
        self.assertEqual(link.token_hash, services.hash_token(raw))
        self.assertEqual(link.expires_at - link.created_at, timedelta(minutes=15))

    def test_the_link_signs_in_once(self) -> None:
        self.ask("pat@example.org")
        url = f"/portal/sign-in-link/{token_from_last_email()}/"
        self.assertEqual(
            self.client.get(url).status_code, 200, "opening the link alone signs nobody in"
        )
        self.assertNotIn("_auth_user_id", self.client.session)
        response = self.client.post(url)
        self.assertRedirects(response, "/accounts/second-factor/", fetch_redirect_response=False)
        self.assertEqual(self.client.get("/accounts/second-factor/")["Location"], "/portal/")
        self.assertEqual(int(self.client.session["_auth_user_id"]), self.pat_user.pk)
        self.client.logout()
        self.assertEqual(self.client.post(url).status_code, 410)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_an_expired_link_does_not_work(self) -> None:
        self.ask("pat@example.org")
        raw = token_from_last_email()
        now = timezone.now()
        PortalLink.objects.update(
            created_at=now - timedelta(minutes=16), expires_at=now - timedelta(minutes=1)
        )
        self.assertEqual(self.client.post(f"/portal/sign-in-link/{raw}/").status_code, 410)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertIsNone(PortalLink.objects.get().used_at)

    def test_a_newer_link_replaces_the_older_one(self) -> None:
        self.ask("pat@example.org")
        first = token_from_last_email()
        self.ask("pat@example.org")
        self.assertEqual(self.client.post(f"/portal/sign-in-link/{first}/").status_code, 410)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertFalse(PortalLink.objects.filter(used_at__isnull=False).exists())

    def test_the_clinic_setting_sets_the_lifetime(self) -> None:
        from katclinic.clinics.models import ClinicSetting

        ClinicSetting.objects.create(
            clinic=self.clinic, key="portal_sign_in_link_minutes", value=5, changed_by=self.adam
        )
        self.ask("pat@example.org")
        link = PortalLink.objects.get()
        self.assertEqual(link.expires_at - link.created_at, timedelta(minutes=5))

    def test_requests_are_rate_limited_per_email(self) -> None:
        for _ in range(services.LINKS_PER_EMAIL_PER_HOUR + 2):
            self.ask("pat@example.org")
        self.assertEqual(len(mail.outbox), services.LINKS_PER_EMAIL_PER_HOUR)
        self.assertEqual(LinkRequest.objects.count(), services.LINKS_PER_EMAIL_PER_HOUR + 2)

    def test_requests_are_rate_limited_per_address(self) -> None:
        for n in range(services.LINKS_PER_IP_PER_HOUR):
            self.ask(f"someone{n}@example.org")
        self.ask("pat@example.org")
        self.assertEqual(len(mail.outbox), 0)

    def test_a_patient_with_an_authenticator_still_needs_the_code_after_the_link(self) -> None:
        device = TotpDevice.objects.create(
            user=self.pat_user, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
        self.ask("pat@example.org")
        self.client.post(f"/portal/sign-in-link/{token_from_last_email()}/")
        self.assertRedirects(self.client.get(f"/portal/{self.pat.pk}/"), "/accounts/second-factor/")
        self.assertEqual(self.client.get("/accounts/second-factor/").status_code, 200)
        self.client.post("/accounts/second-factor/", {"code": pyotp.TOTP(device.secret).now()})
        self.assertEqual(self.client.get(f"/portal/{self.pat.pk}/").status_code, 200)

    def test_a_bad_email_is_refused_with_a_field_error_and_nothing_stored(self) -> None:
        response = self.client.post("/portal/sign-in-link/", {"email": "not an email"})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Enter a valid email address", status_code=400)
        self.assertFalse(LinkRequest.objects.exists())

    def test_sending_a_link_is_audited(self) -> None:
        self.ask("pat@example.org")
        event = AuditEvent.objects.get(object_type="account", action="security")
        self.assertEqual(event.patient_id, self.pat.pk)
        self.assertEqual(event.detail["change"], f"{LinkPurpose.SIGN_IN} link sent")
