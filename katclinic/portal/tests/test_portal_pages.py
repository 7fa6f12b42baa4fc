"""Every portal page: the patient's own record only, one clear heading, labelled fields,
crisis resources, and the home page's cards."""

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from katclinic.athome.tests.factories import prescription
from katclinic.audit.models import AuditEvent
from katclinic.intake.models import ConsentDocument
from katclinic.measures import services as measures
from katclinic.portal.models import JournalEntry
from katclinic.portal.tests import fixtures
from katclinic.testing import ClinicTestCase

PATIENT_PAGES = ["", "progress/", "journal/", "visits/", "record/", "security/"]
CRISIS = "Call the North crisis line on 555-0142, day or night."


class PortalPagesTest(ClinicTestCase):
    def setUp(self) -> None:
        self.clinic.crisis_resources = CRISIS
        self.clinic.save(update_fields=["crisis_resources"])

    def test_a_patient_reaches_only_their_own_pages(self) -> None:
        JournalEntry.objects.create(
            clinic=self.clinic, patient=self.quinn, text="Quinn's private words"
        )
        self.login(self.pat_user)
        for page in PATIENT_PAGES + ["record.pdf", "record.json"]:
            with self.subTest(page=page):
                self.assertIn(self.client.get(f"/portal/{self.pat.pk}/{page}").status_code, (200,))
                self.assertEqual(
                    self.client.get(f"/portal/{self.quinn.pk}/{page}").status_code, 404
                )
                self.assertEqual(
                    self.client.get(f"/portal/{self.stranger.pk}/{page}").status_code, 404
                )
        self.assertNotContains(
            self.client.get(f"/portal/{self.pat.pk}/journal/"), "Quinn's private words"
        )

    def test_staff_get_403_on_patient_pages(self) -> None:
        for user in (self.paula, self.tara, self.alice, self.adam):
            self.login(user)
            for page in PATIENT_PAGES:
                self.assertEqual(
                    self.client.get(f"/portal/{self.pat.pk}/{page}").status_code,
                    403,
                    f"{user} {page}",
                )
        for page in PATIENT_PAGES:
            self.assertDenialsRecorded(f"/portal/{self.pat.pk}/{page}", 4)

    def test_each_page_view_is_audited_once(self) -> None:
        self.login(self.pat_user)
        before = AuditEvent.objects.filter(action="view", patient_id=self.pat.pk).count()
        self.client.get(f"/portal/{self.pat.pk}/")
        self.assertEqual(
            AuditEvent.objects.filter(action="view", patient_id=self.pat.pk).count(), before + 1
        )

    def test_portal_index_leads_each_person_home(self) -> None:
        self.login(self.pat_user)
        self.assertRedirects(
            self.client.get("/portal/"), f"/portal/{self.pat.pk}/", fetch_redirect_response=False
        )
        self.login(self.nick)
        self.assertRedirects(self.client.get("/portal/"), "/", fetch_redirect_response=False)
        self.client.logout()
        self.assertEqual(self.client.get("/portal/")["Location"], "/accounts/login/?next=/portal/")

    def test_every_page_has_one_unique_heading_labelled_fields_and_crisis_help(self) -> None:
        self.login(self.pat_user)
        headings = set()
        for page in PATIENT_PAGES:
            html = self.client.get(f"/portal/{self.pat.pk}/{page}").content.decode()
            h1 = re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)
            self.assertEqual(len(h1), 1, page)
            headings.add(h1[0])
            self.assertIn(CRISIS, html, page)
            self.assertIn('href="#crisis"', html, page)
            for field_id in re.findall(r'<(?:input|textarea|select)[^>]*\bid="([^"]+)"', html):
                self.assertIn(f'for="{field_id}"', html, f"{page}: {field_id} has no label")
        self.assertEqual(len(headings), len(PATIENT_PAGES))
        self.client.logout()
        for url in ("/portal/sign-in-link/", "/portal/reset/"):
            html = self.client.get(url).content.decode()
            self.assertEqual(len(re.findall(r"<h1", html)), 1)
            self.assertIn("local emergency number", html)

    def test_home_shows_the_next_visit_with_its_preparation(self) -> None:
        fixtures.appointment(self, self.pat, days=9)
        fixtures.appointment(self, self.pat, days=2)
        fixtures.appointment(self, self.quinn, days=1)
        self.login(self.pat_user)
        response = self.client.get(f"/portal/{self.pat.pk}/")
        when = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo(self.clinic.timezone))
        self.assertContains(response, f"Dosing session: {when:%A %-d %B at %H:%M}")
        # esketamine_trd's instructions: no food for 2 h, no liquids for 30 min, a ride home.
        self.assertContains(response, "Do not eat for 2 hours")
        self.assertContains(response, "30 minutes")
        self.assertContains(response, "Arrange a ride home")
        self.assertContains(response, "Do not drive until the next day")
        self.assertContains(response, "photo ID")

    def test_home_lists_questionnaires_due_and_consents_to_sign(self) -> None:
        invitation = measures.invite(
            patient=self.pat, instrument_key="phq9", by=self.paula, request=None, channel="portal"
        )
        measures.invite(
            patient=self.quinn, instrument_key="gad7", by=self.paula, request=None, channel="portal"
        )
        document = ConsentDocument.objects.create(
            clinic=self.clinic,
            scope="program",
            version=1,
            title="Treatment consent",
            body="Text",
            effective_on=date(2020, 1, 1),
            created_by=self.paula,
        )
        self.login(self.pat_user)
        response = self.client.get(f"/portal/{self.pat.pk}/")
        self.assertContains(response, "PHQ-9")
        self.assertContains(response, f"/measures/me/answer/{invitation.pk}/")
        self.assertNotContains(response, "GAD-7")
        self.assertContains(response, "Please read and sign: Treatment consent")
        self.assertContains(response, f"/intake/my/{self.pat.pk}/consent/{document.pk}/")

    def test_home_says_plainly_when_nothing_is_due(self) -> None:
        self.login(self.pat_user)
        response = self.client.get(f"/portal/{self.pat.pk}/")
        self.assertContains(response, "You have no visit booked.")
        self.assertContains(response, "No questionnaires are waiting for you.")

    def test_home_shows_its_cards_in_their_fixed_order_with_at_home_only_once_prescribed(
        self,
    ) -> None:
        self.login(self.pat_user)
        headings = re.compile(r'<h2 id="card-([a-z]+)">')
        page = self.client.get(f"/portal/{self.pat.pk}/").content.decode()
        self.assertEqual(
            headings.findall(page), ["appointment", "questionnaires", "consents", "journal"]
        )
        prescription(self.pat, self.paula)
        page = self.client.get(f"/portal/{self.pat.pk}/").content.decode()
        self.assertEqual(
            headings.findall(page),
            ["appointment", "questionnaires", "athome", "consents", "journal"],
        )
