"""What a FHIR client expects of the server: errors as OperationOutcome, HEAD and OPTIONS,
search controls, versions with conditional reads, create, conditional create and batch."""

from datetime import UTC, datetime
from typing import Any

from django.test import Client

from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_alert, make_response
from katclinic.fhir.tests.test_import import patient
from katclinic.fhir.tests.test_import_responses import answers, response
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.measures.models import Response, SafetyAlert
from katclinic.patients.models import Patient
from katclinic.patients.services import update_patient

FHIR_JSON = "application/fhir+json; charset=utf-8"


class FeatureTestCase(FhirTestCase):
    def call(self, method: str, path: str, user: Any = None, **headers: str) -> Any:
        auth = {"Authorization": f"Bearer {self.token(user or self.paula)}"}
        return getattr(Client(), method)(f"/fhir/R4/{path}", headers=auth | headers)

    def create(self, body: Any, path: str = "Patient", user: Any = None, **headers: str) -> Any:
        auth = {"Authorization": f"Bearer {self.token(user or self.paula)}"}
        return Client().post(
            f"/fhir/R4/{path}", body, content_type="application/fhir+json", headers=auth | headers
        )

    def assert_outcome(self, answer: Any, status: int) -> dict[str, Any]:
        self.assertEqual(answer.status_code, status, answer.content)
        self.assertEqual(answer["Content-Type"], FHIR_JSON)
        body = answer.json()
        self.assertEqual(body["resourceType"], "OperationOutcome")
        assert_valid(body)
        return body


class ErrorsTest(FeatureTestCase):
    def test_every_unserved_path_is_an_operation_outcome(self) -> None:
        for path in [
            "Basic/1",
            "Location?patient=1",
            f"Patient/{self.pat.pk}/_history",
            "Patient/_history",
            f"Patient/{self.pat.pk}/$summary",
            ".well-known/udap",  # smart-configuration is served (katclinic.smart)
            "Patient/999999",
            f"Patient/{self.pat.pk}/_history/nope",
        ]:
            with self.subTest(path=path):
                self.assert_outcome(self.call("get", path), 404)
        for path in ("/fhir/", "/fhir/R5/metadata", "/fhir/R4"):
            with self.subTest(path=path):
                self.assert_outcome(Client().get(path), 404)
        body = self.assert_outcome(self.call("get", "Basic"), 404)
        self.assertIn("Basic is not served", body["issue"][0]["diagnostics"])

    def test_wrong_method_xml_head_and_options(self) -> None:
        answer = self.call("delete", f"Patient/{self.pat.pk}")
        self.assert_outcome(answer, 405)
        self.assertIn("GET", answer["Allow"])
        self.assert_outcome(self.call("put", f"Patient/{self.pat.pk}"), 405)
        self.assert_outcome(self.call("post", "Observation"), 405)
        xml = self.call("get", f"Patient/{self.pat.pk}", Accept="application/fhir+xml")
        self.assert_outcome(xml, 406)
        either = "application/fhir+xml, application/fhir+json;q=0.9"
        self.assertEqual(self.call("get", f"Patient/{self.pat.pk}", Accept=either).status_code, 200)
        get = self.call("get", f"Patient/{self.pat.pk}")
        head = self.call("head", f"Patient/{self.pat.pk}")
        self.assertEqual((head.status_code, head.content), (200, b""))
        self.assertEqual(head["ETag"], get["ETag"])
        self.assertEqual(head["Content-Type"], FHIR_JSON)
        options = Client().options("/fhir/R4/Patient")
        self.assertEqual(options.status_code, 200)
        self.assertEqual(options["Allow"], "GET, POST, HEAD, OPTIONS")
        self.assertEqual(Client().options("/fhir/R4/Observation")["Allow"], "GET, HEAD, OPTIONS")
        posted = self.call("post", "Observation")
        self.assertEqual(posted["Allow"], "GET, HEAD, OPTIONS")
        search_head = self.call("head", "Patient")
        self.assertEqual((search_head.status_code, search_head.content), (200, b""))


class SearchControlsTest(FeatureTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.first = make_response(self.pat)
        self.second = make_response(self.pat)

    def test_count_zero_and_summary_count_give_the_total_only(self) -> None:
        for params in ({"_count": "0"}, {"_summary": "count"}):
            body = self.get("QuestionnaireResponse", patient=f"Patient/{self.pat.pk}", **params)
            body = body.json()
            assert_valid(body)
            self.assertEqual((body["total"], body["entry"]), (2, []))
        body = self.get("QuestionnaireResponse", _total="none").json()
        self.assertNotIn("total", body)
        assert_valid(body)
        for name, value in (("_total", "maybe"), ("_summary", "text"), ("_count", "-1")):
            answer = self.get("QuestionnaireResponse", **{name: value})
            self.assertEqual(answer.status_code, 400, name)
            self.assertEqual(answer.json()["issue"][0]["expression"], [name])

    def test_sort_by_date_and_id_and_an_unknown_sort_is_a_400(self) -> None:
        def ids(**params: str) -> list[str]:
            body = self.get("QuestionnaireResponse", **params).json()
            return [e["resource"]["id"] for e in body["entry"]]

        older, newer = str(self.first.pk), str(self.second.pk)
        self.assertEqual(ids(_sort="_id"), [older, newer])
        self.assertEqual(ids(_sort="-_id"), [newer, older])
        Response.objects.filter(pk=self.second.pk).update(
            submitted_at=self.first.submitted_at.replace(year=2020)
        )
        self.assertEqual(ids(_sort="authored"), [newer, older])
        answer = self.get("QuestionnaireResponse", _sort="colour")
        body = self.assert_outcome(answer, 400)
        self.assertEqual(body["issue"][0]["expression"], ["_sort"])
        self.assertIn("colour", body["issue"][0]["diagnostics"])

    def test_elements_keep_id_meta_and_mandatory_elements(self) -> None:
        body = self.get("Observation", _elements="valueInteger").json()
        resource = body["entry"][0]["resource"]
        assert_valid(resource)
        self.assertEqual(
            set(resource), {"resourceType", "id", "meta", "status", "code", "valueInteger"}
        )
        self.assertEqual(resource["meta"]["tag"][-1]["code"], "SUBSETTED")
        self.assertEqual(self.get("Observation", _elements="a.b").status_code, 400)

    def test_subject_status_unknown_codes_and_lenient_handling(self) -> None:
        make_response(self.quinn)
        body = self.get("QuestionnaireResponse", subject=f"Patient/{self.pat.pk}").json()
        self.assertEqual(body["total"], 2)
        body = self.get("QuestionnaireResponse", status="completed").json()
        self.assertEqual(body["total"], 3)
        self.assertEqual(self.get("Observation", status="final").json()["total"], 3)
        self.assertEqual(self.get("Observation", status="preliminary").json()["total"], 0)
        make_alert(self.first)
        for type_name, params in (
            ("Flag", {"status": "nonsense"}),
            ("Observation", {"code": "http://loinc.org|0000-0"}),
            ("Observation", {"category": "laboratory"}),
            ("Consent", {"status": "proposed"}),
        ):
            answer = self.get(type_name, **params)
            self.assertEqual(answer.status_code, 200, params)
            self.assertEqual((answer.json()["total"], answer.json()["entry"]), (0, []))
        strict = self.get("Patient", colour="blue")
        self.assertEqual(self.assert_outcome(strict, 400)["issue"][0]["expression"], ["colour"])
        lenient = Client().get(
            "/fhir/R4/Patient",
            {"colour": "blue"},
            headers={
                "Authorization": f"Bearer {self.token(self.paula)}",
                "Prefer": "handling=lenient",
            },
        )
        self.assertEqual(lenient.status_code, 200)
        self.assertEqual(
            lenient.json()["total"], Patient.objects.filter(clinic=self.clinic).count()
        )


class VersionsTest(FeatureTestCase):
    def test_meta_etag_vread_and_conditional_reads(self) -> None:
        answer = self.call("get", f"Patient/{self.pat.pk}")
        resource = answer.json()
        assert_valid(resource)
        version = resource["meta"]["versionId"]
        self.assertEqual(answer["ETag"], f'W/"{version}"')
        self.assertIn("lastUpdated", resource["meta"])
        modified = answer["Last-Modified"]
        vread = self.call("get", f"Patient/{self.pat.pk}/_history/{version}")
        self.assertEqual((vread.status_code, vread.json()), (200, resource))
        self.assert_outcome(self.call("get", f"Patient/{self.pat.pk}/_history/1"), 404)
        same = self.call("get", f"Patient/{self.pat.pk}", **{"If-None-Match": f'W/"{version}"'})
        self.assertEqual((same.status_code, same.content), (304, b""))
        other = self.call("get", f"Patient/{self.pat.pk}", **{"If-None-Match": 'W/"other"'})
        self.assertEqual(other.status_code, 200)
        since = self.call("get", f"Patient/{self.pat.pk}", **{"If-Modified-Since": modified})
        self.assertEqual(since.status_code, 304)
        earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
        stale = self.call("get", f"Patient/{self.pat.pk}", **{"If-Modified-Since": earlier})
        self.assertEqual(stale.status_code, 200)
        Patient.objects.filter(pk=self.pat.pk).update(first_name="Patricia")
        changed = self.call("get", f"Patient/{self.pat.pk}", **{"If-None-Match": f'W/"{version}"'})
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed.json()["meta"]["versionId"], version)

    def test_a_recorded_change_moves_last_updated_and_the_version(self) -> None:
        Patient.objects.filter(pk=self.pat.pk).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
        first = self.call("get", f"Patient/{self.pat.pk}")
        self.assertEqual(first.json()["meta"]["lastUpdated"], "2020-01-01T00:00:00Z")
        update_patient(patient=self.pat, data={"first_name": "Patricia"}, by=self.alice)
        second = self.call("get", f"Patient/{self.pat.pk}")
        self.assertGreater(
            second.json()["meta"]["lastUpdated"], first.json()["meta"]["lastUpdated"]
        )
        self.assertNotEqual(second["ETag"], first["ETag"])
        since = first["Last-Modified"]
        answer = self.call("get", f"Patient/{self.pat.pk}", **{"If-Modified-Since": since})
        self.assertEqual(answer.status_code, 200)

    def test_every_served_type_carries_a_version(self) -> None:
        make_alert(make_response(self.pat))
        for type_name in ("Questionnaire", "QuestionnaireResponse", "Observation", "Flag"):
            body = self.get(type_name).json()
            assert_valid(body)
            for entry in body["entry"]:
                self.assertTrue(entry["resource"]["meta"]["versionId"], type_name)


class CreateTest(FeatureTestCase):
    def test_post_patient_creates_it_with_location_and_etag(self) -> None:
        answer = self.create(patient("Created"))
        self.assertEqual(answer.status_code, 201, answer.content)
        body = answer.json()
        assert_valid(body)
        stored = Patient.objects.get(clinic=self.clinic, last_name="Created")
        self.assertEqual(body["id"], str(stored.pk))
        self.assertTrue(
            answer["Location"].endswith(
                f"/fhir/R4/Patient/{stored.pk}/_history/{body['meta']['versionId']}"
            )
        )
        self.assertEqual(answer["ETag"], f'W/"{body["meta"]["versionId"]}"')
        path = answer["Location"].split("/fhir/R4/", 1)[1]
        self.assertEqual(self.call("get", path).json(), body)

    def test_bad_input_is_a_4xx_naming_the_field_and_stores_nothing(self) -> None:
        before = Patient.objects.count()
        answer = self.create(patient("Bad", born="yesterday"))
        body = self.assert_outcome(answer, 422)
        self.assertEqual(body["issue"][0]["expression"], ["Patient.birthDate"])
        self.assert_outcome(self.create("{nope"), 400)
        self.assert_outcome(self.create(response(f"Patient/{self.pat.pk}")), 400)
        refused = self.create(patient("Refused"), user=self.tara)
        self.assert_outcome(refused, 403)
        self.assertEqual(Patient.objects.count(), before)

    def test_conditional_create_finds_the_same_patient_or_response(self) -> None:
        first = self.create(
            patient("Once"), **{"If-None-Exist": "family=Once&birthdate=1990-02-03"}
        )
        self.assertEqual(first.status_code, 201)
        again = self.create(
            patient("Once"), **{"If-None-Exist": "family=Once&birthdate=1990-02-03"}
        )
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertEqual(Patient.objects.filter(last_name="Once").count(), 1)
        self.create(patient("Once", born="1991-01-01"))
        both = self.create(patient("Once"), **{"If-None-Exist": "family=Once"})
        self.assert_outcome(both, 412)
        # The same response twice: one stored, one alert.
        posted = response(f"Patient/{self.pat.pk}", answers(q9=2), authored="2026-01-05T10:00:00Z")
        condition = (
            f"patient=Patient/{self.pat.pk}&authored=2026-01-05T10:00:00Z&questionnaire=phq9"
        )
        alerts = SafetyAlert.objects.count()
        made = self.create(posted, "QuestionnaireResponse", **{"If-None-Exist": condition})
        self.assertEqual(made.status_code, 201, made.content)
        again = self.create(posted, "QuestionnaireResponse", **{"If-None-Exist": condition})
        self.assertEqual((again.status_code, again.json()["id"]), (200, made.json()["id"]))
        self.assertEqual(Response.objects.filter(patient=self.pat).count(), 1)
        self.assertEqual(SafetyAlert.objects.count(), alerts + 1)
        bad = self.create(posted, "QuestionnaireResponse", **{"If-None-Exist": "colour=red"})
        self.assertEqual(self.assert_outcome(bad, 400)["issue"][0]["expression"], ["colour"])

    def test_a_transaction_refuses_if_none_exist_rather_than_ignore_it(self) -> None:
        before = Patient.objects.count()
        entry = {
            "resource": patient("Twice"),
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": "family=Twice"},
        }
        answer = self.post({"resourceType": "Bundle", "type": "transaction", "entry": [entry]})
        body = self.assert_outcome(answer, 422)
        self.assertEqual(body["issue"][0]["expression"], ["Bundle.entry[0].request.ifNoneExist"])
        self.assertEqual(Patient.objects.count(), before)

    def test_prefer_return(self) -> None:
        minimal = self.create(patient("Minimal"), Prefer="return=minimal")
        self.assertEqual((minimal.status_code, minimal.content), (201, b""))
        self.assertIn("/Patient/", minimal["Location"])
        outcome = self.create(patient("Outcome"), Prefer="return=OperationOutcome")
        self.assert_outcome(outcome, 201)
        full = self.create(patient("Full"), Prefer="return=representation")
        self.assertEqual(full.json()["resourceType"], "Patient")

    def test_batch_entries_stand_on_their_own(self) -> None:
        batch = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {"resource": patient("Good"), "request": {"method": "POST", "url": "Patient"}},
                {
                    "resource": patient("Bad", born="soon"),
                    "request": {"method": "POST", "url": "Patient"},
                },
                {
                    "resource": response(f"Patient/{self.pat.pk}"),
                    "request": {"method": "POST", "url": "QuestionnaireResponse"},
                },
                {"request": {"method": "DELETE", "url": "Patient/1"}},
                {
                    "resource": patient("Good"),
                    "request": {"method": "POST", "url": "Patient", "ifNoneExist": "family=Good"},
                },
            ],
        }
        answer = self.post(batch)
        self.assertEqual(answer.status_code, 200, answer.content)
        body = answer.json()
        assert_valid(body)
        self.assertEqual(body["type"], "batch-response")
        statuses = [e["response"]["status"].split()[0] for e in body["entry"]]
        self.assertEqual(statuses, ["201", "422", "201", "400", "200"])
        self.assertEqual(
            body["entry"][1]["response"]["outcome"]["issue"][0]["expression"],
            ["Bundle.entry[1].resource.birthDate"],
        )
        self.assertEqual(Patient.objects.filter(last_name="Good").count(), 1)
        self.assertFalse(Patient.objects.filter(last_name="Bad").exists())
        for entry in body["entry"]:
            if "location" in entry["response"]:
                self.assertEqual(self.call("get", entry["response"]["location"]).status_code, 200)

    def test_the_capability_statement_lists_what_is_supported(self) -> None:
        body = self.client.get("/fhir/R4/metadata").json()
        assert_valid(body)
        rest = body["rest"][0]
        self.assertEqual({i["code"] for i in rest["interaction"]}, {"transaction", "batch"})
        served = {r["type"]: r for r in rest["resource"]}
        patient_entry = served["Patient"]
        self.assertEqual(
            {i["code"] for i in patient_entry["interaction"]},
            {"read", "vread", "search-type", "create"},
        )
        self.assertTrue(patient_entry["conditionalCreate"])
        self.assertEqual(patient_entry["versioning"], "versioned")
        names = {p["name"] for p in patient_entry["searchParam"]}
        self.assertTrue({"_count", "_sort", "_summary", "_elements", "_total"} <= names)
        self.assertNotIn("create", {i["code"] for i in served["Observation"]["interaction"]})
