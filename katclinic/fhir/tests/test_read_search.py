"""Reading and searching through the facade: access, paging, audit and valid resources."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from katclinic.api.models import Scope
from katclinic.audit.models import Action, AuditEvent
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import (
    make_alert,
    make_appointment,
    make_consent,
    make_response,
)
from katclinic.fhir.tests.test_mapping import assert_valid


class MetadataTest(FhirTestCase):
    def test_it_lists_exactly_the_served_types_without_a_token(self) -> None:
        response = self.client.get("/fhir/R4/metadata")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/fhir+json; charset=utf-8")
        body = response.json()
        assert_valid(body)
        served = {r["type"]: r for r in body["rest"][0]["resource"]}
        self.assertEqual(
            set(served),
            {
                "Patient",
                "Questionnaire",
                "QuestionnaireResponse",
                "Observation",
                "Flag",
                "Appointment",
                "Consent",
                "MedicationAdministration",
                "ChargeItem",
                "Condition",
                "AllergyIntolerance",
                "MedicationStatement",
                "Encounter",
                "Practitioner",
                "Organization",
                "Coverage",
                "Claim",
                "ExplanationOfBenefit",
                "Group",
                "MedicationRequest",
            },
        )
        self.assertIn("birthdate", {p["name"] for p in served["Patient"]["searchParam"]})


class AuthenticationTest(FhirTestCase):
    def test_it_answers_401_without_a_token(self) -> None:
        response = self.client.get(f"/fhir/R4/Patient/{self.pat.pk}")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["resourceType"], "OperationOutcome")

    def test_a_session_alone_does_not_authenticate(self) -> None:
        self.login(self.paula)
        response = self.client.get(f"/fhir/R4/Patient/{self.pat.pk}")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["resourceType"], "OperationOutcome")
        self.assertNotContains(response, self.pat.last_name, status_code=401)

    def test_a_token_without_the_fhir_scope_is_refused_and_recorded(self) -> None:
        raw = self.token(self.paula, scopes=[Scope.PATIENTS_READ.value])
        response = self.get(f"Patient/{self.pat.pk}", raw=raw)
        self.assertEqual(response.status_code, 403)
        self.assertTrue(AuditEvent.objects.filter(action=Action.DENIED).exists())


class PatientReadTest(FhirTestCase):
    def test_staff_read_a_patient_with_one_audit_event(self) -> None:
        before = self.events()
        response = self.get(f"Patient/{self.pat.pk}")
        self.assertEqual(response.status_code, 200)
        assert_valid(response.json())
        self.assertEqual(response.json()["identifier"][0]["value"], "K000001")
        self.assertEqual(self.events(), before + 1)
        event = AuditEvent.objects.latest("pk")
        self.assertEqual((event.action, event.patient_id), (Action.VIEW, self.pat.pk))

    def test_another_clinics_patient_is_not_found(self) -> None:
        response = self.get(f"Patient/{self.stranger.pk}")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json()["issue"][0]["code"], "not-found")

    def test_a_patient_token_reads_its_own_record_only(self) -> None:
        own = self.get(f"Patient/{self.pat.pk}", self.pat_user)
        self.assertEqual(own.status_code, 200)
        self.assertEqual(own.json()["id"], str(self.pat.pk))
        other = self.get(f"Patient/{self.quinn.pk}", self.pat_user)
        self.assertEqual(other.status_code, 404)
        self.assertNotContains(other, self.quinn.last_name, status_code=404)
        self.assertDenialsRecorded(f"/fhir/R4/Patient/{self.quinn.pk}")

    def test_a_front_desk_token_may_not_read_scores(self) -> None:
        response = make_response(self.pat)
        refused = self.get(f"Observation/{response.pk}", self.alice)
        self.assertEqual(refused.status_code, 403)
        self.assertEqual(refused.json()["resourceType"], "OperationOutcome")
        self.assertDenialsRecorded(f"/fhir/R4/Observation/{response.pk}")


class PatientSearchTest(FhirTestCase):
    def test_it_finds_by_name_birthdate_and_record_number(self) -> None:
        def ids(**params: Any) -> set[str]:
            body = self.get("Patient", **params).json()
            return {e["resource"]["id"] for e in body["entry"]}

        pat, quinn = str(self.pat.pk), str(self.quinn.pk)
        self.assertEqual(ids(name="qui"), {quinn})
        self.assertEqual(ids(identifier="urn:katclinic:mrn|K000001"), {pat})
        self.assertEqual(ids(birthdate="1985-04"), {pat, quinn})
        self.assertEqual(ids(birthdate="lt1985-04-12"), set())
        self.assertEqual(ids(birthdate="ge1985-04-12"), {pat, quinn})

    def test_it_pages_with_a_next_link(self) -> None:
        body = self.get("Patient", _count="1").json()
        self.assertEqual((body["total"], len(body["entry"])), (2, 1))
        next_url = next(link["url"] for link in body["link"] if link["relation"] == "next")
        second = self.get("Patient?" + next_url.split("?", 1)[1]).json()
        self.assertEqual(len(second["entry"]), 1)
        self.assertNotIn("next", {link["relation"] for link in second["link"]})
        assert_valid(second)

    def test_a_search_lists_without_a_query_per_row_and_audits_once(self) -> None:
        for n in range(5):
            self.make_patient(self.clinic, f"P{n}", "Many", f"K10000{n}")
        raw = self.token(self.paula)
        self.get("Patient", raw=raw)  # warms the caches
        before = self.events()
        # token and roles; count; page; last changes (one query for the page's versions);
        # one audit event (savepoint, insert, release)
        with self.assertNumQueries(5):
            response = self.get("Patient", raw=raw, family="Many")
        self.assertEqual(response.json()["total"], 5)
        self.assertEqual(self.events(), before + 1)

    def test_an_unknown_parameter_or_bad_date_is_a_400_naming_it(self) -> None:
        response = self.get("Patient", colour="blue")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["issue"][0]["expression"], ["colour"])
        response = self.get("Patient", birthdate="yesterday")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["issue"][0]["expression"], ["birthdate"])

    def test_staff_of_another_clinic_never_see_this_clinics_patients(self) -> None:
        body = self.get("Patient", self.oscar).json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], [str(self.stranger.pk)])

    def test_a_patient_token_must_name_itself_and_sees_only_itself(self) -> None:
        self.assertEqual(self.get("Patient", self.pat_user).status_code, 403)
        body = self.get("Patient", self.pat_user, _id=self.pat.pk).json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], [str(self.pat.pk)])
        self.assertEqual(self.get("Patient", self.pat_user, _id=self.quinn.pk).status_code, 404)


class MeasuresTest(FhirTestCase):
    def test_scores_are_loinc_observations_derived_from_the_response(self) -> None:
        response = make_response(self.pat, total=12)
        observation = self.get(f"Observation/{response.pk}").json()
        assert_valid(observation)
        self.assertEqual(
            observation["code"]["coding"][0],
            {"system": "http://loinc.org", "code": "44261-6", "display": "PHQ-9 total score"},
        )
        self.assertEqual(observation["valueInteger"], 12)
        self.assertEqual(
            observation["derivedFrom"], [{"reference": f"QuestionnaireResponse/{response.pk}"}]
        )
        answers = self.get(f"QuestionnaireResponse/{response.pk}").json()
        assert_valid(answers)
        self.assertEqual(answers["item"][0]["answer"][0]["valueCoding"]["code"], "LA6570-1")

    def test_observations_search_by_patient_code_and_date(self) -> None:
        old = make_response(self.pat, at=timezone.now() - timedelta(days=40))
        new = make_response(self.pat)
        make_response(self.quinn)
        week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()

        def ids(**params: Any) -> list[str]:
            return [e["resource"]["id"] for e in self.get("Observation", **params).json()["entry"]]

        self.assertEqual(ids(patient=f"Patient/{self.pat.pk}"), [str(new.pk), str(old.pk)])
        self.assertEqual(ids(patient=self.pat.pk, date=f"ge{week_ago}"), [str(new.pk)])
        self.assertEqual(len(ids(code="http://loinc.org|44261-6")), 3)
        self.assertEqual(ids(code="http://loinc.org|70274-6"), [])

    def test_a_patient_token_searches_its_own_compartment_only(self) -> None:
        mine = make_response(self.pat)
        make_response(self.quinn)
        body = self.get("QuestionnaireResponse", self.pat_user, patient=self.pat.pk).json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], [str(mine.pk)])
        response = self.get("QuestionnaireResponse", self.pat_user, patient=self.quinn.pk)
        self.assertEqual(response.status_code, 404)

    def test_open_alerts_are_active_flags(self) -> None:
        alert = make_alert(make_response(self.pat))
        body = self.get("Flag", status="active").json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], [str(alert.pk)])
        assert_valid(body)
        self.assertEqual(self.get("Flag", status="inactive").json()["total"], 0)

    def test_questionnaires_come_from_the_shipped_instruments(self) -> None:
        body = self.get("Questionnaire", code="http://loinc.org|44249-1").json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], ["phq9"])
        assert_valid(self.get("Questionnaire/gad7").json())
        self.assertEqual(self.get("Questionnaire/nope").status_code, 404)


class AppointmentTest(FhirTestCase):
    def test_appointments_search_by_patient_date_and_status(self) -> None:
        soon = make_appointment(self.pat, self.paula)
        make_appointment(self.pat, self.paula, start=timezone.now() - timedelta(days=30))
        make_appointment(self.quinn, self.paula)
        tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
        body = self.get(
            "Appointment", self.alice, patient=self.pat.pk, date=f"ge{tomorrow}", status="booked"
        ).json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], [str(soon.pk)])
        assert_valid(body)
        self.assertEqual(
            body["entry"][0]["resource"]["participant"][1]["actor"]["display"], "Paula"
        )


class ConsentTest(FhirTestCase):
    def test_a_signed_consent_is_an_active_consent_of_the_patient(self) -> None:
        signature = make_consent(self.pat, self.paula)
        body = self.get("Consent", self.alice, patient=self.pat.pk, status="active").json()
        self.assertEqual([e["resource"]["id"] for e in body["entry"]], [str(signature.pk)])
        assert_valid(body)
        self.assertEqual(self.get("Consent", status="inactive").json()["total"], 0)


class EverythingTest(FhirTestCase):
    def test_it_returns_the_whole_compartment_with_one_export_event(self) -> None:
        response = make_response(self.pat)
        alert = make_alert(response)
        visit = make_appointment(self.pat, self.paula)
        consent = make_consent(self.pat, self.paula)
        make_response(self.quinn)
        before = self.events()
        body = self.get(f"Patient/{self.pat.pk}/$everything").json()
        assert_valid(body)
        got = sorted(
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in body["entry"]
            if e["search"]["mode"] == "match"
        )
        # The prescriber's role reads no billing or insurance types: said in an outcome.
        outcome = body["entry"][-1]
        self.assertEqual(outcome["search"]["mode"], "outcome")
        self.assertIn("Claim", outcome["resource"]["issue"][0]["diagnostics"])
        self.assertEqual(
            got,
            sorted(
                [
                    f"Patient/{self.pat.pk}",
                    f"QuestionnaireResponse/{response.pk}",
                    f"Observation/{response.pk}",
                    f"Flag/{alert.pk}",
                    f"Appointment/{visit.pk}",
                    f"Consent/{consent.pk}",
                ]
            ),
        )
        self.assertEqual(self.events(), before + 1)
        self.assertEqual(AuditEvent.objects.latest("pk").action, Action.EXPORT)

    def test_it_is_404_for_another_patient_or_clinic(self) -> None:
        other = self.get(f"Patient/{self.quinn.pk}/$everything", self.pat_user)
        self.assertEqual(other.status_code, 404)
        self.assertNotContains(other, self.quinn.last_name, status_code=404)
        stranger = self.get(f"Patient/{self.stranger.pk}/$everything")
        self.assertEqual(stranger.status_code, 404)
        self.assertNotContains(stranger, self.stranger.last_name, status_code=404)
        self.assertFalse(AuditEvent.objects.filter(action=Action.EXPORT).exists())
