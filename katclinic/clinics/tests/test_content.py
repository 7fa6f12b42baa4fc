"""Patient texts: the public page, crisis resources, reminder note and preparation, each
previewed as patients see it and saved with its audit event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.clinics import content
from katclinic.clinics.models import Clinic, ClinicText
from katclinic.protocols.tests import fixtures
from katclinic.scheduling.models import Appointment
from katclinic.scheduling.reminders import message
from katclinic.testing import ClinicTestCase


class ContentPagesTest(ClinicTestCase):
    def setUp(self) -> None:
        Clinic.objects.filter(pk=self.clinic.pk).update(crisis_resources="Call 911.")
        self.clinic.refresh_from_db()

    def post(self, kind: str, text: str, step: str, user: Any = None) -> Any:
        self.login(user or self.adam)
        return self.client.post(
            reverse("clinics:content_edit", args=[kind]), {"text": text, "step": step}
        )

    def test_the_list_shows_every_text_and_that_the_built_in_wording_is_in_use(self) -> None:
        self.login(self.adam)
        page = self.client.get(reverse("clinics:content"))
        self.assertContains(page, "Crisis resources")
        self.assertContains(page, "Public page: what the treatment is")
        self.assertContains(page, '<span class="badge">built-in wording</span>', count=2)
        self.assertContains(page, '<span class="badge">none</span>', count=2)
        self.assertNotContains(page, "public_about<")

    def test_admins_find_the_page_from_the_main_navigation(self) -> None:
        link = f'href="{reverse("clinics:content")}"'
        self.login(self.adam)
        self.assertContains(self.client.get(reverse("protocols:library")), link)
        self.login(self.alice)
        self.assertNotContains(self.client.get(reverse("protocols:library")), link)

    def test_public_text_preview_shows_the_public_page_and_saves_nothing_until_saved(self) -> None:
        text = "Our clinic offers supervised ketamine care.\n\nAsk us about it."
        preview = self.post("public_about", text, "preview")
        self.assertEqual(preview.status_code, 200)
        self.assertTemplateUsed(preview, "intake/_public_info.html")
        self.assertContains(preview, "<p>Ask us about it.</p>", html=True)
        self.assertContains(preview, "What a session is like")  # the built-in rest stays
        self.assertContains(preview, "Call 911.")
        self.assertFalse(ClinicText.objects.exists())
        saved = self.post("public_about", text, "save")
        self.assertRedirects(saved, reverse("clinics:content"))
        row = ClinicText.objects.get(clinic=self.clinic, kind="public_about")
        self.assertEqual((row.text, row.changed_by), (text, self.adam))
        event = AuditEvent.objects.get(object_id=str(row.pk), action="update")
        self.assertEqual((event.user, event.detail["text"]), (self.adam, ["", text]))
        public = self.client.get(reverse("intake:public", args=[self.clinic.slug]))
        self.assertContains(public, "<p>Ask us about it.</p>", html=True)
        self.assertNotContains(public, "Ketamine was first used as an anaesthetic")
        other = self.client.get(reverse("intake:public", args=[self.other_clinic.slug]))
        self.assertContains(other, "Ketamine was first used as an anaesthetic")

    def test_an_empty_public_text_goes_back_to_the_built_in_wording(self) -> None:
        self.post("public_session", "Our own words.", "save")
        self.post("public_session", "", "save")
        public = self.client.get(reverse("intake:public", args=[self.clinic.slug]))
        self.assertContains(public, "You rest in a quiet room")
        self.assertEqual(ClinicText.objects.filter(kind="public_session").count(), 2)

    def test_crisis_resources_are_previewed_then_saved_and_never_empty(self) -> None:
        new = "Call 911 in an emergency. Call or text 988 any time."
        preview = self.post("crisis_resources", new, "preview")
        self.assertContains(preview, new)
        self.clinic.refresh_from_db()
        self.assertEqual(self.clinic.crisis_resources, "Call 911.")
        self.post("crisis_resources", new, "save")
        self.clinic.refresh_from_db()
        self.assertEqual(self.clinic.crisis_resources, new)
        event = AuditEvent.objects.filter(action="update", clinic_id=self.clinic.pk).latest("id")
        self.assertEqual(event.detail["crisis_resources"], ["Call 911.", new])
        for step in ("preview", "save"):
            refused = self.post("crisis_resources", "   ", step)
            self.assertEqual(refused.status_code, 400)
            self.assertIn("text", refused.context["form"].errors)
        self.clinic.refresh_from_db()
        self.assertEqual(self.clinic.crisis_resources, new)

    def test_too_long_text_names_the_field_and_stores_nothing(self) -> None:
        refused = self.post("reminder_note", "x" * 5001, "save")
        self.assertEqual(refused.status_code, 400)
        self.assertIn("text", refused.context["form"].errors)
        self.assertFalse(ClinicText.objects.exists())

    def test_an_unknown_kind_is_not_found(self) -> None:
        self.assertEqual(self.post("nonsense", "x", "save").status_code, 404)
        self.assertFalse(ClinicText.objects.exists())

    def test_reminder_preview_is_the_reminder_patients_receive(self) -> None:
        fixtures.protocol(self)
        preview = self.post("reminder_note", "Park behind the building.", "preview")
        self.assertContains(preview, "Reminder: your appointment at North")
        self.assertContains(preview, "Park behind the building.")
        self.assertContains(preview, "Arrange a ride home")
        self.assertFalse(ClinicText.objects.exists())

    def test_saved_preparation_and_note_reach_real_reminders(self) -> None:
        self.post("preparation", "- Wear comfortable clothes\n- Bring headphones", "save")
        self.post("reminder_note", "Park behind the building.", "save")
        appointment = Appointment(
            clinic=self.clinic,
            patient=self.pat,
            kind="dosing",
            start=timezone.now() + timedelta(days=2),
            end=timezone.now() + timedelta(days=2, hours=2),
        )
        subject, body = message(appointment)
        self.assertIn("- Wear comfortable clothes\n- Bring headphones", body)
        self.assertIn("Park behind the building.", body)
        self.assertEqual(content.preparation_lines(self.other_clinic), [])

    def test_only_admins_change_texts_and_a_refusal_stores_nothing(self) -> None:
        for user in (self.alice, self.paula, self.nick, self.tara):
            self.assertEqual(self.post("reminder_note", "x", "save", user=user).status_code, 403)
            self.assertEqual(self.post("crisis_resources", "y", "save", user=user).status_code, 403)
        self.assertFalse(ClinicText.objects.exists())
        self.clinic.refresh_from_db()
        self.assertEqual(self.clinic.crisis_resources, "Call 911.")
