"""Display links: the board on a wall screen, initials only, refused once revoked, and
opening nothing but the board."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from katclinic.api.models import hash_token
from katclinic.audit.models import AuditEvent
from katclinic.dosing import display, services
from katclinic.dosing.models import BoardDisplay
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase, shown_text


class DisplayLinkTest(ClinicTestCase):
    def setUp(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        sess = f.ready_to_dose(self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=10))
        services.record_administration(
            session=sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=5),
            by=self.nick,
        )
        self.issued, self.raw = display.issue(clinic=self.clinic, label="Wall", by=self.nick)

    def test_the_display_shows_initials_only_without_a_sign_in(self) -> None:
        for name in ("dosing:display", "dosing:display_rows"):
            response = self.client.get(reverse(name, args=[self.raw]))
            self.assertContains(response, "Chair 1 · PD")
            for private in ("Pat Doe", "Doe", "K000001", "1985"):
                self.assertNotContains(response, private)

    def test_only_the_hash_of_the_token_is_stored(self) -> None:
        self.issued.refresh_from_db()
        self.assertEqual(self.issued.token_hash, hash_token(self.raw))
        self.assertFalse(BoardDisplay.objects.filter(token_hash=self.raw).exists())

    def test_after_revocation_the_display_is_refused(self) -> None:
        self.login(self.adam)
        self.client.post(reverse("dosing:display_revoke", args=[self.issued.pk]))
        self.issued.refresh_from_db()
        self.assertEqual(self.issued.revoked_by, self.adam)
        self.client.logout()
        self.assertEqual(
            self.client.get(reverse("dosing:display", args=[self.raw])).status_code, 404
        )
        rows = self.client.get(reverse("dosing:display_rows", args=[self.raw]))
        self.assertContains(rows, "NOT MONITORING", status_code=286)
        self.assertNotContains(rows, "PD", status_code=286)

    def test_a_made_up_token_opens_nothing(self) -> None:
        response = self.client.get(reverse("dosing:display", args=["not-a-token"]))
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.pat.last_name, shown_text(response))

    def test_the_link_opens_nothing_but_the_board(self) -> None:
        self.client.get(reverse("dosing:display", args=[self.raw]))
        for page in ("/patients/", reverse("dosing:board"), reverse("dosing:board_rows")):
            self.assertEqual(self.client.get(page).status_code, 302, page)
        api = self.client.get(
            reverse("api:patients_list"), headers={"Authorization": f"Bearer {self.raw}"}
        )
        self.assertEqual(api.status_code, 401)
        self.assertNotContains(api, self.pat.mrn, status_code=401)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_a_nurse_issues_a_link_it_is_audited_and_an_empty_name_is_refused(self) -> None:
        self.login(self.nick)
        response = self.client.post(reverse("dosing:display_links"), {"label": "Room 2"})
        self.assertContains(response, "/dosing/display/")
        made = BoardDisplay.objects.get(label="Room 2")
        self.assertTrue(AuditEvent.objects.filter(object_id=str(made.pk)).exists())
        refused = self.client.post(reverse("dosing:display_links"), {"label": "  "})
        self.assertContains(refused, "Name the screen", status_code=400)
        self.assertEqual(BoardDisplay.objects.count(), 2)

    def test_a_therapist_cannot_issue_a_link(self) -> None:
        self.login(self.tara)
        response = self.client.post(reverse("dosing:display_links"), {"label": "Room 3"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(BoardDisplay.objects.count(), 1)
