"""Each chair on the staff floor board opens its session; the wall display links nowhere."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from katclinic.dosing import display, services
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase


class BoardLinksTest(ClinicTestCase):
    def setUp(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        self.sess = f.ready_to_dose(
            self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=10)
        )
        services.record_administration(
            session=self.sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=5),
            by=self.nick,
        )

    def test_a_chair_card_opens_the_session(self) -> None:
        self.login(self.nick)
        url = reverse("dosing:session", args=[self.sess.pk])
        for name in ("dosing:board", "dosing:board_rows"):
            with self.subTest(page=name):
                self.assertContains(self.client.get(reverse(name)), f'href="{url}"')

    def test_the_wall_display_links_to_no_session(self) -> None:
        _, raw = display.issue(clinic=self.clinic, label="Wall", by=self.nick)
        self.client.logout()
        response = self.client.get(reverse("dosing:display", args=[raw]))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, reverse("dosing:session", args=[self.sess.pk]))
