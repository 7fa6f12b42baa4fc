import json

from katclinic.audit.models import AuditEvent
from katclinic.fhir.tests.factories import make_checkpoint, make_session
from katclinic.measures.tests.helpers import PHQ9_MILD, submit
from katclinic.portal.tests import fixtures
from katclinic.testing import ClinicTestCase

PHQ9_HIGHER = {f"q{n}": 2 for n in range(1, 9)} | {"q9": 0}  # total 16


class ProgressTest(ClinicTestCase):
    def test_scores_are_explained_in_plain_words_with_sessions_marked(self) -> None:
        submit(self, PHQ9_HIGHER)
        submit(self, PHQ9_MILD)
        submit(self, PHQ9_HIGHER, patient=self.quinn)
        fixtures.session(self, self.pat, days_ago=0)
        self.login(self.pat_user)
        response = self.client.get(f"/portal/{self.pat.pk}/progress/")
        self.assertContains(response, "Lower numbers mean")
        self.assertContains(response, "on a scale of 0 to 27")
        self.assertContains(response, "8 lower than your first answer")
        self.assertContains(response, "Treatment session")
        self.assertEqual(
            len(response.context["timeline"]), 3, "quinn's score is not in pat's progress"
        )
        for word in ("severe", "moderate", "alarming", "risk"):
            self.assertNotContains(response, word)


class RecordDownloadTest(ClinicTestCase):
    def test_the_pdf_download_is_the_patients_own_and_audited_as_an_export(self) -> None:
        submit(self, PHQ9_MILD)
        self.login(self.pat_user)
        response = self.client.get(f"/portal/{self.pat.pk}/record.pdf")
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertTrue(response.content.startswith(b"%PDF"))
        event = AuditEvent.objects.get(action="export", patient_id=self.pat.pk)
        self.assertEqual((event.user_id, event.detail["format"]), (self.pat_user.pk, "pdf"))

    def test_the_fhir_bundle_holds_only_the_patients_resources(self) -> None:
        submit(self, PHQ9_MILD)
        submit(self, PHQ9_MILD, patient=self.quinn)
        self.login(self.pat_user)
        response = self.client.get(f"/portal/{self.pat.pk}/record.json")
        bundle = json.loads(response.content)
        self.assertEqual(bundle["resourceType"], "Bundle")
        resources = [entry["resource"] for entry in bundle["entry"]]
        patients = [r for r in resources if r["resourceType"] == "Patient"]
        self.assertEqual([p["id"] for p in patients], [str(self.pat.pk)])
        for resource in resources:
            reference = resource.get("subject", {}).get("reference")
            if reference:
                self.assertEqual(reference, f"Patient/{self.pat.pk}")
        self.assertEqual(
            AuditEvent.objects.filter(action="export", patient_id=self.pat.pk).count(), 1
        )

    def test_the_fhir_bundle_holds_the_patients_vital_signs_and_no_one_elses(self) -> None:
        reading = make_checkpoint(make_session(self.pat, self.paula), self.nick, heart_rate=71)
        make_checkpoint(make_session(self.quinn, self.paula), self.nick, heart_rate=88)
        self.login(self.pat_user)
        bundle = json.loads(self.client.get(f"/portal/{self.pat.pk}/record.json").content)
        observations = [
            entry["resource"]
            for entry in bundle["entry"]
            if entry["resource"]["resourceType"] == "Observation"
        ]
        self.assertEqual([o["id"] for o in observations], [f"hr-{reading.pk}"])
        self.assertEqual(observations[0]["valueQuantity"]["value"], 71)
