"""Words built in Python for patients' pages are in Spanish too, and an answer keeps the
translation it was read in without its score depending on it."""

from __future__ import annotations

from katclinic.measures.instrument_translations import newest
from katclinic.measures.models import Response
from katclinic.measures.tests.helpers import PHQ9_ITEM9, emailed_invitation, form_data
from katclinic.patients.models import Patient
from katclinic.scheduling import selfbook
from katclinic.scheduling.tests import fixtures
from katclinic.testing import ClinicTestCase

# English a Spanish-speaking patient must not meet on these pages.
ENGLISH = [
    "Your next visit",
    "Questionnaires to answer",
    "Consent forms",
    "Your journal",
    "Write in your journal",
    "You have no visit booked.",
    "No entries yet",
    "please answer by",
    "Need help now?",
    "Sign out",
    "Little interest or pleasure",
    "Integration session",
    "Preparation session",
    "Follow-up visit",
    "Show open times",
    "Book this time",
    "Before you write",
    "New message to your care team",
    ">Send<",
    "Subject",
]


class SpanishPagesTest(ClinicTestCase):
    def setUp(self) -> None:
        Patient.objects.filter(pk=self.pat.pk).update(preferred_language="es")
        self.pat.refresh_from_db()
        fixtures.chairs(self)
        self.login(self.pat_user)

    def assert_spanish(self, body: str, *spanish: str) -> None:
        self.assertIn('lang="es"', body)
        for phrase in spanish:
            self.assertIn(phrase, body)
        for phrase in ENGLISH:
            self.assertNotIn(phrase, body)

    def test_portal_home_questionnaire_and_booking_pages(self) -> None:
        invitation, _ = emailed_invitation(self)
        home = self.client.get(f"/portal/{self.pat.pk}/").content.decode()
        self.assert_spanish(
            home, "Su próxima cita", "Cuestionarios por responder", "por favor, responda antes del"
        )
        page = self.client.get(f"/measures/me/answer/{invitation.pk}/").content.decode()
        self.assert_spanish(page, "Poco interés o placer en hacer cosas")
        kinds = selfbook.allowed_kinds(self.clinic)
        self.assertTrue(kinds)
        booking = self.client.get(f"/scheduling/me/{self.pat.pk}/book/", {"kind": kinds[0]})
        self.assertEqual(booking.status_code, 200)
        self.assert_spanish(booking.content.decode(), "Ver horarios disponibles")
        compose = self.client.get(f"/messaging/mine/{self.pat.pk}/new/").content.decode()
        self.assert_spanish(compose, "Mensaje nuevo para su equipo de atención", ">Enviar<")
        refused = self.client.get(f"/scheduling/me/{self.pat.pk}/book/", {"kind": "dosingx"})
        self.assertContains(refused, "no es un tipo de cita", status_code=400)

    def test_an_answer_keeps_the_translation_read_and_scores_as_the_original(self) -> None:
        invitation, _ = emailed_invitation(self)
        self.client.post(f"/measures/me/answer/{invitation.pk}/", form_data(PHQ9_ITEM9))
        spanish = Response.objects.get(patient=self.pat)
        translation = newest("phq9", "es", self.clinic.pk)
        assert translation is not None
        self.assertEqual(
            (spanish.language, spanish.translation_version), ("es", translation.version)
        )
        Patient.objects.filter(pk=self.pat.pk).update(preferred_language="en")
        again, _ = emailed_invitation(self)
        self.client.post(f"/measures/me/answer/{again.pk}/", form_data(PHQ9_ITEM9))
        english = Response.objects.filter(patient=self.pat).exclude(pk=spanish.pk).get()
        self.assertEqual((english.language, english.translation_version), ("en", ""))
        self.assertEqual(
            (english.total, english.band, english.flagged, english.risk),
            (spanish.total, spanish.band, spanish.flagged, spanish.risk),
        )
        self.assertTrue(spanish.flagged)
