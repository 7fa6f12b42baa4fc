"""Visit notes through real HTTP: each kind's template, drafts, signing, addenda and audit."""

import re
from datetime import timedelta
from typing import Any

from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent
from katclinic.scheduling.models import Appointment, State
from katclinic.testing import ClinicTestCase
from katclinic.visitnotes import services
from katclinic.visitnotes.kinds import TEMPLATES
from katclinic.visitnotes.models import NoteAddendum, Status, VisitNote

INTEGRATION = {
    "session_reviewed": "Second ketamine session, 26 Nov",
    "themes": "Grief for her father; feeling less stuck",
    "insights": "Noticed she can rest without earning it",
    "mood_safety": "Mood brighter; no suicidal thoughts; safety plan in place",
    "plan": "Journal daily; next integration in one week",
}
FOLLOW_UP = {"progress": "Sleeping better", "plan": "Review in four weeks"}


def visit(
    t: Any, kind: str, *, staff: Any, days_ago: int = 1, state: str = State.COMPLETED
) -> Appointment:
    start = timezone.now() - timedelta(days=days_ago)
    return Appointment.objects.create(
        clinic=t.clinic,
        patient=t.pat,
        kind=kind,
        staff=staff,
        start=start,
        end=start + timedelta(hours=1),
        state=state,
        created_by=t.alice,
        cancel_reason="Patient unwell" if state == State.CANCELLED else "",
    )


class NoteTemplatesTest(ClinicTestCase):
    def test_each_kind_shows_only_its_own_fields(self) -> None:
        self.login(self.paula)
        every_key = {f.key for t in TEMPLATES.values() for f in t.fields}
        for kind, template in TEMPLATES.items():
            with self.subTest(kind=kind):
                response = self.client.get(f"/visitnotes/patients/{self.pat.pk}/new/?kind={kind}")
                self.assertEqual(response.status_code, 200)
                html = response.content.decode()
                own = {f.key for f in template.fields}
                for key in own:
                    self.assertIn(f'name="{key}"', html)
                for key in every_key - own:
                    self.assertNotIn(f'name="{key}"', html)
                for field in template.fields:
                    self.assertIn(field.label, html)

    def test_the_five_visit_types_have_templates(self) -> None:
        self.assertEqual(
            set(TEMPLATES),
            {"consultation", "preparation", "integration", "follow_up", "psychotherapy"},
        )
        self.assertEqual(
            [f.key for f in TEMPLATES["consultation"].fields], ["history", "assessment", "plan"]
        )
        self.assertEqual([f.key for f in TEMPLATES["follow_up"].fields], ["progress", "plan"])

    def test_a_missing_required_field_is_named_and_nothing_is_stored(self) -> None:
        self.login(self.tara)
        for kind, template in TEMPLATES.items():
            required = [f for f in template.fields if f.required]
            full = {f.key: (f.choices[0][0] if f.choices else "Written") for f in template.fields}
            for field in required:
                with self.subTest(kind=kind, field=field.key):
                    data = {**full, "kind": kind, field.key: ""}
                    events = AuditEvent.objects.count()
                    response = self.client.post(f"/visitnotes/patients/{self.pat.pk}/new/", data)
                    self.assertEqual(response.status_code, 400)
                    self.assertContains(response, field.label, status_code=400)
                    self.assertContains(response, "required", status_code=400)
                    self.assertFalse(VisitNote.objects.exists())
                    self.assertEqual(AuditEvent.objects.count(), events)

    def test_a_bad_answer_and_an_unknown_kind_are_refused(self) -> None:
        self.login(self.tara)
        url = f"/visitnotes/patients/{self.pat.pk}/new/"
        data = {
            "kind": "preparation",
            "intentions": "Feel again",
            "expectations": "Some strangeness",
            "set_and_setting": "Quiet room, music",
            "safety_plan_reviewed": "maybe",
        }
        response = self.client.post(url, data)
        self.assertContains(response, "Safety plan reviewed", status_code=400)
        response = self.client.post(url, {"kind": "dream", "plan": "x"})
        self.assertContains(response, "Note type", status_code=400)
        response = self.client.post(url, {**FOLLOW_UP, "kind": "follow_up", "appointment": "abc"})
        self.assertContains(response, "Visit", status_code=400)
        other = Appointment.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            kind="follow_up",
            staff=self.tara,
            start=timezone.now(),
            end=timezone.now() + timedelta(hours=1),
            created_by=self.alice,
        )
        response = self.client.post(
            url, {**FOLLOW_UP, "kind": "follow_up", "appointment": str(other.pk)}
        )
        self.assertContains(response, "Visit: not a visit of this patient", status_code=400)
        self.assertFalse(VisitNote.objects.exists())

    def test_only_the_kinds_fields_are_stored(self) -> None:
        self.login(self.paula)
        response = self.client.post(
            f"/visitnotes/patients/{self.pat.pk}/new/",
            {
                "kind": "consultation",
                "history": "Depression since 2019, two SSRIs tried",
                "assessment": "Treatment-resistant depression",
                "plan": "Screen for ketamine",
                "themes": "not a consultation field",
            },
        )
        self.assertEqual(response.status_code, 302)
        note = VisitNote.objects.get()
        self.assertEqual(set(note.content), {"history", "assessment", "plan"})
        self.assertEqual(note.clinic, self.clinic)
        self.assertEqual(note.status, Status.DRAFT)


class NoteLifecycleTest(ClinicTestCase):
    def write_integration(
        self, *, sign: bool = False, appointment: Appointment | None = None
    ) -> Any:
        self.login(self.tara)
        data: dict[str, str] = {**INTEGRATION, "kind": "integration"}
        if sign:
            data["sign"] = "on"
        if appointment is not None:
            data["appointment"] = str(appointment.pk)
        return self.client.post(f"/visitnotes/patients/{self.pat.pk}/new/", data)

    def test_therapist_writes_and_signs_an_integration_note_for_a_visit(self) -> None:
        appt = visit(self, "integration", staff=self.tara)
        response = self.write_integration(appointment=appt)
        note = VisitNote.objects.get()
        self.assertRedirects(response, f"/visitnotes/{note.pk}/", fetch_redirect_response=False)
        self.assertEqual(note.appointment, appt)
        self.assertEqual(note.author, self.tara)
        page = self.client.get(f"/visitnotes/{note.pk}/")
        self.assertContains(page, "Integration note saved as a draft.")
        self.assertContains(page, "Grief for her father")
        self.assertContains(page, "Edit draft")
        response = self.client.post(f"/visitnotes/{note.pk}/sign/")
        self.assertEqual(response.status_code, 302)
        note.refresh_from_db()
        self.assertEqual(note.status, Status.SIGNED)
        self.assertEqual(note.signed_by, self.tara)
        self.assertIsNotNone(note.signed_at)
        self.assertEqual(note.content_hash, services.note_hash(note))
        self.assertContains(self.client.get(f"/visitnotes/{note.pk}/"), "Note signed.")

    def test_the_author_edits_a_draft(self) -> None:
        self.write_integration()
        note = VisitNote.objects.get()
        self.assertContains(self.client.get(f"/visitnotes/{note.pk}/edit/"), "Grief for her father")
        changed = {**INTEGRATION, "themes": "Anger, then relief"}
        response = self.client.post(f"/visitnotes/{note.pk}/edit/", changed)
        self.assertEqual(response.status_code, 302)
        note.refresh_from_db()
        self.assertEqual(note.content["themes"], "Anger, then relief")
        self.assertEqual(note.status, Status.DRAFT)
        event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(note.pk)).get()
        self.assertEqual(event.detail["changed"], ["themes"])
        self.assertEqual(event.patient_id, self.pat.pk)

    def test_an_edit_with_a_required_field_emptied_changes_nothing(self) -> None:
        self.write_integration()
        note = VisitNote.objects.get()
        response = self.client.post(f"/visitnotes/{note.pk}/edit/", {**INTEGRATION, "plan": ""})
        self.assertContains(response, "Plan", status_code=400)
        note.refresh_from_db()
        self.assertEqual(note.content, INTEGRATION)

    def test_another_clinician_cannot_edit_or_sign_a_draft(self) -> None:
        self.write_integration()
        note = VisitNote.objects.get()
        self.login(self.paula)
        response = self.client.post(
            f"/visitnotes/{note.pk}/edit/", {**INTEGRATION, "themes": "Rewritten"}
        )
        self.assertContains(response, "Only the author", status_code=400)
        response = self.client.post(f"/visitnotes/{note.pk}/sign/")
        self.assertContains(response, "Only the author", status_code=400)
        note.refresh_from_db()
        self.assertEqual(note.content, INTEGRATION)
        self.assertEqual(note.status, Status.DRAFT)
        self.assertNotContains(self.client.get(f"/visitnotes/{note.pk}/"), "Edit draft")

    def test_a_signed_note_cannot_change(self) -> None:
        self.write_integration(sign=True)
        note = VisitNote.objects.get()
        self.assertEqual(note.status, Status.SIGNED)
        signed_hash = note.content_hash
        response = self.client.post(
            f"/visitnotes/{note.pk}/edit/", {**INTEGRATION, "themes": "Rewritten"}
        )
        self.assertContains(response, "signed and cannot change", status_code=400)
        response = self.client.get(f"/visitnotes/{note.pk}/edit/")
        self.assertEqual(response.status_code, 400)
        response = self.client.post(f"/visitnotes/{note.pk}/sign/")
        self.assertEqual(response.status_code, 400)
        note.refresh_from_db()
        self.assertEqual(note.content, INTEGRATION)
        self.assertEqual(note.content_hash, signed_hash)
        self.assertFalse(AuditEvent.objects.filter(action=Action.UPDATE).exists())

    def test_addenda_after_signing_each_signed(self) -> None:
        self.write_integration()
        note = VisitNote.objects.get()
        response = self.client.post(f"/visitnotes/{note.pk}/addendum/", {"text": "Too early"})
        self.assertContains(response, "draft has no addenda", status_code=400)
        self.client.post(f"/visitnotes/{note.pk}/sign/")
        response = self.client.post(f"/visitnotes/{note.pk}/addendum/", {"text": "  "})
        self.assertContains(response, "Addendum", status_code=400)
        self.assertFalse(NoteAddendum.objects.exists())
        self.login(self.paula)
        response = self.client.post(
            f"/visitnotes/{note.pk}/addendum/", {"text": "Seen by prescriber; no change to plan."}
        )
        self.assertEqual(response.status_code, 302)
        addendum = NoteAddendum.objects.get()
        self.assertEqual((addendum.author, addendum.clinic), (self.paula, self.clinic))
        self.assertEqual(len(addendum.content_hash), 64)
        page = self.client.get(f"/visitnotes/{note.pk}/")
        self.assertContains(page, "Seen by prescriber; no change to plan.")
        self.assertContains(page, "Addendum signed and added.")
        self.assertTrue(
            AuditEvent.objects.filter(
                action=Action.SIGN, object_id=str(addendum.pk), patient_id=self.pat.pk
            ).exists()
        )

    def test_every_read_and_write_is_audited(self) -> None:
        self.write_integration(sign=True)
        note = VisitNote.objects.get()
        actions = list(
            AuditEvent.objects.filter(object_id=str(note.pk), object_type="visitnotes.visitnote")
            .order_by("id")
            .values_list("action", flat=True)
        )
        self.assertEqual(actions, [Action.CREATE, Action.SIGN])
        self.login(self.nick)
        self.assertContains(self.client.get(f"/visitnotes/{note.pk}/"), "Mood brighter")
        view = AuditEvent.objects.filter(action=Action.VIEW, object_id=str(note.pk)).get()
        self.assertEqual((view.user, view.patient_id), (self.nick, self.pat.pk))
        self.assertContains(self.client.get(f"/visitnotes/patients/{self.pat.pk}/"), "Integration")
        chart = AuditEvent.objects.filter(action=Action.VIEW, detail__section="visit notes").get()
        self.assertEqual(chart.detail["notes"], [note.pk])


class NoteAccessTest(ClinicTestCase):
    def test_a_nurse_writes_follow_up_notes_only(self) -> None:
        self.login(self.nick)
        url = f"/visitnotes/patients/{self.pat.pk}/new/"
        page = self.client.get(url)
        self.assertContains(page, "Follow-up")
        self.assertNotContains(page, 'value="integration"')
        response = self.client.post(url, {**INTEGRATION, "kind": "integration"})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.client.get(f"{url}?kind=psychotherapy").status_code, 403)
        self.assertFalse(VisitNote.objects.exists())
        self.assertTrue(AuditEvent.objects.filter(action=Action.DENIED).exists())
        response = self.client.post(url, {**FOLLOW_UP, "kind": "follow_up", "sign": "on"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(VisitNote.objects.get().signed_by, self.nick)

    def test_front_desk_and_admin_cannot_read_or_write_notes(self) -> None:
        note = services.create_note(
            patient=self.pat, kind="follow_up", content=FOLLOW_UP, by=self.tara
        )
        for user in (self.alice, self.adam):
            with self.subTest(user=user.email):
                self.login(user)
                self.assertEqual(self.client.get(f"/visitnotes/{note.pk}/").status_code, 403)
                response = self.client.post(
                    f"/visitnotes/patients/{self.pat.pk}/new/", {**FOLLOW_UP, "kind": "follow_up"}
                )
                self.assertEqual(response.status_code, 403)
        self.assertEqual(VisitNote.objects.count(), 1)

    def test_another_clinics_note_is_not_found(self) -> None:
        note = services.create_note(
            patient=self.pat, kind="follow_up", content=FOLLOW_UP, by=self.tara
        )
        self.login(self.oscar)
        self.assertEqual(self.client.get(f"/visitnotes/{note.pk}/").status_code, 404)
        response = self.client.post(f"/visitnotes/{note.pk}/addendum/", {"text": "x"})
        self.assertEqual(response.status_code, 404)
        self.assertFalse(NoteAddendum.objects.exists())

    def test_the_chart_has_a_notes_tab(self) -> None:
        self.login(self.tara)
        page = self.client.get(f"/visitnotes/patients/{self.pat.pk}/")
        self.assertContains(page, f'href="/visitnotes/patients/{self.pat.pk}/"')
        self.assertContains(page, "No visit notes yet.")


class ClinicalLanguageTest(ClinicTestCase):
    def test_the_note_pages_show_no_internal_names(self) -> None:
        appt = visit(self, "follow_up", staff=self.tara)
        note = services.create_note(
            patient=self.pat, kind="follow_up", content=FOLLOW_UP, appointment=appt, by=self.tara
        )
        self.login(self.tara)
        pages = [
            f"/visitnotes/{note.pk}/",
            f"/visitnotes/{note.pk}/edit/",
            f"/visitnotes/patients/{self.pat.pk}/",
            f"/visitnotes/patients/{self.pat.pk}/new/",
            f"/visitnotes/patients/{self.pat.pk}/new/?kind=preparation",
            "/visitnotes/",
        ]
        internal = ["follow_up", "visitnotes", "set_and_setting", "safety_plan_reviewed", "_"]
        for url in pages:
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                html = response.content.decode()
                body = html.split('<main id="main"', 1)[1]
                text = re.sub(r"<[^>]+>", " ", body.split(">", 1)[1])
                for word in internal:
                    self.assertNotIn(word, text)
