"""MedicationRequest over HTTP: each signed treatment-plan version is an order by its
signer, a draft is none, amendments replace what they amend, a patient reads only their
own, and the searches, includes and exports that name the type hold it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.test import Client, override_settings
from django.utils import timezone

from katclinic.api.models import Scope
from katclinic.bulk.tests.test_export import ASYNC, DB_TASKS, lines, run_worker_once
from katclinic.dosing.models import DosingSession
from katclinic.dosing.tests.factories import signed_plan
from katclinic.fhir.resources.medication_request import US_CORE_MEDICATION_REQUEST
from katclinic.fhir.search import utc
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_administration, make_session
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.protocols import services
from katclinic.protocols.models import PlanVersion
from katclinic.protocols.tests import fixtures
from katclinic.smart import services as smart_services
from katclinic.smart.auth import served_types
from katclinic.smart.oauth import s256
from katclinic.smart.scopes import parse_scopes
from katclinic.smart.tests.backend_helpers import Service, token_for
from katclinic.smart.tests.helpers import REDIRECT, VERIFIER, exchange, register


class MedicationRequestCase(FhirTestCase):
    def ids(self, user: Any = None, **params: Any) -> list[str]:
        response = self.get("MedicationRequest", user, **params)
        self.assertEqual(response.status_code, 200, response.content)
        return [entry["resource"]["id"] for entry in response.json().get("entry", [])]

    def read(self, version: PlanVersion) -> dict[str, Any]:
        response = self.get(f"MedicationRequest/{version.pk}")
        self.assertEqual(response.status_code, 200, response.content)
        resource: dict[str, Any] = response.json()
        assert_valid(resource)
        return resource

    def amend(self, version: PlanVersion, kind: str, mg: str | None = None) -> PlanVersion:
        return services.amend_plan(
            plan=version.plan,
            kind=kind,
            reason=f"{kind} after review",
            requested_mg=Decimal(mg) if mg else None,
            phase=None,
            start_on=version.start_on,
            soft_reason="Partial response at the first dose",
            by=self.paula,
        )


class SignedPlanTest(MedicationRequestCase):
    def test_a_signed_plan_is_an_active_order_by_the_prescriber_who_signed_it(self) -> None:
        version = fixtures.signed(self)
        resource = self.read(version)
        self.assertEqual(resource["meta"]["profile"], [US_CORE_MEDICATION_REQUEST])
        self.assertEqual((resource["status"], resource["intent"]), ("active", "order"))
        self.assertIs(resource["reportedBoolean"], False)
        self.assertEqual(resource["subject"], {"reference": f"Patient/{self.pat.pk}"})
        self.assertEqual(resource["requester"]["reference"], f"Practitioner/{self.paula.pk}")
        assert version.signed_at is not None
        self.assertEqual(resource["authoredOn"], utc(version.signed_at))
        self.assertEqual(resource["category"][0]["coding"][0]["code"], "outpatient")
        self.assertNotIn("coding", resource["medicationCodeableConcept"])
        self.assertIn("ketamine", resource["medicationCodeableConcept"]["text"].lower())
        dosage = resource["dosageInstruction"][0]
        self.assertEqual(dosage["route"]["coding"][0]["code"], "iv")
        self.assertEqual(dosage["doseAndRate"][0]["doseQuantity"]["value"], 35)
        self.assertEqual(dosage["doseAndRate"][0]["doseQuantity"]["code"], "mg")
        self.assertEqual(dosage["timing"]["repeat"]["count"], version.doses.count())
        self.assertIn("35 mg intravenous (0.5 mg/kg for 70 kg)", dosage["text"])
        self.assertIn("over 40 minutes", dosage["text"])
        self.assertNotIn("priorPrescription", resource)

    def test_an_unsigned_draft_is_no_order_until_it_is_signed(self) -> None:
        draft = fixtures.draft(self)
        self.assertEqual(self.get(f"MedicationRequest/{draft.pk}").status_code, 404)
        self.assertEqual(self.ids(patient=self.pat.pk), [])
        services.sign_plan(version=draft, prescriber=self.paula)
        self.assertEqual(self.read(draft)["status"], "active")
        self.assertEqual(self.ids(patient=self.pat.pk), [str(draft.pk)])

    def test_an_amendment_replaces_the_version_it_amends_once_it_is_signed(self) -> None:
        first = fixtures.signed(self)
        before = self.read(first)["meta"]["versionId"]
        titration = self.amend(first, "titration", "42")
        self.assertEqual(self.ids(status="active"), [str(first.pk)])  # a draft changes nothing
        services.sign_plan(version=titration, prescriber=self.paula)
        old, new = self.read(first), self.read(titration)
        self.assertEqual(old["status"], "stopped")
        self.assertEqual(
            old["statusReason"]["text"], f"Replaced by MedicationRequest/{titration.pk}"
        )
        self.assertNotEqual(old["meta"]["versionId"], before)
        self.assertEqual(new["status"], "active")
        self.assertEqual(new["priorPrescription"]["reference"], f"MedicationRequest/{first.pk}")
        self.assertEqual(new["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"], 42)
        self.assertEqual(new["note"], [{"text": "titration after review"}])
        self.assertEqual(new["groupIdentifier"], old["groupIdentifier"])
        self.assertEqual(self.ids(status="active"), [str(titration.pk)])
        self.assertEqual(self.ids(status="stopped"), [str(first.pk)])

    def test_a_paused_plan_is_on_hold_and_a_stopped_one_is_stopped(self) -> None:
        first = fixtures.signed(self)
        pause = self.amend(first, "pause")
        services.sign_plan(version=pause, prescriber=self.paula)
        self.assertEqual(self.read(pause)["status"], "on-hold")
        self.assertNotIn("timing", self.read(pause)["dosageInstruction"][0])
        self.assertEqual(self.ids(status="on-hold"), [str(pause.pk)])
        stop = self.amend(pause, "stop")
        services.sign_plan(version=stop, prescriber=self.paula)
        resource = self.read(stop)
        self.assertEqual(resource["status"], "stopped")
        self.assertNotIn("statusReason", resource)
        self.assertEqual(self.ids(status="active,on-hold"), [])
        self.assertEqual(len(self.ids(status="stopped")), 3)


class PatientAccessTest(MedicationRequestCase):
    def test_a_patient_token_reads_only_its_own_orders(self) -> None:
        own = fixtures.signed(self)
        other = signed_plan(self.quinn, self.paula).versions.get()
        token = self.token(self.pat_user, [Scope.FHIR_READ.value])
        answer = self.get("MedicationRequest", raw=token, patient=self.pat.pk)
        self.assertEqual([e["resource"]["id"] for e in answer.json()["entry"]], [str(own.pk)])
        self.assertEqual(self.get(f"MedicationRequest/{other.pk}", raw=token).status_code, 404)
        refused = self.get("MedicationRequest", raw=token, patient=self.quinn.pk)
        self.assertEqual(refused.status_code, 404)
        self.assertNotIn(str(other.pk), refused.content.decode())
        self.assertEqual(self.get("MedicationRequest", raw=token).status_code, 403)

    def test_another_clinics_staff_do_not_find_it(self) -> None:
        version = fixtures.signed(self)
        self.assertEqual(self.get(f"MedicationRequest/{version.pk}", self.oscar).status_code, 404)
        self.assertEqual(self.ids(self.oscar), [])

    def test_a_role_without_the_clinical_chart_is_refused(self) -> None:
        fixtures.signed(self)
        self.assertEqual(self.get("MedicationRequest", self.alice).status_code, 403)


class SmartScopeTest(MedicationRequestCase):
    def app_token(self, scopes: str) -> str:
        app = register(self)[0]
        _, code = smart_services.authorize(
            app=app,
            user=self.paula,
            patient=self.pat,
            scopes=parse_scopes(scopes, served_types()),
            redirect_uri=REDIRECT,
            code_challenge=s256(VERIFIER),
        )
        return str(exchange(app, code).json()["access_token"])

    def test_patient_and_user_scopes_reach_as_far_as_they_say(self) -> None:
        own = fixtures.signed(self)
        other = signed_plan(self.quinn, self.paula).versions.get()
        patient = self.app_token("launch/patient patient/MedicationRequest.rs")
        self.assertEqual(self.get(f"MedicationRequest/{own.pk}", raw=patient).status_code, 200)
        self.assertEqual(self.get(f"MedicationRequest/{other.pk}", raw=patient).status_code, 404)
        user = self.app_token("user/MedicationRequest.rs")
        self.assertEqual(self.get(f"MedicationRequest/{other.pk}", raw=user).status_code, 200)
        elsewhere = self.app_token("launch/patient patient/Observation.rs")
        self.assertEqual(self.get(f"MedicationRequest/{own.pk}", raw=elsewhere).status_code, 403)


class SearchTest(MedicationRequestCase):
    def test_each_parameter_finds_what_it_names(self) -> None:
        version = fixtures.signed(self)
        mine = [str(version.pk)]
        assert version.signed_at is not None
        day = version.signed_at.date().isoformat()
        self.assertEqual(self.ids(intent="order"), mine)
        self.assertEqual(self.ids(intent="proposal"), [])
        self.assertEqual(self.ids(authoredon=f"ge{day}"), mine)
        self.assertEqual(self.ids(authoredon="lt2000-01-01"), [])
        self.assertEqual(self.ids(requester=f"Practitioner/{self.paula.pk}"), mine)
        self.assertEqual(self.ids(requester=f"Practitioner/{self.nick.pk}"), [])
        self.assertEqual(self.ids(subject=f"Patient/{self.pat.pk}"), mine)
        self.assertEqual(self.ids(patient=self.quinn.pk), [])
        self.assertEqual(self.ids(_id=version.pk), mine)
        identifier = f"urn:katclinic:treatment-plan-version|{version.plan_id}.1"
        self.assertEqual(self.ids(identifier=identifier), mine)
        self.assertEqual(self.ids(identifier=f"{version.plan_id}.２"), [])
        self.assertEqual(self.ids(encounter="Encounter/1"), [])

    def test_a_value_it_cannot_read_is_a_400_naming_the_parameter(self) -> None:
        fixtures.signed(self)
        for name, value in (
            ("authoredon", "2024-13"),
            ("requester", "Practitioner/abc"),
            ("encounter", "Patient/x"),
        ):
            response = self.get("MedicationRequest", **{name: value})
            self.assertEqual(response.status_code, 400, (name, value))
            self.assertIn(name, response.content.decode())


class IncludeTest(MedicationRequestCase):
    def test_include_adds_the_patient_and_the_signer(self) -> None:
        fixtures.signed(self)
        response = self.get(
            "MedicationRequest",
            patient=self.pat.pk,
            _include=["MedicationRequest:patient", "MedicationRequest:requester"],
        )
        self.assertEqual(response.status_code, 200, response.content)
        found = {
            (e["resource"]["resourceType"], e["resource"]["id"]) for e in response.json()["entry"]
        }
        self.assertIn(("Patient", str(self.pat.pk)), found)
        self.assertIn(("Practitioner", str(self.paula.pk)), found)

    def test_a_dose_names_the_order_it_was_given_under(self) -> None:
        given = make_administration(make_session(self.pat, self.paula), self.nick)
        version = given.session.plan.versions.get()
        administration = self.get(f"MedicationAdministration/{given.pk}").json()
        assert_valid(administration)
        self.assertEqual(
            administration["request"], {"reference": f"MedicationRequest/{version.pk}"}
        )
        response = self.get(
            "MedicationRequest",
            _id=version.pk,
            _revinclude="MedicationAdministration:request",
        )
        found = {
            (e["resource"]["resourceType"], e["resource"]["id"]) for e in response.json()["entry"]
        }
        self.assertEqual(
            found,
            {("MedicationRequest", str(version.pk)), ("MedicationAdministration", str(given.pk))},
        )
        by_request = self.get("MedicationAdministration", request=f"MedicationRequest/{version.pk}")
        self.assertEqual([e["resource"]["id"] for e in by_request.json()["entry"]], [str(given.pk)])
        self.assertEqual(
            self.get("MedicationAdministration", request="MedicationRequest/x").status_code, 400
        )

    def test_each_dose_names_the_version_signed_by_the_time_it_started(self) -> None:
        first = fixtures.signed(self)
        assert first.signed_at is not None
        session = make_session(self.pat, self.paula)
        DosingSession.objects.filter(pk=session.pk).update(plan=first.plan)
        session.refresh_from_db()
        between = make_administration(session, self.nick, at=timezone.now())
        titration = self.amend(first, "titration", "42")
        services.sign_plan(version=titration, prescriber=self.paula)
        after = make_administration(session, self.nick, at=timezone.now() + timedelta(hours=1))
        backdated = make_administration(session, self.nick, at=first.signed_at - timedelta(days=1))
        expected = {between: first, after: titration, backdated: first}
        for given, version in expected.items():
            served = self.get(f"MedicationAdministration/{given.pk}").json()
            self.assertEqual(served["request"]["reference"], f"MedicationRequest/{version.pk}")

    def test_everything_and_the_portal_record_hold_the_orders(self) -> None:
        version = fixtures.signed(self)
        bundle = self.get(f"Patient/{self.pat.pk}/$everything").json()
        ids = {(e["resource"]["resourceType"], e["resource"].get("id")) for e in bundle["entry"]}
        self.assertIn(("MedicationRequest", str(version.pk)), ids)
        self.login(self.pat_user)
        record = self.client.get(f"/portal/{self.pat.pk}/record.json").json()
        ids = {(e["resource"]["resourceType"], e["resource"].get("id")) for e in record["entry"]}
        self.assertIn(("MedicationRequest", str(version.pk)), ids)


@override_settings(TASKS=DB_TASKS)
class BulkExportTest(MedicationRequestCase):
    def test_every_export_level_holds_the_orders(self) -> None:
        version = fixtures.signed(self)
        signed_plan(self.stranger, self.oscar)  # clinic B's: never in clinic A's export
        service = Service()
        token = token_for(service, service.register(self))
        group = version.plan.protocol_version_id
        for path in ("$export", "Patient/$export", f"Group/{group}/$export"):
            with self.subTest(path):
                self.assertEqual(self.exported(token, path), [str(version.pk)])

    def exported(self, token: str, path: str) -> list[str]:
        auth = {"Authorization": f"Bearer {token}"}
        answer = Client().get(f"/fhir/R4/{path}?_type=MedicationRequest", headers=auth | ASYNC)
        self.assertEqual(answer.status_code, 202, answer.content)
        run_worker_once()
        manifest = Client().get(answer["Content-Location"], headers=auth).json()
        urls = [item["url"] for item in manifest["output"] if item["type"] == "MedicationRequest"]
        found = lines(Client().get(urls[0], headers=auth | {"Accept": "application/fhir+ndjson"}))
        for resource in found:
            assert_valid(resource)
        return [resource["id"] for resource in found]
