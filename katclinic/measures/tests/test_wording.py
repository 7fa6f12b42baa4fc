"""A clinic's licensed questionnaire wording: entered or uploaded with its licence, previewed
as patients see it, stored as the clinic's own version and audited."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.measures.catalogue import current_instrument, definition_of
from katclinic.measures.models import Instrument
from katclinic.testing import ClinicTestCase


def texts(prefix: str = "Licensed wording of question") -> dict[str, str]:
    return {f"q{n}": f"{prefix} {n}" for n in range(1, 11)}


class WordingTest(ClinicTestCase):
    def post(self, user: Any = None, key: str = "madrs", **changes: Any) -> Any:
        self.login(user or self.adam)
        data = {"holder": "North Clinic LLC", "reference": "LIC-2026-7", **texts(), **changes}
        return self.client.post(reverse("measures:wording_edit", args=[key]), data)

    def clinic_rows(self) -> int:
        return Instrument.objects.filter(clinic__isnull=False).count()

    def test_the_list_shows_instruments_whose_wording_needs_a_licence(self) -> None:
        self.login(self.adam)
        page = self.client.get(reverse("measures:wording"))
        self.assertContains(page, "Montgomery")
        self.assertContains(page, "placeholder wording")
        self.assertNotContains(page, "Patient Health Questionnaire-9")  # shipped wording

    def test_preview_shows_the_questions_as_patients_see_them_and_stores_nothing(self) -> None:
        response = self.post(step="preview")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "measures/_questions.html")
        self.assertContains(response, "Licensed wording of question 3")
        self.assertContains(response, "Licensed to North Clinic LLC, reference LIC-2026-7")
        self.assertEqual(self.clinic_rows(), 0)

    def test_saving_stores_the_clinic_version_patients_then_answer(self) -> None:
        response = self.post(step="save")
        self.assertRedirects(response, reverse("measures:wording"))
        row = current_instrument("madrs", self.clinic)
        assert row is not None
        self.assertEqual(row.clinic_id, self.clinic.pk)
        definition = definition_of(row)
        self.assertEqual(definition.item("q1").text, "Licensed wording of question 1")
        self.assertTrue(definition.wording_licensed)
        self.assertIn("North Clinic LLC, reference LIC-2026-7", definition.licence)
        other = current_instrument("madrs", self.other_clinic)
        assert other is not None
        self.assertIsNone(other.clinic_id)
        event = AuditEvent.objects.get(object_id=str(row.pk), action="create")
        self.assertEqual(event.user, self.adam)
        self.assertEqual(event.detail["licence_reference"], "LIC-2026-7")
        again = self.post(step="save", q1="Second licensed wording")
        self.assertEqual(again.status_code, 302)
        self.assertEqual(self.clinic_rows(), 2)

    def test_a_wording_file_fills_the_questions(self) -> None:
        upload = SimpleUploadedFile(
            "madrs.json", json.dumps(texts("From file")).encode(), "application/json"
        )
        empty = dict.fromkeys(texts(), "")
        response = self.post(step="preview", upload=upload, **empty)
        self.assertContains(response, "From file 10")
        saved = self.post(step="save", **texts("From file"))
        self.assertEqual(saved.status_code, 302)

    def test_bad_input_names_the_field_and_stores_nothing(self) -> None:
        bad_file = SimpleUploadedFile("x.json", b'{"q99": "x"}', "application/json")
        not_json = SimpleUploadedFile("x.json", b"not json", "application/json")
        cases: list[tuple[str, dict[str, Any]]] = [
            ("holder", {"holder": ""}),
            ("reference", {"reference": "   "}),
            ("q4", {"q4": ""}),
            ("q5", {"q5": "x" * 2001}),
            ("upload", {"upload": bad_file}),
            ("upload", {"upload": not_json}),
        ]
        for field, changes in cases:
            for step in ("preview", "save"):
                if "upload" in changes:
                    changes["upload"].seek(0)
                response = self.post(step=step, **changes)
                self.assertEqual(response.status_code, 400, (field, step))
                self.assertIn(field, response.context["form"].errors, (field, step))
        self.assertEqual(self.clinic_rows(), 0)

    def test_shipped_wording_and_unknown_instruments_are_not_found(self) -> None:
        self.assertEqual(self.post(key="phq9", step="save").status_code, 404)
        self.assertEqual(self.post(key="nothing", step="save").status_code, 404)
        self.assertEqual(self.clinic_rows(), 0)

    def test_only_admins_enter_wording(self) -> None:
        for user in (self.alice, self.paula, self.nick, self.tara):
            self.assertEqual(self.post(user=user, step="save").status_code, 403)
        self.assertEqual(self.clinic_rows(), 0)
