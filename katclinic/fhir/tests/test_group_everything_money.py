"""Group (a protocol's patients) read and search; $everything leaving out the types the
caller's role cannot read; and FHIR amounts written exactly, never through a float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.models import StaffMembership
from katclinic.clinics.permissions import Role
from katclinic.dosing.tests.factories import protocol_version, signed_plan
from katclinic.fhir import wire
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_response
from katclinic.insurance.models import Claim, ClaimLine
from katclinic.insurance.tests.access_spec import _claim
from katclinic.protocols.models import Plan, PlanStatus, ProtocolStatus, ProtocolVersion
from katclinic.smart import services as smart_services
from katclinic.smart.auth import served_types
from katclinic.smart.oauth import s256
from katclinic.smart.scopes import parse_scopes
from katclinic.smart.tests.helpers import REDIRECT, VERIFIER, exchange, register


class GroupTest(FhirTestCase):
    def setUp(self) -> None:
        signed_plan(self.pat, self.paula, "iv_ketamine_elektd", dose="35", low="7", high="52.5")
        signed_plan(
            self.stranger, self.oscar, "iv_ketamine_elektd", dose="35", low="7", high="52.5"
        )
        self.group = protocol_version(self.clinic, "iv_ketamine_elektd")

    def test_a_group_lists_the_protocols_patients_and_validates(self) -> None:
        answer = self.get(f"Group/{self.group.pk}")
        self.assertEqual(answer.status_code, 200, answer.content)
        group = answer.json()
        get_fhir_model_class("Group").model_validate(group)
        self.assertEqual(group["identifier"][0]["value"], "iv_ketamine_elektd")
        self.assertEqual(group["quantity"], 1)
        self.assertEqual(
            [m["entity"]["reference"] for m in group["member"]], [f"Patient/{self.pat.pk}"]
        )
        self.assertFalse(group["member"][0]["inactive"])
        # A read about the members: one event naming them.
        event = AuditEvent.objects.get(action=Action.VIEW, object_type="fhir.Group")
        self.assertEqual(event.detail["patients"], [self.pat.pk])
        self.assertEqual(group["managingEntity"]["reference"], f"Organization/{self.clinic.pk}")

    def test_a_stopped_course_is_an_inactive_member_and_a_draft_is_none(self) -> None:
        Plan.objects.filter(patient=self.pat).update(status=PlanStatus.STOPPED)
        Plan.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            protocol_version=self.group,
            status=PlanStatus.DRAFT,
            created_by=self.paula,
        )
        group = self.get(f"Group/{self.group.pk}").json()
        self.assertEqual(len(group["member"]), 1)
        self.assertTrue(group["member"][0]["inactive"])

    def test_a_revised_protocol_is_still_one_group_under_its_first_id(self) -> None:
        revised = ProtocolVersion.objects.create(
            clinic=self.clinic,
            key=self.group.key,
            version=self.group.version + 1,
            title="IV ketamine, revised",
            route=self.group.route,
            status=ProtocolStatus.DRAFT,
            data=self.group.data,
        )
        Plan.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            protocol_version=revised,
            status=PlanStatus.ACTIVE,
            created_by=self.paula,
        )
        found = self.get("Group").json()
        self.assertEqual(found["total"], 1)
        group = found["entry"][0]["resource"]
        self.assertEqual(group["id"], str(self.group.pk))
        self.assertEqual(group["name"], "IV ketamine, revised")
        members = {m["entity"]["reference"] for m in group["member"]}
        self.assertEqual(members, {f"Patient/{self.pat.pk}", f"Patient/{self.quinn.pk}"})
        self.assertEqual(self.get(f"Group/{revised.pk}").status_code, 404)

    def test_search_by_member_and_identifier(self) -> None:
        by_pat = self.get("Group", member=f"Patient/{self.pat.pk}").json()
        self.assertEqual([e["resource"]["id"] for e in by_pat["entry"]], [str(self.group.pk)])
        self.assertEqual(self.get("Group", member=f"Patient/{self.quinn.pk}").json()["total"], 0)
        # A patient of clinic B on the same protocol is not a member of clinic A's Group.
        self.assertEqual(self.get("Group", member=f"Patient/{self.stranger.pk}").json()["total"], 0)
        found = self.get("Group", identifier="urn:katclinic:protocol|iv_ketamine_elektd").json()
        self.assertEqual(found["total"], 1)
        bad = self.get("Group", member="Patient/abc")
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(bad.json()["issue"][0]["expression"], ["member"])

    def test_who_may_read_a_group(self) -> None:
        path = f"Group/{self.group.pk}"
        self.assertEqual(self.get(path, self.nick).status_code, 200)
        self.assertEqual(self.get(path, self.adam).status_code, 403)  # no clinical chart
        self.assertEqual(self.get(path, self.alice).status_code, 403)
        self.assertEqual(self.get(path, self.pat_user).status_code, 404)  # names others
        self.assertEqual(self.get("Group", self.pat_user).status_code, 403)
        self.assertEqual(self.get(path, self.oscar).status_code, 404)
        self.assertEqual(self.get("Group/999999").status_code, 404)
        self.assertEqual(self.get("Group/999999").json()["resourceType"], "OperationOutcome")

    def test_a_patient_scoped_app_never_reads_a_group(self) -> None:
        app = register(self)[0]
        for user, patient in ((self.pat_user, self.pat), (self.paula, self.pat)):
            with self.subTest(user.full_name):
                _, code = smart_services.authorize(
                    app=app,
                    user=user,
                    patient=patient,
                    scopes=parse_scopes("launch/patient patient/*.rs", served_types()),
                    redirect_uri=REDIRECT,
                    code_challenge=s256(VERIFIER),
                )
                raw = str(exchange(app, code).json()["access_token"])
                self.assertEqual(self.get(f"Group/{self.group.pk}", raw=raw).status_code, 404)
                found = self.get("Group", raw=raw)
                self.assertEqual(found.status_code, 200)
                self.assertEqual(found.json()["total"], 0)
                self.assertNotIn("Patient/", found.content.decode())


class EverythingByRoleTest(FhirTestCase):
    def setUp(self) -> None:
        make_response(self.pat)
        self.claim = Claim.objects.get(pk=_claim(self)["claim_id"])

    def types(self, answer: Any) -> set[str]:
        self.assertEqual(answer.status_code, 200, answer.content)
        entries = answer.json()["entry"]
        return {e["resource"]["resourceType"] for e in entries if e["search"]["mode"] == "match"}

    def last_export(self) -> AuditEvent:
        return AuditEvent.objects.filter(action=Action.EXPORT).latest("id")

    def test_a_prescriber_gets_no_claims_coverage_or_charges(self) -> None:
        answer = self.get(f"Patient/{self.pat.pk}/$everything", self.paula)
        types = self.types(answer)
        self.assertIn("Observation", types)
        for hidden in ("Claim", "Coverage", "ExplanationOfBenefit", "ChargeItem"):
            self.assertNotIn(hidden, types)
        self.assertNotIn(f"Claim/{self.claim.pk}", answer.content.decode())
        left_out = self.last_export().detail["left_out"]
        self.assertEqual(
            sorted(left_out), ["ChargeItem", "Claim", "Coverage", "ExplanationOfBenefit"]
        )
        outcome = [e for e in answer.json()["entry"] if e["search"]["mode"] == "outcome"]
        self.assertIn("Claim", outcome[0]["resource"]["issue"][0]["diagnostics"])
        get_fhir_model_class("Bundle").model_validate(answer.json())

    def test_the_same_person_with_the_billing_role_gets_the_claim(self) -> None:
        StaffMembership.objects.create(user=self.paula, clinic=self.clinic, role=Role.BILLING)
        types = self.types(self.get(f"Patient/{self.pat.pk}/$everything", self.paula))
        self.assertTrue({"Claim", "Coverage", "ChargeItem", "Observation"} <= types)
        self.assertEqual(self.last_export().detail["left_out"], [])

    def test_roles_without_the_clinical_chart_are_refused_as_before(self) -> None:
        for user in (self.adam, self.alice):
            with self.subTest(user.full_name):
                before = AuditEvent.objects.filter(action=Action.EXPORT).count()
                answer = self.get(f"Patient/{self.pat.pk}/$everything", user)
                self.assertEqual(answer.status_code, 403)
                self.assertEqual(AuditEvent.objects.filter(action=Action.EXPORT).count(), before)

    def test_the_patient_gets_their_own_claim(self) -> None:
        types = self.types(self.get(f"Patient/{self.pat.pk}/$everything", self.pat_user))
        self.assertIn("Claim", types)


class MoneyTest(FhirTestCase):
    def setUp(self) -> None:
        self.claim = Claim.objects.get(pk=_claim(self)["claim_id"])
        # 1234567.89 is 1234567.8899999999 as a float; a ten-cent line is 0.1 as one.
        Claim.objects.filter(pk=self.claim.pk).update(total_cents=123456789)
        ClaimLine.objects.filter(claim=self.claim).update(charge_cents=10)

    def test_amounts_are_exact_json_numbers_in_the_raw_answer(self) -> None:
        answer = self.get(f"Claim/{self.claim.pk}", self.adam)
        self.assertEqual(answer.status_code, 200, answer.content)
        text = answer.content.decode()
        self.assertIn('"total":{"value":1234567.89,"currency":"USD"}', text)
        self.assertIn('"net":{"value":0.10,"currency":"USD"}', text)
        resource = wire.loads(text)
        self.assertEqual(resource["total"]["value"], Decimal("1234567.89"))
        get_fhir_model_class("Claim").model_validate(json.loads(text))

    def test_bulk_and_search_answers_use_the_same_writer(self) -> None:
        text = self.get("Claim", self.adam, patient=f"Patient/{self.pat.pk}").content.decode()
        self.assertIn('"value":1234567.89', text)
        self.assertNotIn("1234567.8899", text)

    def test_the_writer_never_rounds_through_a_float(self) -> None:
        values = [Decimal("0.10"), Decimal("1234567.89"), Decimal("-5"), Decimal("1E+2")]
        self.assertEqual(wire.dumps({"v": values}), '{"v":[0.10,1234567.89,-5,100]}')
        self.assertEqual(wire.dumps({"s": "a\x00b"}), '{"s":"a\\u0000b"}')
        with self.assertRaises(ValueError):
            wire.dumps({"v": Decimal("NaN")})
        with self.assertRaises(TypeError):
            wire.dumps({"v": object()})
