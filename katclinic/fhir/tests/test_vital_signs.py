"""Vital signs and session ratings from dosing-session checkpoints, served over HTTP as
Observations next to the instrument totals: codes, values and units, searches, paging
across both sources, versions, includes, and only ever a patient's own through their token."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from katclinic.audit.models import AuditEvent
from katclinic.dosing.models import Checkpoint
from katclinic.fhir.resources.observation import US_CORE_SCREENING
from katclinic.fhir.resources.vital_signs import (
    MEASURE_SYSTEM,
    US_CORE_BLOOD_PRESSURE,
    US_CORE_HEART_RATE,
    US_CORE_PULSE_OXIMETRY,
    US_CORE_RESPIRATORY_RATE,
    VITAL_PROFILES,
)
from katclinic.fhir.search import utc
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_checkpoint, make_response, make_session
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.measures.models import Response
from katclinic.smart import services as smart_services
from katclinic.smart.auth import served_types
from katclinic.smart.oauth import s256
from katclinic.smart.scopes import parse_scopes
from katclinic.smart.tests.backend_helpers import Service, token_for
from katclinic.smart.tests.helpers import REDIRECT, VERIFIER, body, exchange, register

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def codes(resource: dict[str, Any]) -> list[str]:
    return [coding["code"] for coding in resource["code"]["coding"]]


class VitalSignsTestCase(FhirTestCase):
    start: datetime
    session: Any
    reading: Checkpoint

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.start = timezone.now() - timedelta(hours=3)
        cls.session = make_session(cls.pat, cls.paula, at=cls.start)
        cls.reading = make_checkpoint(cls.session, cls.nick, at=cls.start + timedelta(minutes=40))

    def search(self, user: Any = None, **params: Any) -> dict[str, Any]:
        response = self.get("Observation", user or self.paula, **params)
        self.assertEqual(response.status_code, 200, response.content)
        bundle: dict[str, Any] = response.json()
        assert_valid(bundle)
        return bundle

    def read(self, resource_id: str, user: Any = None) -> dict[str, Any]:
        response = self.get(f"Observation/{resource_id}", user or self.paula)
        self.assertEqual(response.status_code, 200, response.content)
        resource: dict[str, Any] = response.json()
        assert_valid(resource)
        return resource


class ReadingsTest(VitalSignsTestCase):
    def test_each_measure_taken_is_an_observation_with_its_code_value_and_unit(self) -> None:
        pk = self.reading.pk
        bundle = self.search(patient=self.pat.pk, category="vital-signs")
        self.assertEqual(
            sorted(ids(bundle)), sorted(f"{key}-{pk}" for key in ("bp", "hr", "rr", "spo2"))
        )
        by_id = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
        pressure = by_id[f"bp-{pk}"]
        self.assertEqual(pressure["meta"]["profile"], [US_CORE_BLOOD_PRESSURE])
        self.assertEqual(codes(pressure), ["85354-9"])
        self.assertNotIn("valueQuantity", pressure)
        sides = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in pressure["component"]}
        self.assertEqual(
            sides,
            {
                "8480-6": {"value": 128, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
                "8462-4": {"value": 82, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
            },
        )
        expected = {
            f"hr-{pk}": (US_CORE_HEART_RATE, ["8867-4"], 74, "/min"),
            f"rr-{pk}": (US_CORE_RESPIRATORY_RATE, ["9279-1"], 14, "/min"),
            f"spo2-{pk}": (US_CORE_PULSE_OXIMETRY, ["59408-5", "2708-6"], 98, "%"),
        }
        for resource_id, (profile, loinc, value, unit) in expected.items():
            resource = by_id[resource_id]
            self.assertEqual(resource["meta"]["profile"], [profile])
            self.assertEqual(codes(resource), loinc)
            self.assertEqual({c["system"] for c in resource["code"]["coding"]}, {LOINC})
            quantity = resource["valueQuantity"]
            self.assertEqual((quantity["value"], quantity["system"]), (value, UCUM))
            self.assertEqual(quantity["code"], unit)
        for resource in by_id.values():
            self.assertEqual(resource["status"], "final")
            self.assertEqual(resource["category"][0]["coding"][0]["code"], "vital-signs")
            self.assertEqual(resource["subject"], {"reference": f"Patient/{self.pat.pk}"})
            self.assertEqual(resource["encounter"], {"reference": f"Encounter/{self.session.pk}"})
            self.assertEqual(resource["performer"], [{"reference": f"Practitioner/{self.nick.pk}"}])
            self.assertEqual(resource["effectiveDateTime"], utc(self.reading.taken_at))

    def test_sedation_and_dissociation_ratings_carry_local_codes_and_no_profile(self) -> None:
        pk = self.reading.pk
        sedation = self.read(f"moaas-{pk}")
        self.assertEqual(sedation["category"][0]["coding"][0]["code"], "exam")
        self.assertEqual(sedation["code"]["coding"][0]["system"], MEASURE_SYSTEM)
        self.assertEqual((codes(sedation), sedation["valueInteger"]), (["moaas"], 4))
        self.assertNotIn("profile", sedation["meta"])
        dissociation = self.read(f"cadss6-{pk}")
        self.assertEqual(dissociation["category"][0]["coding"][0]["code"], "survey")
        self.assertEqual((codes(dissociation), dissociation["valueInteger"]), (["cadss6"], 6))
        self.assertNotIn("profile", dissociation["meta"])
        exams = self.search(patient=self.pat.pk, category="exam")
        self.assertEqual(ids(exams), [f"moaas-{pk}"])

    def test_a_measure_not_taken_is_no_observation(self) -> None:
        only_pulse = make_checkpoint(self.session, self.nick, heart_rate=90)
        found = ids(self.search(encounter=self.session.pk))
        self.assertIn(f"hr-{only_pulse.pk}", found)
        for key in ("bp", "rr", "spo2", "moaas", "cadss6"):
            self.assertNotIn(f"{key}-{only_pulse.pk}", found)
            self.assertEqual(self.get(f"Observation/{key}-{only_pulse.pk}").status_code, 404)

    def test_a_pressure_with_one_side_taken_says_the_other_was_not_performed(self) -> None:
        half = make_checkpoint(self.session, self.nick, systolic=141)
        pressure = self.read(f"bp-{half.pk}")
        diastolic = pressure["component"][1]
        self.assertEqual(diastolic["code"]["coding"][0]["code"], "8462-4")
        self.assertNotIn("valueQuantity", diastolic)
        self.assertEqual(diastolic["dataAbsentReason"]["coding"][0]["code"], "not-performed")

    def test_malformed_or_unknown_ids_are_404_outcomes(self) -> None:
        pk = self.reading.pk
        score = make_response(self.pat).pk
        self.assertEqual(self.get(f"Observation/{score}").status_code, 200)
        for raw in (
            f"-{score}",
            f"hr-0{pk}",
            "bp-",
            "bp-x",
            "bp--1",
            "bp-0",
            f"xx-{pk}",
            f"-{pk}",
            f"bp-{pk}-1",
            "bp-99999999999999999999999",
            f"hr-{pk}.0",
            f"HR-{pk}",
            "bp-١٢",
        ):
            response = self.get(f"Observation/{raw}")
            self.assertEqual(response.status_code, 404, raw)
            self.assertEqual(response.json()["resourceType"], "OperationOutcome", raw)
            self.assertEqual(self.get("Observation", _id=raw).json()["total"], 0, raw)

    def test_a_score_and_a_reading_with_the_same_number_are_different_observations(self) -> None:
        number = 987_654
        Response.objects.filter(pk=make_response(self.pat).pk).update(id=number)
        make_checkpoint(self.session, self.nick, id=number, heart_rate=66)
        score = Response.objects.get(pk=number)
        self.assertEqual(self.read(str(score.pk))["valueInteger"], score.total)
        self.assertEqual(self.read(f"hr-{score.pk}")["valueQuantity"]["value"], 66)
        both = self.search(_id=f"{score.pk},hr-{score.pk}")
        self.assertEqual(sorted(ids(both)), sorted([str(score.pk), f"hr-{score.pk}"]))

    def test_a_read_is_audited_under_the_observations_own_id(self) -> None:
        self.read(f"hr-{self.reading.pk}")
        event = AuditEvent.objects.filter(object_type="fhir.Observation").latest("id")
        self.assertEqual(event.object_id, f"hr-{self.reading.pk}")
        self.assertEqual(event.patient_id, self.pat.pk)


class SearchTest(VitalSignsTestCase):
    def test_code_with_and_without_its_system(self) -> None:
        pk = self.reading.pk
        self.assertEqual(ids(self.search(code=f"{LOINC}|8867-4")), [f"hr-{pk}"])
        self.assertEqual(ids(self.search(code="2708-6")), [f"spo2-{pk}"])
        self.assertEqual(
            sorted(ids(self.search(code=f"{LOINC}|9279-1,{LOINC}|85354-9"))),
            sorted([f"rr-{pk}", f"bp-{pk}"]),
        )
        self.assertEqual(ids(self.search(code=f"{MEASURE_SYSTEM}|cadss6")), [f"cadss6-{pk}"])
        self.assertEqual(ids(self.search(code="urn:other|8867-4")), [])

    def test_dates_with_prefixes(self) -> None:
        later = make_checkpoint(
            self.session, self.nick, at=self.start + timedelta(days=2), heart_rate=61
        )
        day = timezone.localtime(later.taken_at).date().isoformat()
        self.assertEqual(ids(self.search(code="8867-4", date=day)), [f"hr-{later.pk}"])
        self.assertEqual(
            ids(self.search(code="8867-4", date=f"lt{day}")), [f"hr-{self.reading.pk}"]
        )
        self.assertEqual(ids(self.search(code="8867-4", date=f"ge{day}")), [f"hr-{later.pk}"])
        both = self.search(code="8867-4", date=f"ne{day}", _sort="date")
        self.assertEqual(ids(both), [f"hr-{self.reading.pk}"])
        self.assertEqual(self.get("Observation", date="2025-13").status_code, 400)

    def test_encounter_status_and_category_narrow_the_search(self) -> None:
        other = make_session(self.pat, self.paula, at=self.start - timedelta(days=1))
        elsewhere = make_checkpoint(other, self.nick, respiratory_rate=18)
        make_response(self.pat)
        self.assertEqual(
            ids(self.search(encounter=f"Encounter/{other.pk}")), [f"rr-{elsewhere.pk}"]
        )
        self.assertEqual(len(ids(self.search(encounter=self.session.pk))), 6)
        self.assertEqual(len(ids(self.search(patient=self.pat.pk, status="final"))), 8)
        self.assertEqual(ids(self.search(patient=self.pat.pk, status="amended")), [])
        surveys = self.search(patient=self.pat.pk, category="survey")
        self.assertEqual(len(ids(surveys)), 2)  # the PHQ-9 total and the CADSS-6
        response = self.get("Observation", encounter="Patient/1")
        self.assertEqual(response.status_code, 400)
        self.assertIn("Encounter", response.json()["issue"][0]["diagnostics"])

    def test_summary_elements_and_total(self) -> None:
        make_response(self.pat)
        counted = self.search(patient=self.pat.pk, _summary="count")
        self.assertEqual((counted["total"], counted.get("entry", [])), (7, []))
        slim = self.search(code="8867-4", _elements="valueQuantity")
        resource = slim["entry"][0]["resource"]
        self.assertEqual(
            set(resource) - {"meta"}, {"resourceType", "id", "status", "code", "valueQuantity"}
        )
        self.assertNotIn("total", self.search(code="8867-4", _total="none"))

    def test_includes_follow_the_encounter_performer_and_patient(self) -> None:
        bundle = self.search(
            code="8867-4",
            _include=["Observation:encounter", "Observation:performer", "Observation:patient"],
        )
        included = {
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in bundle["entry"]
            if e["search"]["mode"] == "include"
        }
        self.assertEqual(
            included,
            {
                f"Encounter/{self.session.pk}",
                f"Practitioner/{self.nick.pk}",
                f"Patient/{self.pat.pk}",
            },
        )
        rev = self.get("Encounter", _id=self.session.pk, _revinclude="Observation:encounter").json()
        found = sorted(
            e["resource"]["id"] for e in rev["entry"] if e["search"]["mode"] == "include"
        )
        keys = ("bp", "cadss6", "hr", "moaas", "rr", "spo2")
        self.assertEqual(found, sorted(f"{key}-{self.reading.pk}" for key in keys))


class PagingTest(VitalSignsTestCase):
    def test_pages_across_scores_and_readings_are_ordered_and_never_overlap(self) -> None:
        for hours in (1, 4, 6):
            make_response(self.pat, at=self.start + timedelta(hours=hours - 2))
        make_checkpoint(self.session, self.nick, at=self.start + timedelta(hours=2), spo2=95)
        seen: list[dict[str, Any]] = []
        url: str | None = f"Observation?patient={self.pat.pk}&_count=3"
        while url:
            response = self.get(url.split("/fhir/R4/")[-1])
            self.assertEqual(response.status_code, 200, response.content)
            bundle = response.json()
            self.assertEqual(bundle["total"], 10)
            seen += [e["resource"] for e in bundle["entry"]]
            links = {link["relation"]: link["url"] for link in bundle["link"]}
            url = links.get("next")
        self.assertEqual(len(seen), 10)
        self.assertEqual(len({r["id"] for r in seen}), 10)
        moments = [r["effectiveDateTime"] for r in seen]
        self.assertEqual(moments, sorted(moments, reverse=True))
        kinds = {r["code"]["coding"][0]["code"] for r in seen}
        self.assertIn("44261-6", kinds)
        self.assertIn("8867-4", kinds)

    def test_sorting_by_date_and_id(self) -> None:
        make_response(self.pat, at=self.start - timedelta(days=1))
        oldest_first = ids(self.search(patient=self.pat.pk, _sort="date,_id"))
        self.assertEqual(len(oldest_first), 7)
        newest_first = ids(self.search(patient=self.pat.pk, _sort="-date,-_id"))
        self.assertEqual(newest_first, list(reversed(oldest_first)))
        self.assertEqual(self.get("Observation", _sort="heart").status_code, 400)


class VersionTest(VitalSignsTestCase):
    def test_a_reading_has_a_version_etag_and_answers_vread_and_304(self) -> None:
        resource_id = f"hr-{self.reading.pk}"
        response = self.get(f"Observation/{resource_id}")
        version = response.json()["meta"]["versionId"]
        self.assertEqual(response["ETag"], f'W/"{version}"')
        self.assertEqual(response.json()["meta"]["lastUpdated"], utc(self.reading.recorded_at))
        again = self.get(f"Observation/{resource_id}/_history/{version}")
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json(), response.json())
        self.assertEqual(self.get(f"Observation/{resource_id}/_history/0").status_code, 404)
        headers = {
            "Authorization": f"Bearer {self.token(self.paula)}",
            "If-None-Match": f'W/"{version}"',
        }
        cached = self.client.get(f"/fhir/R4/Observation/{resource_id}", headers=headers)
        self.assertEqual(cached.status_code, 304)
        # Another measure of the same checkpoint is another resource with its own version.
        pulse_ox = self.get(f"Observation/spo2-{self.reading.pk}").json()
        self.assertNotEqual(pulse_ox["meta"]["versionId"], version)


class AccessTest(VitalSignsTestCase):
    quinns: Checkpoint

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.quinns = make_checkpoint(make_session(cls.quinn, cls.paula), cls.nick)

    def test_a_patient_token_sees_only_its_own_readings(self) -> None:
        own = self.search(self.pat_user, patient=self.pat.pk)
        keys = ("bp", "hr", "rr", "spo2", "moaas", "cadss6")
        self.assertEqual(sorted(ids(own)), sorted(f"{k}-{self.reading.pk}" for k in keys))
        self.assertEqual(
            self.read(f"hr-{self.reading.pk}", self.pat_user)["id"], f"hr-{self.reading.pk}"
        )
        before = self.events()
        self.assertEqual(
            self.get(f"Observation/hr-{self.quinns.pk}", self.pat_user).status_code, 404
        )
        self.assertEqual(
            self.get("Observation", self.pat_user, patient=self.quinn.pk).status_code, 404
        )
        self.assertEqual(self.get("Observation", self.pat_user).status_code, 403)
        self.assertEqual(self.events(), before + 3)  # each refusal recorded
        by_encounter = self.get(
            "Observation", self.pat_user, patient=self.pat.pk, encounter=self.quinns.session_id
        )
        self.assertEqual(ids(by_encounter.json()), [])

    def test_staff_need_the_clinical_permission_and_their_own_clinic(self) -> None:
        self.assertEqual(self.get(f"Observation/hr-{self.reading.pk}", self.alice).status_code, 403)
        self.assertEqual(self.get(f"Observation/hr-{self.reading.pk}", self.oscar).status_code, 404)
        self.assertEqual(
            ids(self.search(self.nick, code="8867-4", patient=self.quinn.pk)),
            [f"hr-{self.quinns.pk}"],
        )

    def test_everything_holds_the_patients_readings_and_no_one_elses(self) -> None:
        bundle = self.get(f"Patient/{self.pat.pk}/$everything", self.paula).json()
        observations = [
            e["resource"]["id"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Observation"
        ]
        keys = ("bp", "hr", "rr", "spo2", "moaas", "cadss6")
        self.assertEqual(sorted(observations), sorted(f"{k}-{self.reading.pk}" for k in keys))


class AppAccessTest(VitalSignsTestCase):
    quinns: Checkpoint

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.quinns = make_checkpoint(make_session(cls.quinn, cls.paula), cls.nick)

    def bearer(self, token: str, path: str, **params: Any) -> Any:
        return Client().get(
            f"/fhir/R4/{path}", params, headers={"Authorization": f"Bearer {token}"}
        )

    def smart_token(self, scopes: str) -> str:
        app = register(self)[0]
        _, code = smart_services.authorize(
            app=app,
            user=self.pat_user,
            patient=self.pat,
            scopes=parse_scopes(f"launch/patient {scopes}", served_types()),
            redirect_uri=REDIRECT,
            code_challenge=s256(VERIFIER),
        )
        return str(body(exchange(app, code))["access_token"])

    def test_a_smart_patient_scope_reads_only_that_patients_readings(self) -> None:
        token = self.smart_token("patient/Observation.rs")
        answer = self.bearer(token, "Observation", category="vital-signs")
        self.assertEqual(answer.status_code, 200, answer.content)
        self.assertEqual(len(ids(answer.json())), 4)
        self.assertTrue(all(f"-{self.reading.pk}" in i for i in ids(answer.json())))
        self.assertEqual(self.bearer(token, f"Observation/hr-{self.quinns.pk}").status_code, 404)
        refused = self.bearer(token, "Observation", patient=self.quinn.pk)
        self.assertEqual(refused.status_code, 404)
        # A scope for Encounter only reads no Observations.
        other = self.smart_token("patient/Encounter.rs")
        self.assertEqual(self.bearer(other, f"Observation/hr-{self.reading.pk}").status_code, 403)

    def test_a_backend_service_reads_readings_only_with_observation_in_its_scopes(self) -> None:
        service = Service()
        app = service.register(self)
        token = token_for(service, app, scope="system/Observation.rs")
        found = ids(self.bearer(token, "Observation", code="8867-4").json())
        self.assertEqual(sorted(found), sorted([f"hr-{self.reading.pk}", f"hr-{self.quinns.pk}"]))
        narrow = token_for(service, app, scope="system/Encounter.rs")
        self.assertEqual(self.bearer(narrow, "Observation", code="8867-4").status_code, 403)
        self.assertEqual(self.bearer(narrow, f"Observation/hr-{self.reading.pk}").status_code, 403)


class CapabilityTest(VitalSignsTestCase):
    def test_the_statement_lists_the_vital_sign_profiles_and_parameters(self) -> None:
        statement = self.get("metadata").json()
        entry = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Observation")
        self.assertEqual(entry["supportedProfile"], [US_CORE_SCREENING, *VITAL_PROFILES])
        self.assertNotIn("not served", entry["documentation"])
        params = {p["name"]: p.get("definition") for p in entry["searchParam"]}
        for name in ("patient", "category", "code", "date", "status"):
            self.assertEqual(
                params[name],
                f"http://hl7.org/fhir/us/core/SearchParameter/us-core-observation-{name}",
            )
        self.assertEqual(
            params["encounter"], "http://hl7.org/fhir/SearchParameter/clinical-encounter"
        )
        self.assertIn("Observation:encounter", entry["searchInclude"])
        encounter = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Encounter")
        self.assertIn("Observation:encounter", encounter["searchRevInclude"])
