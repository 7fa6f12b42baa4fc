"""A second-factor reset also removes passkeys, tells the person, and is never one's own."""

from __future__ import annotations

import pyotp
from django.core import mail
from django.utils import timezone

from katclinic.accounts.models import Passkey, TotpDevice, User
from katclinic.audit.models import AuditEvent
from katclinic.clinics.models import SecondFactorReset, StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.testing import ClinicTestCase, make_user


class PasskeyResetTest(ClinicTestCase):
    beth: User
    carl: User

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.beth = make_user("beth@example.org", "Beth")
        cls.carl = make_user("carl@example.org", "Carl")
        for admin in (cls.beth, cls.carl):
            StaffMembership.objects.create(user=admin, clinic=cls.clinic, role=Role.ADMIN)

    def enrol(self, user: User) -> None:
        TotpDevice.objects.create(
            user=user, secret=pyotp.random_base32(), confirmed_at=timezone.now()
        )
        Passkey.objects.create(user=user, name="Laptop", credential_id=f"k{user.pk}", public_key="")

    def ask(self, by: User, person: User) -> int:
        self.login(by)
        url = f"/clinic/staff/{person.pk}/second-factor/"
        return self.client.post(url, {"reason": "Lost laptop and phone"}).status_code

    def confirm(self, by: User) -> int:
        reset = SecondFactorReset.objects.get()
        self.login(by)
        with self.captureOnCommitCallbacks(execute=True):
            url = f"/clinic/staff/second-factor/{reset.pk}/confirm/"
            return self.client.post(url).status_code

    def test_a_confirmed_reset_removes_passkeys_and_emails_the_person(self) -> None:
        self.enrol(self.nick)
        self.assertEqual(self.ask(self.adam, self.nick), 302)
        self.assertEqual(self.confirm(self.beth), 302)
        self.assertFalse(Passkey.objects.filter(user=self.nick).exists())
        self.assertFalse(TotpDevice.objects.filter(user=self.nick).exists())
        removed = AuditEvent.objects.get(detail__change="second factor removed")
        self.assertEqual(removed.detail["passkeys_removed"], 1)
        told = [m for m in mail.outbox if m.to == ["nick@example.org"]]
        self.assertEqual(len(told), 1)
        self.assertIn("passkeys", told[0].body)

    def test_an_admin_cannot_ask_for_a_reset_of_their_own_account(self) -> None:
        self.enrol(self.adam)
        self.assertEqual(self.ask(self.adam, self.adam), 400)
        self.assertFalse(SecondFactorReset.objects.exists())
        self.assertTrue(Passkey.objects.filter(user=self.adam).exists())

    def test_a_reset_of_an_admin_needs_another_admin(self) -> None:
        self.enrol(self.beth)
        self.assertEqual(self.ask(self.adam, self.beth), 302)
        # Neither the asker nor the admin being reset may confirm it.
        for who in (self.adam, self.beth):
            self.assertEqual(self.confirm(who), 400)
            self.assertTrue(Passkey.objects.filter(user=self.beth).exists())
        self.assertEqual(mail.outbox, [])
        self.assertEqual(self.confirm(self.carl), 302)
        self.assertFalse(Passkey.objects.filter(user=self.beth).exists())
        self.assertEqual(SecondFactorReset.objects.get().confirmed_by, self.carl)
