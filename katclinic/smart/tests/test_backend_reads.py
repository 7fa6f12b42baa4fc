"""A backend service's system/ token on ordinary FHIR reads and searches: the whole clinic
that registered it, only the types its scopes name, never another clinic, never a write,
and each read audited under the service's name."""

from __future__ import annotations

from katclinic.audit.models import AuditEvent
from katclinic.fhir.tests.factories import make_response
from katclinic.patients.models import Patient
from katclinic.smart import backend
from katclinic.smart.services import disable_app
from katclinic.smart.tests.backend_helpers import Service, token_for
from katclinic.smart.tests.helpers import body, fhir_get
from katclinic.testing import ClinicTestCase


class BackendReadTest(ClinicTestCase):
    def setUp(self) -> None:
        self.service = Service()
        self.app = self.service.register(self)

    def test_a_system_token_searches_and_reads_the_clinic(self) -> None:
        make_response(self.pat, total=12)
        make_response(self.quinn, total=19)
        make_response(self.stranger, total=25)
        raw = token_for(self.service, self.app)
        patients = body(fhir_get("Patient", raw))
        ids = {int(e["resource"]["id"]) for e in patients["entry"]}
        self.assertEqual(ids, {self.pat.pk, self.quinn.pk})  # not clinic B's
        found = body(fhir_get("Observation", raw, patient=f"Patient/{self.quinn.pk}"))
        subjects = {e["resource"]["subject"]["reference"] for e in found["entry"]}
        self.assertEqual(subjects, {f"Patient/{self.quinn.pk}"})
        everyone = body(fhir_get("Observation", raw))
        subjects = {e["resource"]["subject"]["reference"] for e in everyone["entry"]}
        self.assertEqual(subjects, {f"Patient/{self.pat.pk}", f"Patient/{self.quinn.pk}"})
        read = fhir_get(f"Patient/{self.pat.pk}", raw)
        self.assertEqual(body(read)["id"], str(self.pat.pk))
        event = AuditEvent.objects.filter(object_type="fhir.Patient", patient_id=self.pat.pk).last()
        assert event is not None
        self.assertEqual(event.detail["client_id"], self.app.client_id)
        self.assertEqual(event.detail["app"], "Registry export")
        self.assertIsNone(event.user_id)  # no person stands behind the token
        everything = fhir_get(f"Patient/{self.pat.pk}/$everything", raw)
        self.assertEqual(everything.status_code, 200)
        # A service with system/*.rs is left out of no type: it has no roles, its scopes decide.
        entries = [e["resource"] for e in body(everything)["entry"]]
        self.assertIn("Observation", {r["resourceType"] for r in entries})
        self.assertNotIn("OperationOutcome", {r["resourceType"] for r in entries})

    def test_another_clinics_records_are_not_found(self) -> None:
        theirs = make_response(self.stranger)
        raw = token_for(self.service, self.app)
        for path in (
            f"Patient/{self.stranger.pk}",
            f"Observation/{theirs.pk}",
            f"Patient/{self.stranger.pk}/$everything",
        ):
            with self.subTest(path=path):
                answer = fhir_get(path, raw)
                self.assertEqual(answer.status_code, 404)
                self.assertEqual(body(answer)["resourceType"], "OperationOutcome")
        search = body(fhir_get("Observation", raw, patient=f"Patient/{self.stranger.pk}"))
        self.assertEqual(search["total"], 0)

    def test_a_type_outside_the_scopes_is_forbidden(self) -> None:
        make_response(self.pat)
        service = Service()
        app = service.register(self, scopes="system/Observation.rs")
        raw = token_for(service, app, "system/Observation.rs")
        for path in ("Patient", f"Patient/{self.pat.pk}", f"Patient/{self.pat.pk}/$everything"):
            with self.subTest(path=path):
                answer = fhir_get(path, raw)
                self.assertEqual(answer.status_code, 403)
                outcome = body(answer)
                self.assertEqual(outcome["resourceType"], "OperationOutcome")
                self.assertIn("not allowed", outcome["issue"][0]["diagnostics"])
        self.assertEqual(fhir_get("Observation", raw).status_code, 200)
        read_only = token_for(service, app, "system/Observation.r")
        self.assertEqual(fhir_get("Observation", read_only).status_code, 403)
        denied = AuditEvent.objects.filter(detail__reason__icontains="not allowed to read Patient")
        self.assertTrue(denied.exists())

    def test_a_system_token_never_writes(self) -> None:
        raw = token_for(self.service, self.app)
        before = Patient.objects.count()
        headers = {"Authorization": f"Bearer {raw}"}
        create = self.client.post(
            "/fhir/R4/Patient",
            {"resourceType": "Patient", "name": [{"family": "New"}], "birthDate": "1990-01-01"},
            content_type="application/fhir+json",
            headers=headers,
        )
        self.assertEqual(create.status_code, 403)
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Patient", "name": [{"family": "New"}]},
                    "request": {"method": "POST", "url": "Patient"},
                }
            ],
        }
        imported = self.client.post(
            "/fhir/R4/", bundle, content_type="application/fhir+json", headers=headers
        )
        self.assertEqual(imported.status_code, 403)
        self.assertEqual(Patient.objects.count(), before)

    def test_a_revoked_or_stopped_service_token_is_refused(self) -> None:
        raw = token_for(self.service, self.app)
        disable_app(app=self.app, by=self.adam)
        answer = fhir_get("Patient", raw)
        self.assertEqual(answer.status_code, 401)
        self.assertEqual(body(answer)["resourceType"], "OperationOutcome")
        self.assertEqual(fhir_get("Patient", "smartb_forged").status_code, 401)
        self.assertTrue(backend.is_backend_token(raw))
