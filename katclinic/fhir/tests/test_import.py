"""Transaction Bundle import: all or nothing, every failing element named, audited per resource."""

from typing import Any

from katclinic.audit.models import Action, AuditEvent
from katclinic.audit.services import verify_chain
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.patients.models import Patient


def patient(family: str, born: str = "1990-02-03") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": ["Ivy"]}],
        "birthDate": born,
        "gender": "female",
    }


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": r.get("resourceType")}}
            for r in resources
        ],
    }


class ImportTest(FhirTestCase):
    def test_it_creates_every_patient_with_one_audit_event_each(self) -> None:
        events = self.events()
        mrn = {"identifier": [{"system": "urn:katclinic:mrn", "value": "X-77"}]}
        response = self.post(bundle(patient("One"), patient("Two") | mrn, patient("Three")))
        self.assertEqual(response.status_code, 200, response.content)
        assert_valid(response.json())
        created = Patient.objects.filter(clinic=self.clinic, first_name="Ivy").order_by("pk")
        self.assertEqual([p.last_name for p in created], ["One", "Two", "Three"])
        self.assertEqual([p.mrn for p in created], ["K000003", "X-77", "K000004"])
        locations = [e["response"]["location"] for e in response.json()["entry"]]
        self.assertEqual(
            [location.rsplit("/", 1)[0] for location in locations],
            [f"Patient/{p.pk}/_history" for p in created],
        )
        self.assertEqual(self.events(), events + 3)
        new = AuditEvent.objects.order_by("-pk")[:3]
        self.assertEqual(
            {(e.action, e.patient_id) for e in new}, {(Action.CREATE, p.pk) for p in created}
        )
        self.assertEqual(list(verify_chain(self.clinic.pk)), [])
        for location in locations:  # each location answers: the current version
            self.assertEqual(self.get(location).status_code, 200, location)

    def test_a_bad_entry_refuses_the_whole_bundle_naming_each_element(self) -> None:
        patients, events = Patient.objects.count(), self.events()
        bad = bundle(
            patient("Fine"),
            patient("Bad", born="1990-13-01"),
            {"resourceType": "Patient", "name": [{"family": 7}], "gender": "x"},
        )
        response = self.post(bad)
        self.assertEqual(response.status_code, 422)
        expressions = {e for issue in response.json()["issue"] for e in issue.get("expression", [])}
        self.assertIn("Bundle.entry[1].resource.birthDate", expressions)
        self.assertIn("Bundle.entry[2].resource.name[0].family", expressions)
        self.assertIn("Bundle.entry[2].resource.gender", expressions)
        self.assertIn("Bundle.entry[2].resource.birthDate", expressions)
        self.assertFalse(any(e.startswith("Bundle.entry[0]") for e in expressions))
        self.assertEqual((Patient.objects.count(), self.events()), (patients, events))

    def test_a_record_number_in_use_refuses_the_bundle(self) -> None:
        patients = Patient.objects.count()
        taken = {"identifier": [{"system": "urn:katclinic:mrn", "value": "K000001"}]}
        response = self.post(bundle(patient("Clash") | taken))
        self.assertEqual(response.status_code, 422)
        self.assertEqual(
            response.json()["issue"][0]["expression"], ["Bundle.entry[0].resource.identifier"]
        )
        self.assertEqual(Patient.objects.count(), patients)

    def test_not_a_transaction_an_empty_batch_or_not_json_is_a_400(self) -> None:
        patients = Patient.objects.count()
        collection = self.post(bundle(patient("Kept")) | {"type": "collection"})
        self.assertEqual(collection.status_code, 400)
        self.assertEqual(collection.json()["issue"][0]["expression"], ["Bundle.type"])
        empty = self.post({"resourceType": "Bundle", "type": "batch", "entry": []})
        self.assertEqual(empty.status_code, 400)
        self.assertEqual(empty.json()["issue"][0]["expression"], ["Bundle.entry"])
        self.assertEqual(self.post("{nope").status_code, 400)
        self.assertEqual(Patient.objects.count(), patients)

    def test_a_patient_token_may_not_import(self) -> None:
        patients = Patient.objects.count()
        self.assertEqual(self.post(bundle(patient("Sneaky")), self.pat_user).status_code, 403)
        self.assertEqual(Patient.objects.count(), patients)

    def test_a_therapist_may_not_register_patients(self) -> None:
        patients = Patient.objects.count()
        self.assertEqual(self.post(bundle(patient("Nope")), self.tara).status_code, 403)
        self.assertEqual(Patient.objects.count(), patients)
