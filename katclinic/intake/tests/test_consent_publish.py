"""Publishing a consent version: a preview as patients see it, who must sign again, then publish."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.intake import services
from katclinic.intake.models import ConsentDocument, SignatureChannel
from katclinic.testing import ClinicTestCase


class PublishTest(ClinicTestCase):
    def setUp(self) -> None:
        self.v1 = services.issue_consent_document(
            clinic=self.clinic,
            scope="program",
            route="",
            title="Consent to KAT",
            body="Version one text.",
            effective_on=date(2026, 1, 1),
            by=self.paula,
        )
        for patient in (self.pat, self.quinn):
            services.sign_consent(
                patient=patient,
                document=self.v1,
                typed_name=patient.full_name,
                channel=SignatureChannel.CLINIC_DEVICE,
                by=self.nick,
                witness=self.nick,
            )

    def post(self, user: Any = None, **changes: Any) -> Any:
        self.login(user or self.paula)
        data = {
            "scope": "program",
            "route": "",
            "title": "Consent to KAT",
            "body": "Version two text.\n\nSecond paragraph.",
            "effective_on": "2026-02-01",
            **changes,
        }
        return self.client.post(reverse("intake:documents"), data)

    def test_preview_shows_the_patient_text_and_who_must_re_consent_and_stores_nothing(
        self,
    ) -> None:
        response = self.post(step="preview")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "intake/_consent_text.html")
        self.assertContains(response, '<h1 id="doc-h">Consent to KAT</h1>', html=False)
        self.assertContains(response, "Version 2, effective 2026-02-01")
        self.assertContains(response, "<p>Second paragraph.</p>", html=True)
        self.assertContains(response, "<strong>2 patients</strong>", html=True)
        self.assertContains(response, "Pat Doe (K000001)")
        self.assertContains(response, "Quinn Roe (K000002)")
        self.assertEqual(ConsentDocument.objects.count(), 1)

    def test_the_administrator_publishes_and_a_nurse_cannot(self) -> None:
        response = self.post(user=self.adam, step="publish")
        self.assertRedirects(response, reverse("intake:documents"))
        self.assertEqual(ConsentDocument.objects.get(version=2).created_by, self.adam)
        response = self.post(user=self.nick, step="publish", title="Nurse's version")
        self.assertEqual(response.status_code, 403)
        self.assertFalse(ConsentDocument.objects.filter(title="Nurse's version").exists())

    def test_publish_issues_the_version_and_the_audit_keeps_the_count_shown(self) -> None:
        response = self.post(step="publish")
        self.assertRedirects(response, reverse("intake:documents"))
        v2 = ConsentDocument.objects.get(version=2)
        self.assertEqual(
            (v2.body, v2.created_by), ("Version two text.\n\nSecond paragraph.", self.paula)
        )
        event = AuditEvent.objects.get(object_id=str(v2.pk), action="create")
        self.assertEqual((event.user, event.detail["reconsent_shown"]), (self.paula, 2))
        self.assertFalse(services.consent_status(self.pat).current)

    def test_a_withdrawn_signature_is_not_counted_and_another_series_counts_alone(self) -> None:
        signature = self.pat.consent_signatures.get()
        services.withdraw_consent(signature=signature, reason="no reason given", by=self.nick)
        response = self.post(step="preview")
        self.assertContains(response, "<strong>1 patient</strong>", html=True)
        self.assertNotContains(response, "Pat Doe (K000001)")
        route = self.post(step="preview", scope="route", route="iv")
        self.assertContains(route, "no one needs to re-consent")

    def test_change_the_text_returns_to_the_form_with_it_filled(self) -> None:
        response = self.post(step="edit")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Version two text.")
        self.assertEqual(ConsentDocument.objects.count(), 1)

    def test_bad_input_names_the_field_and_publishes_nothing(self) -> None:
        for field, value, step in (
            ("scope", "everything", "publish"),
            ("title", "", "publish"),
            ("body", "", "preview"),
            ("effective_on", "31/31/2026", "publish"),
            ("route", "", "publish"),
        ):
            changes = {field: value, "step": step}
            if field == "route":
                changes["scope"] = "route"
            response = self.post(**changes)
            self.assertEqual(response.status_code, 400, field)
            self.assertIn(field, response.context["form"].errors, field)
        self.assertEqual(ConsentDocument.objects.count(), 1)

    def test_a_therapist_a_nurse_and_front_desk_cannot_preview_or_publish(self) -> None:
        for user in (self.tara, self.nick, self.alice):
            for step in ("preview", "publish"):
                self.assertEqual(self.post(user=user, step=step).status_code, 403)
        self.assertEqual(ConsentDocument.objects.count(), 1)
