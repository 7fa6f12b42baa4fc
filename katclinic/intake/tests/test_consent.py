"""Consent: versions, signatures with the hash of the exact text, re-consent, withdrawal."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.clinics.registry import set_setting
from katclinic.intake import services
from katclinic.intake.models import ConsentDocument, ConsentSignature, ConsentWithdrawal
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase


class ConsentTest(ClinicTestCase):
    def setUp(self) -> None:
        self.v1 = self.issue("Ketamine can cause nausea and dissociation.")

    def issue(self, body: str, scope: str = "program", route: str = "") -> ConsentDocument:
        return services.issue_consent_document(
            clinic=self.clinic,
            scope=scope,
            route=route,
            title="Consent to KAT",
            body=body,
            effective_on=date(2026, 1, 1),
            by=self.adam,
        )

    def sign_in_portal(self, document: ConsentDocument, name: str = "Pat Doe") -> Any:
        self.login(self.pat_user)
        return self.client.post(
            reverse("intake:my_sign", args=[self.pat.pk, document.pk]),
            {"typed_name": name, "agree": "on"},
        )

    def test_the_patient_signs_through_their_own_login_and_the_hash_matches_the_text(self) -> None:
        response = self.sign_in_portal(self.v1, name="  pat   doe ")
        self.assertRedirects(response, reverse("intake:my_consents", args=[self.pat.pk]))
        signature = ConsentSignature.objects.get()
        expected = hashlib.sha256(self.v1.signed_text.encode("utf-8")).hexdigest()
        self.assertEqual(signature.document_hash, expected)
        self.assertIn("Ketamine can cause nausea and dissociation.", self.v1.signed_text)
        self.assertEqual(
            (signature.channel, signature.ip, signature.witness), ("portal", "127.0.0.1", None)
        )
        self.assertTrue(services.consent_status(self.pat).current)
        self.assertTrue(
            AuditEvent.objects.filter(
                action="sign", patient_id=self.pat.pk, user=self.pat_user
            ).exists()
        )

    def test_a_name_that_does_not_match_is_refused_and_nothing_stored(self) -> None:
        response = self.sign_in_portal(self.v1, name="Someone Else")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Type your full name exactly", status_code=400)
        self.assertFalse(ConsentSignature.objects.exists())

    def test_another_patient_cannot_open_or_sign_pats_consent(self) -> None:
        self.login(self.quinn_user)
        response = self.client.post(
            reverse("intake:my_sign", args=[self.pat.pk, self.v1.pk]),
            {"typed_name": "Pat Doe", "agree": "on"},
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(ConsentSignature.objects.exists())

    def test_a_new_version_requires_re_consent(self) -> None:
        self.sign_in_portal(self.v1)
        v2 = self.issue("Ketamine can cause nausea, dissociation and a rise in blood pressure.")
        status = services.consent_status(self.pat)
        self.assertFalse(status.current)
        self.assertEqual(status.missing, ["Consent to KAT v2"])
        self.assertIn("signed v1", status.reason)
        response = self.sign_in_portal(self.v1)
        self.assertEqual(response.status_code, 400)
        self.sign_in_portal(v2)
        self.assertTrue(services.consent_status(self.pat).current)

    def test_a_route_specific_consent_is_required_only_for_that_route(self) -> None:
        self.sign_in_portal(self.v1)
        route_doc = self.issue("Nasal spray specifics.", scope="route", route="intranasal")
        self.assertTrue(services.consent_status(self.pat, route="iv").current)
        self.assertFalse(services.consent_status(self.pat, route="intranasal").current)
        self.sign_in_portal(route_doc)
        self.assertTrue(services.consent_status(self.pat, route="intranasal").current)

    def test_without_any_document_consent_is_not_current(self) -> None:
        status = services.consent_status(self.stranger)
        self.assertEqual((status.current, status.missing), (False, ["program consent"]))

    def test_withdrawal_is_recorded_and_consent_is_then_not_current(self) -> None:
        self.sign_in_portal(self.v1)
        signature = ConsentSignature.objects.get()
        self.login(self.nick)
        response = self.client.post(
            reverse("intake:withdraw", args=[signature.pk]), {"reason": "Wants to stop"}
        )
        self.assertRedirects(response, reverse("intake:consents"))
        withdrawal = ConsentWithdrawal.objects.get()
        self.assertEqual((withdrawal.signature, withdrawal.recorded_by), (signature, self.nick))
        status = services.consent_status(self.pat)
        self.assertFalse(status.current)
        self.assertIn("withdrawn", status.reason)
        again = self.client.post(
            reverse("intake:withdraw", args=[signature.pk]), {"reason": "twice"}
        )
        self.assertEqual(again.status_code, 400)
        self.assertEqual(ConsentWithdrawal.objects.count(), 1)

    def test_signatures_documents_and_withdrawals_are_immutable_in_the_database(self) -> None:
        self.sign_in_portal(self.v1)
        signature = ConsentSignature.objects.get()
        services.withdraw_consent(signature=signature, reason="stop", by=self.nick)
        for statement in (
            lambda: ConsentDocument.objects.update(body="rewritten"),
            lambda: ConsentSignature.objects.update(typed_name="forged"),
            lambda: ConsentSignature.objects.all().delete(),
            lambda: ConsentWithdrawal.objects.all().delete(),
        ):
            with self.assertRaises(IntegrityError), transaction.atomic():
                statement()
        self.assertEqual(
            ConsentDocument.objects.get().body, "Ketamine can cause nausea and dissociation."
        )

    def test_signing_on_a_clinic_device_records_the_staff_witness(self) -> None:
        self.login(self.nick)
        url = reverse("intake:sign_on_device", args=[self.pat.pk, self.v1.pk])
        self.client.post(url, {"typed_name": "Pat Doe", "agree": "on"})
        signature = ConsentSignature.objects.get()
        self.assertEqual((signature.channel, signature.witness), ("clinic_device", self.nick))

    def test_front_desk_witnessing_lands_on_a_page_it_may_open(self) -> None:
        self.login(self.alice)
        url = reverse("intake:sign_on_device", args=[self.pat.pk, self.v1.pk])
        response = self.client.post(url, {"typed_name": "Pat Doe", "agree": "on"}, follow=True)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.redirect_chain[-1][0], reverse("patients:chart", args=[self.pat.pk])
        )
        self.assertEqual(ConsentSignature.objects.get().witness, self.alice)

    def test_when_the_clinic_requires_a_witness_the_portal_refuses(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="intake_consent_requires_witness",
            raw="true",
            by=self.adam,
            reason="policy",
        )
        response = self.sign_in_portal(self.v1)
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "staff member present", status_code=400)
        self.assertFalse(ConsentSignature.objects.exists())

    def test_the_staff_list_shows_missing_outdated_and_withdrawn_consent(self) -> None:
        for patient, stage in ((self.pat, "induction"), (self.quinn, "maintenance")):
            Patient.objects.filter(pk=patient.pk).update(stage=stage)
        self.sign_in_portal(self.v1)
        self.issue("Second version.")
        self.login(self.alice)
        with self.assertNumQueries(6):
            response = self.client.get(reverse("intake:consents"))
        states = {gap.patient.pk: gap.state for gap in response.context["gaps"]}
        self.assertEqual(states, {self.pat.pk: "outdated", self.quinn.pk: "missing"})
        self.assertContains(response, "re-consent needed")

    def test_a_therapist_cannot_issue_documents_or_take_signatures(self) -> None:
        self.login(self.tara)
        response = self.client.post(
            reverse("intake:documents"),
            {"scope": "program", "title": "T", "body": "B", "effective_on": "2026-01-01"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(ConsentDocument.objects.count(), 1)

    def test_the_intake_tab_reads_the_documents_once_and_shows_the_gates_answer(self) -> None:
        self.sign_in_portal(self.v1)
        url = reverse("intake:chart_tab", args=[self.pat.pk])
        self.login(self.nick)
        self.client.get(url)
        for change in ("signed", "new version", "withdrawn"):
            with self.subTest(change=change):
                if change == "new version":
                    self.issue("Ketamine can also raise blood pressure.")
                if change == "withdrawn":
                    services.withdraw_consent(
                        signature=ConsentSignature.objects.get(document=self.v1),
                        reason="Wants to stop",
                        by=self.nick,
                    )
                # Session, user, roles, the patient, the audit event, the documents in
                # effect (once, for the status and the signing links), the signatures the
                # status counts, the screenings and the signatures listed; a consent not
                # current adds the earlier signature its reason names.
                current = services.consent_status(self.pat).current
                with self.assertNumQueries(9 if current else 10):
                    response = self.client.get(url)
                status = services.consent_status(self.pat)
                self.assertContains(response, status.reason)
                self.assertContains(response, "Current" if status.current else "Not current")
                document = services.current_documents(self.clinic)["program"]
                self.assertContains(
                    response, reverse("intake:sign_on_device", args=[self.pat.pk, document.pk])
                )
        self.assertContains(response, "Withdrawn")
