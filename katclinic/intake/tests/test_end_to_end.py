"""The issue's whole path: public request, conversion, flagged screening, signed decision,
consent through the patient's own login, with every step in the audit trail."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from katclinic.accounts.models import User
from katclinic.audit.models import AuditEvent
from katclinic.audit.services import verify_all
from katclinic.intake import services
from katclinic.intake.models import ConsultationRequest, EligibilityDecision, Screening
from katclinic.intake.screening import ANSWERED_FACTS
from katclinic.patients.models import Patient
from katclinic.testing import PASSWORD, ClinicTestCase

NO_CONTRAINDICATIONS = dict.fromkeys(ANSWERED_FACTS, "false")


class VisitorToConsentTest(ClinicTestCase):
    def visitor_requests_a_consultation(self) -> ConsultationRequest:
        self.client.post(
            reverse("intake:public", args=[self.clinic.slug]),
            {"name": "Robin Hale", "email": "robin@example.org", "consent_to_contact": "on"},
        )
        return ConsultationRequest.objects.get()

    def front_desk_converts(self, consultation: ConsultationRequest) -> Patient:
        self.login(self.alice)
        form = self.client.get(reverse("intake:request_convert", args=[consultation.pk])).context[
            "form"
        ]
        data = dict(form.initial) | {"date_of_birth": "1980-03-04", "sex_at_birth": "female"}
        self.client.post(reverse("intake:request_convert", args=[consultation.pk]), data)
        return Patient.objects.get(first_name="Robin", last_name="Hale")

    def prescriber_screens_and_signs(self, patient: Patient) -> Screening:
        self.login(self.paula)
        data = {
            "route": "iv",
            "diagnosis": "F33.2",
            "baseline_systolic_mmhg": "162",
            "baseline_diastolic_mmhg": "101",
            "trials-TOTAL_FORMS": "0",
            "trials-INITIAL_FORMS": "0",
        }
        self.client.post(
            reverse("intake:screening_new", args=[patient.pk]), data | NO_CONTRAINDICATIONS
        )
        screening = Screening.objects.get(patient=patient)
        page = self.client.get(reverse("intake:screening", args=[screening.pk]))
        self.assertEqual(page.context["assessment"].suggestion.suggestion, "needs_review")
        rationale = "Uncontrolled hypertension: refer to GP first."
        self.client.post(
            reverse("intake:screening_sign", args=[screening.pk]),
            {"decision": "needs_review", "rationale": rationale, "confirm": "on"},
        )
        return screening

    def patient_signs_consent(self, patient: Patient) -> None:
        document = services.issue_consent_document(
            clinic=self.clinic,
            scope="program",
            route="",
            title="Consent",
            body="Text",
            effective_on=date(2026, 1, 1),
            by=self.adam,
        )
        robin = User.objects.create_user(
            email="robin@example.org",
            password=PASSWORD,
            full_name="Robin Hale",
            kind=User.Kind.PATIENT,
        )
        Patient.objects.filter(pk=patient.pk).update(user=robin)
        self.login(robin)
        self.client.post(
            reverse("intake:my_sign", args=[patient.pk, document.pk]),
            {"typed_name": "Robin Hale", "agree": "on"},
        )

    def test_a_visitor_becomes_a_screened_consented_patient_with_every_step_audited(self) -> None:
        patient = self.front_desk_converts(self.visitor_requests_a_consultation())
        screening = self.prescriber_screens_and_signs(patient)
        self.assertEqual(
            EligibilityDecision.objects.get(screening=screening).decision, "needs_review"
        )
        self.patient_signs_consent(patient)
        self.assertTrue(services.consent_status(patient).current)
        trail = set(
            AuditEvent.objects.filter(clinic_id=self.clinic.pk).values_list(
                "action", "object_type", "actor"
            )
        )
        self.assertLessEqual(
            {
                ("create", "intake.consultationrequest", ""),
                ("create", "patients.patient", "alice@example.org"),
                ("update", "intake.consultationrequest", "alice@example.org"),
                ("create", "intake.screening", "paula@example.org"),
                ("sign", "intake.eligibilitydecision", "paula@example.org"),
                ("create", "intake.consentdocument", "adam@example.org"),
                ("sign", "intake.consentsignature", "robin@example.org"),
            },
            trail,
        )
        self.assertEqual(verify_all(), [])
