"""Encounter: one per dosing session, read, searched and included through the facade, and
only ever a patient's own through a patient's token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client, SimpleTestCase
from django.utils import timezone

from katclinic.api.models import Scope
from katclinic.audit.models import AuditEvent
from katclinic.dosing.models import Checkpoint, SessionEvent
from katclinic.dosing.statemachine import SessionState
from katclinic.fhir.resources.encounter import STATUS, US_CORE_ENCOUNTER, session_kind
from katclinic.fhir.search import utc
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_administration, make_appointment, make_session
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.smart import services as smart_services
from katclinic.smart.auth import served_types
from katclinic.smart.oauth import s256
from katclinic.smart.scopes import parse_scopes
from katclinic.smart.tests.helpers import REDIRECT, VERIFIER, body, exchange, register

# Encounter.status codes (FHIR R4 ValueSet encounter-status).
ENCOUNTER_STATUSES = {
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
}
# What US Core Encounter 6.1.0 marks must-support and a dosing session always has.
MUST_SUPPORT = (
    "identifier",
    "status",
    "class",
    "type",
    "subject",
    "participant",
    "period",
    "location",
    "serviceProvider",
)


class EncounterTest(FhirTestCase):
    session: Any
    given: Any
    quinns: Any

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        start = timezone.now() - timedelta(hours=3)
        cls.session = make_session(cls.pat, cls.paula, at=start)
        SessionEvent.objects.create(
            clinic=cls.clinic,
            session=cls.session,
            from_state="scheduled",
            to_state="checked_in",
            by=cls.alice,
            at=start + timedelta(minutes=5),
        )
        cls.given = make_administration(cls.session, cls.nick, at=start + timedelta(minutes=30))
        Checkpoint.objects.create(
            clinic=cls.clinic,
            session=cls.session,
            label="Baseline",
            taken_at=start + timedelta(minutes=20),
            systolic=128,
            diastolic=82,
            heart_rate=72,
            recorded_by=cls.paula,
        )
        cls.quinns = make_session(cls.quinn, cls.paula, at=start)

    def read(self, path: str, user: Any = None, **params: Any) -> dict[str, Any]:
        response = self.get(path, user or self.paula, **params)
        self.assertEqual(response.status_code, 200, response.content)
        found = response.json()
        assert_valid(found)
        return found

    def ids(self, user: Any = None, **params: Any) -> list[str]:
        bundle = self.read("Encounter", user, **params)
        return [e["resource"]["id"] for e in bundle.get("entry", [])]

    def test_a_dosing_session_is_a_us_core_ambulatory_encounter(self) -> None:
        encounter = self.read(f"Encounter/{self.session.pk}")
        self.assertEqual(encounter["meta"]["profile"], [US_CORE_ENCOUNTER])
        self.assertEqual([key for key in MUST_SUPPORT if key not in encounter], [])
        self.assertEqual(encounter["identifier"][0]["value"], str(self.session.pk))
        self.assertEqual(encounter["class"]["code"], "AMB")
        self.assertEqual(encounter["status"], "in-progress")  # the session is in monitoring
        self.assertEqual(encounter["subject"]["reference"], f"Patient/{self.pat.pk}")
        self.assertEqual(encounter["type"][0]["coding"][0]["code"], "308335008")
        self.assertIn("intravenous", encounter["type"][0]["text"])
        checked_in = SessionEvent.objects.get(session=self.session, to_state="checked_in").at
        self.assertEqual(
            encounter["period"]["start"],
            utc(checked_in),
        )
        self.assertNotIn("end", encounter["period"])  # not discharged yet
        # The nurse who dosed, then the prescriber who took the vitals, once each.
        self.assertEqual(
            [p["individual"]["reference"] for p in encounter["participant"]],
            [f"Practitioner/{self.nick.pk}", f"Practitioner/{self.paula.pk}"],
        )
        self.assertEqual(encounter["location"][0]["location"]["display"], "Chair 1")
        self.assertEqual(
            encounter["serviceProvider"]["reference"], f"Organization/{self.clinic.pk}"
        )

    def test_the_status_and_period_follow_the_session(self) -> None:
        end = timezone.now() - timedelta(minutes=5)
        type(self.session).objects.filter(pk=self.session.pk).update(
            state="discharged", discharged_at=end
        )
        encounter = self.read(f"Encounter/{self.session.pk}")
        self.assertEqual(encounter["status"], "finished")
        self.assertEqual(encounter["period"]["end"], utc(end))
        self.assertEqual(self.ids(patient=self.pat.pk, status="finished"), [str(self.session.pk)])
        self.assertEqual(self.ids(patient=self.pat.pk, status="in-progress"), [])

    def test_a_session_whose_appointment_was_cancelled_is_a_cancelled_encounter(self) -> None:
        appointment = make_appointment(self.quinn, self.paula)
        appointment.state, appointment.cancel_reason = "cancelled", "Patient unwell"
        appointment.save()
        planned = make_session(self.quinn, self.paula, at=appointment.start)
        type(planned).objects.filter(pk=planned.pk).update(
            state="scheduled", appointment=appointment
        )
        encounter = self.read(f"Encounter/{planned.pk}")
        self.assertEqual(encounter["status"], "cancelled")
        self.assertEqual(self.ids(status="cancelled"), [str(planned.pk)])
        self.assertEqual(self.ids(status="planned"), [])
        appointment.state = "booked"
        appointment.save()
        self.assertEqual(self.read(f"Encounter/{planned.pk}")["status"], "planned")
        self.assertEqual(self.ids(status="planned"), [str(planned.pk)])

    def test_it_is_searched_by_patient_subject_date_status_identifier_and_id(self) -> None:
        mine = [str(self.session.pk)]
        self.assertEqual(self.ids(patient=f"Patient/{self.pat.pk}"), mine)
        self.assertEqual(self.ids(subject=self.pat.pk), mine)
        self.assertEqual(self.ids(_id=self.session.pk), mine)
        self.assertEqual(
            self.ids(
                patient=self.pat.pk, identifier=f"urn:katclinic:dosing-session|{self.session.pk}"
            ),
            mine,
        )
        self.assertEqual(self.ids(identifier=f"urn:other|{self.session.pk}"), [])
        began = SessionEvent.objects.get(session=self.session, to_state="checked_in").at
        self.assertEqual(
            self.ids(patient=self.pat.pk, date=f"ge{utc(began - timedelta(minutes=1))}"), mine
        )
        self.assertEqual(
            self.ids(patient=self.pat.pk, date=f"gt{utc(began + timedelta(days=1))}"), []
        )
        self.assertEqual(self.ids(patient=self.pat.pk, date=f"lt{utc(began)}"), [])
        self.assertEqual(
            self.ids(patient=self.pat.pk, status="in-progress", **{"class": "AMB"}), mine
        )
        self.assertEqual(self.ids(status="no-such-status"), [])  # a code never used: no match

    def test_bad_search_values_are_a_400_naming_the_parameter(self) -> None:
        for name, value in (("date", "yesterday"), ("date", "2025-13-01"), ("patient", "x²")):
            response = self.get("Encounter", self.paula, **{name: value})
            self.assertEqual(response.status_code, 400, (name, value))
            issue = response.json()["issue"][0]
            self.assertIn(value, issue["diagnostics"])

    def test_include_patient_and_revinclude_the_doses_given_in_it(self) -> None:
        bundle = self.read(
            "Encounter",
            patient=self.pat.pk,
            _include="Encounter:patient",
            _revinclude="MedicationAdministration:context",
        )
        found = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
        self.assertEqual(
            found,
            {
                ("Encounter", str(self.session.pk)),
                ("Patient", str(self.pat.pk)),
                ("MedicationAdministration", str(self.given.pk)),
            },
        )
        dose = self.read(f"MedicationAdministration/{self.given.pk}")
        self.assertEqual(dose["context"]["reference"], f"Encounter/{self.session.pk}")
        # And the other way: a dose includes its Encounter.
        bundle = self.read(
            "MedicationAdministration",
            patient=self.pat.pk,
            _include="MedicationAdministration:context",
        )
        self.assertIn(
            ("Encounter", str(self.session.pk)),
            {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]},
        )

    def test_a_search_writes_one_audit_event_naming_the_patients_shown(self) -> None:
        before = AuditEvent.objects.count()
        self.assertEqual(set(self.ids()), {str(self.session.pk), str(self.quinns.pk)})
        self.assertEqual(AuditEvent.objects.count(), before + 1)
        event = AuditEvent.objects.order_by("-pk").first()
        assert event is not None
        self.assertEqual(event.detail["patients"], sorted([self.pat.pk, self.quinn.pk]))

    def test_a_patient_token_reads_only_its_own_encounters(self) -> None:
        token = self.token(self.pat_user, [Scope.FHIR_READ.value])
        self.assertEqual(self._ids(token, patient=self.pat.pk), [str(self.session.pk)])
        self.assertEqual(self._get(token, f"Encounter/{self.quinns.pk}").status_code, 404)
        self.assertIn(self._get(token, "Encounter", patient=self.quinn.pk).status_code, (403, 404))
        self.assertEqual(self._get(token, "Encounter").status_code, 403)  # must name itself

    def test_a_smart_patient_token_never_shows_another_patients_encounter(self) -> None:
        app = register(self)[0]
        _, code = smart_services.authorize(
            app=app,
            user=self.pat_user,
            patient=self.pat,
            scopes=parse_scopes("launch/patient patient/Encounter.rs", served_types()),
            redirect_uri=REDIRECT,
            code_challenge=s256(VERIFIER),
        )
        token = str(body(exchange(app, code))["access_token"])
        self.assertEqual(self._ids(token, patient=self.pat.pk), [str(self.session.pk)])
        self.assertEqual(self._ids(token), [str(self.session.pk)])
        self.assertEqual(self._get(token, f"Encounter/{self.session.pk}").status_code, 200)
        self.assertEqual(self._get(token, f"Encounter/{self.quinns.pk}").status_code, 404)
        self.assertEqual(self._get(token, "Encounter", patient=self.quinn.pk).status_code, 404)
        # The scope names Encounter only: the same token reads no Observations.
        self.assertEqual(self._get(token, "Observation", patient=self.pat.pk).status_code, 403)

    def _get(self, token: str, path: str, **params: Any) -> Any:
        return Client().get(
            f"/fhir/R4/{path}", params, headers={"Authorization": f"Bearer {token}"}
        )

    def _ids(self, token: str, **params: Any) -> list[str]:
        response = self._get(token, "Encounter", **params)
        self.assertEqual(response.status_code, 200, response.content)
        return [e["resource"]["id"] for e in response.json().get("entry", [])]


class EncounterMappingTest(SimpleTestCase):
    def test_every_session_state_has_an_encounter_status(self) -> None:
        self.assertEqual(set(STATUS), {state.value for state in SessionState})
        self.assertTrue(set(STATUS.values()) <= ENCOUNTER_STATUSES)

    def test_a_session_is_named_by_its_route(self) -> None:
        self.assertEqual(session_kind("intranasal")[0], "esketamine-session")
        self.assertEqual(
            session_kind("im"), ("ketamine-session", "Ketamine dosing session (intramuscular)")
        )
        self.assertEqual(session_kind("")[1], "Ketamine dosing session")
