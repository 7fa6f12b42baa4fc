"""Coverage, Claim and ExplanationOfBenefit through the facade, from a real posted charge
claimed with the insurance services and paid by the payer's 835."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.test import override_settings

from katclinic.audit.models import AuditEvent
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.insurance import claims
from katclinic.insurance.demo import remittance_for
from katclinic.insurance.models import RemittanceClaim
from katclinic.insurance.tests import claim_setup as cs
from katclinic.insurance.tests import factories as f

ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"


def paid_claim(t: Any) -> tuple[Any, Any]:
    """pat insured, an esketamine session posted, claimed, sent and paid: (claim, answer)."""
    cs.set_up_clinic(t)
    t.coverage = cs.insured(t)
    charge = cs.posted_esketamine_charge(t)
    claim = claims.send_claim(claim=claims.build_claim(charge=charge, by=t.adam), by=t.adam)
    claims.import_remittance(clinic=t.clinic, text=remittance_for(claim), by=t.adam)
    claim.refresh_from_db()
    return claim, RemittanceClaim.objects.get(claim=claim)


def _cents(value: Any) -> int:
    """A served Money value as integer cents (read exactly, as a decimal)."""
    return int(Decimal(str(value)) * 100)


def _categories(adjudications: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["category"]["coding"][0]["code"]: a["amount"]["value"] for a in adjudications}


class PayerResourceTest(FhirTestCase):
    """One paid claim, made once for the class (sending it writes the claim file)."""

    claim: Any
    answer: Any
    coverage: Any

    @classmethod
    def setUpClass(cls) -> None:
        data_dir = tempfile.TemporaryDirectory()
        cls.addClassCleanup(data_dir.cleanup)
        cls.enterClassContext(override_settings(DATA_DIR=Path(data_dir.name)))
        super().setUpClass()

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.claim, cls.answer = paid_claim(cls)

    def search(self, type_name: str, **params: Any) -> dict[str, Any]:
        response = self.get(type_name, self.adam, **params)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        assert_valid(body)
        return body

    def ids(self, type_name: str, **params: Any) -> list[str]:
        return [e["resource"]["id"] for e in self.search(type_name, **params)["entry"]]

    def test_coverage_reads_valid_with_payer_member_group_and_order(self) -> None:
        response = self.get(f"Coverage/{self.coverage.pk}", self.alice)
        self.assertEqual(response.status_code, 200)
        resource = response.json()
        assert_valid(resource)
        self.assertEqual(resource["beneficiary"], {"reference": f"Patient/{self.pat.pk}"})
        self.assertEqual(resource["subscriberId"], "W123456789")
        self.assertEqual(resource["payor"][0]["identifier"]["value"], "60054")
        self.assertEqual(resource["class"][0]["value"], "GRP1")
        self.assertEqual(
            (resource["order"], resource["relationship"]["coding"][0]["code"]), (1, "self")
        )
        self.assertEqual(
            self.ids("Coverage", beneficiary=f"Patient/{self.pat.pk}"), [str(self.coverage.pk)]
        )
        self.assertEqual(self.ids("Coverage", patient=self.quinn.pk), [])
        self.assertEqual(self.ids("Coverage", status="cancelled"), [])

    def test_claim_reads_valid_with_items_diagnoses_and_total(self) -> None:
        resource = self.get(f"Claim/{self.claim.pk}", self.adam).json()
        assert_valid(resource)
        self.assertEqual((resource["status"], resource["use"]), ("active", "claim"))
        self.assertEqual(resource["provider"], {"reference": f"Organization/{self.clinic.pk}"})
        self.assertEqual(
            resource["insurance"][0]["coverage"]["reference"], f"Coverage/{self.coverage.pk}"
        )
        self.assertEqual(
            resource["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"], "F33.2"
        )
        lines = list(self.claim.lines.all())
        self.assertEqual(
            [
                (i["productOrService"]["coding"][0]["code"], i["quantity"]["value"])
                for i in resource["item"]
            ],
            [(line.code, line.units) for line in lines],
        )
        self.assertEqual(
            round(sum(_cents(i["net"]["value"]) for i in resource["item"])), self.claim.total_cents
        )
        self.assertEqual(_cents(resource["total"]["value"]), self.claim.total_cents)
        # The charge lines the sent claim carries read as billed ChargeItems.
        charge_item = self.get(f"ChargeItem/{lines[0].charge_line_id}", self.adam).json()
        self.assertEqual(charge_item["status"], "billed")

    def test_claim_search_by_status_date_and_patient(self) -> None:
        mine = [str(self.claim.pk)]
        self.assertEqual(self.ids("Claim", status="active", patient=self.pat.pk), mine)
        self.assertEqual(self.ids("Claim", status="draft"), [])
        self.assertEqual(self.ids("Claim", created=f"ge{self.claim.created_at:%Y-%m-%d}"), mine)
        self.assertEqual(self.ids("Claim", created="lt2000-01-01"), [])
        self.assertEqual(self.ids("Claim", use="claim", _id=self.claim.pk), mine)

    def test_explanation_of_benefit_adjudicates_each_line(self) -> None:
        resource = self.get(f"ExplanationOfBenefit/{self.answer.pk}", self.adam).json()
        assert_valid(resource)
        self.assertEqual(resource["claim"], {"reference": f"Claim/{self.claim.pk}"})
        self.assertEqual(resource["outcome"], "complete")
        first = _categories(resource["item"][0]["adjudication"])
        line = self.answer.lines.first()
        self.assertEqual(_cents(first["submitted"]), line.charge_cents)
        self.assertEqual(_cents(first["benefit"]), line.paid_cents)
        self.assertEqual(first["copay"], 36)
        self.assertEqual(
            _cents(first["eligible"]), line.paid_cents + line.patient_responsibility_cents
        )
        self.assertEqual(_cents(resource["payment"]["amount"]["value"]), self.answer.paid_cents)
        found = self.ids("ExplanationOfBenefit", claim=f"Claim/{self.claim.pk}", status="active")
        self.assertEqual(found, [str(self.answer.pk)])
        self.assertEqual(self.ids("ExplanationOfBenefit", created="lt2000"), [])

    def test_each_read_and_search_is_one_audit_event(self) -> None:
        for path, kind in (
            (f"Coverage/{self.coverage.pk}", "fhir.Coverage"),
            (f"Claim/{self.claim.pk}", "fhir.Claim"),
            ("ExplanationOfBenefit", "fhir.ExplanationOfBenefit"),
        ):
            before = self.events()
            self.assertEqual(self.get(path, self.adam).status_code, 200)
            self.assertEqual(self.events(), before + 1)
            event = AuditEvent.objects.latest("pk")
            self.assertEqual((event.object_type, event.patient_id), (kind, self.pat.pk))

    def test_another_clinic_and_roles_without_the_permission_see_nothing(self) -> None:
        other = f.coverage(self.stranger, self.oscar)
        self.assertEqual(self.get(f"Coverage/{other.pk}", self.adam).status_code, 404)
        self.assertDenialsRecorded(f"/fhir/R4/Coverage/{other.pk}")
        for path in (f"Claim/{self.claim.pk}", f"ExplanationOfBenefit/{self.answer.pk}"):
            self.assertEqual(self.get(path, self.oscar).status_code, 403)  # a prescriber there
            self.assertEqual(self.get(path, self.alice).status_code, 403)  # front desk: no claims
            self.assertDenialsRecorded(f"/fhir/R4/{path}", 2)
        refused = self.get(f"Coverage/{self.coverage.pk}", self.paula)
        self.assertEqual(refused.status_code, 403)
        self.assertEqual(refused.json()["resourceType"], "OperationOutcome")
        self.assertDenialsRecorded(f"/fhir/R4/Coverage/{self.coverage.pk}")

    def test_bad_parameters_are_a_400_naming_the_parameter(self) -> None:
        for type_name, name, value in (
            ("Claim", "created", "soon"),
            ("ExplanationOfBenefit", "claim", "Claim/abc"),
            ("Coverage", "beneficiary", "Group/1"),
            ("Claim", "payee", "x"),
        ):
            before = self.events()
            response = self.get(type_name, self.adam, **{name: value})
            self.assertEqual(response.status_code, 400, (type_name, name))
            body = response.json()
            self.assertEqual(body["resourceType"], "OperationOutcome")
            self.assertIn(name, body["issue"][0]["expression"][0] + body["issue"][0]["diagnostics"])
            self.assertEqual(self.events(), before)

    def entries(self, type_name: str, **params: Any) -> list[tuple[str, str]]:
        response = self.get(type_name, self.adam, **params)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        assert_valid(body)
        return [
            (f"{e['resource']['resourceType']}/{e['resource']['id']}", e["search"]["mode"])
            for e in body["entry"]
        ]

    def test_claim_includes_its_patient_coverage_and_provider(self) -> None:
        found = self.entries(
            "Claim",
            _include=["Claim:patient", "Claim:coverage", "Claim:provider"],
        )
        self.assertEqual(
            found,
            [
                (f"Claim/{self.claim.pk}", "match"),
                (f"Patient/{self.pat.pk}", "include"),
                (f"Coverage/{self.coverage.pk}", "include"),
                (f"Organization/{self.clinic.pk}", "include"),
            ],
        )

    def test_coverage_beneficiary_and_revincluded_claims_and_answers(self) -> None:
        found = self.entries("Coverage", _include="Coverage:beneficiary")
        self.assertIn((f"Patient/{self.pat.pk}", "include"), found)
        found = self.entries(
            "Patient",
            _id=self.pat.pk,
            _revinclude=["Claim:patient", "ExplanationOfBenefit:patient", "Coverage:beneficiary"],
        )
        self.assertEqual(
            {entry for entry in found if entry[1] == "include"},
            {
                (f"Claim/{self.claim.pk}", "include"),
                (f"ExplanationOfBenefit/{self.answer.pk}", "include"),
                (f"Coverage/{self.coverage.pk}", "include"),
            },
        )
        found = self.entries("Claim", _revinclude="ExplanationOfBenefit:claim")
        self.assertIn((f"ExplanationOfBenefit/{self.answer.pk}", "include"), found)

    def test_included_records_are_audited_per_type(self) -> None:
        before = self.events()
        self.entries("ExplanationOfBenefit", _include="ExplanationOfBenefit:claim")
        kinds = list(
            AuditEvent.objects.filter(pk__gt=0)
            .order_by("-pk")[:2]
            .values_list("object_type", "detail")
        )
        self.assertEqual(self.events(), before + 2)
        self.assertEqual(kinds[0][0], "fhir.Claim")
        self.assertEqual(kinds[0][1]["included"], "ExplanationOfBenefit:claim")
        self.assertEqual(kinds[1][0], "fhir.ExplanationOfBenefit")

    def test_a_role_without_the_included_types_permission_is_refused(self) -> None:
        # Front desk reads coverage but not claims: asking for them as well is a 403.
        before = AuditEvent.objects.exclude(action="denied").count()
        response = self.get("Coverage", self.alice, _revinclude="Claim:coverage")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(AuditEvent.objects.exclude(action="denied").count(), before)
