"""Patients and the public in their own language; the shipped Spanish catalogue is complete."""

from __future__ import annotations

import gettext
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import SimpleTestCase

from katclinic.measures import scoring
from katclinic.measures.instrument_translations import in_language
from katclinic.measures.models import InstrumentTranslation, Response
from katclinic.measures.tests.helpers import PHQ9_ITEM9, emailed_invitation, form_data
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase

PO = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
# Phrases of patient pages that must never show to a Spanish-speaking patient.
ENGLISH = ["Need help now?", "If you need help now", "Sign out", "Your portal", "Settings"]


class CatalogueTest(SimpleTestCase):
    def test_every_entry_is_translated_and_none_is_fuzzy(self) -> None:
        text = PO.read_text(encoding="utf-8")
        entries = text.split("\n\n")[1:]
        self.assertGreater(len(entries), 100)
        for entry in entries:
            self.assertNotIn("#, fuzzy", entry)
            self.assertNotIn('msgstr ""\n', entry + "\n", entry)
            self.assertFalse(entry.rstrip().endswith('msgstr ""'), entry)

    def test_the_committed_catalogue_is_the_compiled_po(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            fresh = Path(folder) / "django.mo"
            subprocess.run(["msgfmt", "-o", str(fresh), str(PO)], check=True)  # noqa: S603,S607
            with fresh.open("rb") as f:
                expected = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
        with (PO.parent / "django.mo").open("rb") as f:
            shipped = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
        self.assertEqual(shipped, expected)


class SpanishPatientTest(ClinicTestCase):
    def setUp(self) -> None:
        Patient.objects.filter(pk=self.pat.pk).update(preferred_language="es")
        self.login(self.pat_user)

    def test_portal_pages_are_in_spanish(self) -> None:
        pages = ["home", "progress", "journal", "visits", "record", "security"]
        for name in pages:
            with self.subTest(name):
                response = self.client.get(f"/portal/{self.pat.pk}/{name}/".replace("home/", ""))
                self.assertEqual(response.status_code, 200)
                body = response.content.decode()
                self.assertIn('lang="es"', body)
                self.assertIn("¿Necesita ayuda ahora?", body)
                for phrase in ENGLISH:
                    self.assertNotIn(f">{phrase}<", body)

    def test_the_questionnaire_is_the_official_spanish_text_and_scores_the_same(self) -> None:
        invitation, _ = emailed_invitation(self)
        page = self.client.get(f"/measures/me/answer/{invitation.pk}/")
        self.assertContains(page, "Poco interés o placer en hacer cosas")
        self.assertContains(page, "Más de la mitad de los días")
        self.assertNotContains(page, "Little interest or pleasure")
        done = self.client.post(f"/measures/me/answer/{invitation.pk}/", form_data(PHQ9_ITEM9))
        self.assertContains(done, "No tiene que enfrentar esto solo(a)")
        response = Response.objects.get(patient=self.pat)
        english = scoring.load_builtin_instruments()["phq9"]
        self.assertEqual(response.total, scoring.score(english, PHQ9_ITEM9).total)
        self.assertTrue(response.flagged)

    def test_a_translation_changes_words_only(self) -> None:
        english = scoring.load_builtin_instruments()["phq9"]
        spanish = in_language(english, "es", self.clinic.pk)
        self.assertNotEqual(spanish.items[0].text, english.items[0].text)
        for answers in ({f"q{n}": n % 4 for n in range(1, 10)}, PHQ9_ITEM9):
            self.assertEqual(scoring.score(spanish, answers), scoring.score(english, answers))
        self.assertEqual(spanish.risk, english.risk)

    def test_the_patient_changes_their_language(self) -> None:
        security = f"/portal/{self.pat.pk}/security/"
        response = self.client.post("/language/", {"language": "en", "next": security})
        self.assertRedirects(response, security)
        self.pat.refresh_from_db()
        self.assertEqual(self.pat.preferred_language, "en")
        self.assertContains(self.client.get(security), "Need help now?")

    def test_bad_language_choices_are_refused_and_change_nothing(self) -> None:
        for data, field in (
            ({"language": "xx", "next": "/"}, "language"),
            ({"language": "en", "next": "https://elsewhere.example/"}, "next"),
            ({"language": "en", "next": "//elsewhere.example/"}, "next"),
        ):
            with self.subTest(data):
                response = self.client.post("/language/", data)
                self.assertEqual(response.status_code, 400)
                self.assertContains(response, field, status_code=400)
        self.pat.refresh_from_db()
        self.assertEqual(self.pat.preferred_language, "es")


class PublicLanguageTest(ClinicTestCase):
    def test_the_public_page_follows_the_browser_and_the_switch(self) -> None:
        page = self.client.get("/intake/c/north/", headers={"accept-language": "es"})
        self.assertContains(page, "Solicitar una consulta")
        self.assertContains(page, "Poco interés o placer en hacer cosas")
        self.assertNotContains(page, "Request a consultation")
        self.client.post("/language/", {"language": "en", "next": "/intake/c/north/"})
        again = self.client.get("/intake/c/north/", headers={"accept-language": "es"})
        self.assertContains(again, "Request a consultation")

    def test_a_request_made_in_spanish_starts_the_record_in_spanish(self) -> None:
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
        data = {"name": "Ana Pérez", "phone": "555-0199", "consent_to_contact": "on"}
        self.client.post("/intake/c/north/", data)
        from katclinic.intake.models import ConsultationRequest
        from katclinic.intake.services import patient_data_from_request

        made = ConsultationRequest.objects.get(name="Ana Pérez")
        self.assertEqual(patient_data_from_request(made)["preferred_language"], "es")


class TranslationLoadTest(ClinicTestCase):
    def test_an_incomplete_translation_is_refused_and_nothing_stored(self) -> None:
        self.login(self.adam)
        document = b'{"key": "gad7", "language": "es", "version": "1", "title": "GAD-7",'
        document += b' "items": {"q1": "Solo una"}}'
        response = self.client.post(
            "/measures/translations/load/",
            {"source": "Editor", "upload": SimpleUploadedFile("t.json", document)},
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(InstrumentTranslation.objects.filter(key="gad7").exists())

    def test_staff_see_which_questionnaires_lack_a_translation(self) -> None:
        self.login(self.adam)
        page = self.client.get("/measures/translations/").content.decode()
        self.assertIn("no translation", page)
        self.assertIn("es-US-1", page)
