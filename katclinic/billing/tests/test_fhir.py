"""ChargeItem through the FHIR facade: valid R4B, status from posting and reversal, access."""

from typing import Any

from katclinic.billing import services
from katclinic.billing.tests import access_spec as spec
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.test_mapping import assert_valid


class ChargeItemTest(FhirTestCase):
    def setUp(self) -> None:
        self.charge = spec._charge(self, posted=True)
        self.line = self.charge.lines.get()

    def ids(self, user: Any = None, **params: Any) -> list[str]:
        body = self.get("ChargeItem", user or self.adam, **params).json()
        assert_valid(body)
        return [e["resource"]["id"] for e in body["entry"]]

    def test_a_posted_line_reads_as_a_valid_billable_charge_item(self) -> None:
        response = self.get(f"ChargeItem/{self.line.pk}", self.alice)
        self.assertEqual(response.status_code, 200)
        resource = response.json()
        assert_valid(resource)
        self.assertEqual(resource["status"], "billable")
        self.assertEqual(resource["code"]["coding"][0]["code"], "96365")
        self.assertEqual(resource["subject"], {"reference": f"Patient/{self.pat.pk}"})
        self.assertEqual(resource["occurrenceDateTime"], "2026-03-02")
        self.assertEqual(resource["reason"][0]["coding"][0]["code"], "F33.2")

    def test_a_reversed_line_is_aborted_and_the_reversal_is_not_served(self) -> None:
        reversal = services.reverse_line(line=self.line, reason="Wrong", by=self.adam)
        resource = self.get(f"ChargeItem/{self.line.pk}", self.adam).json()
        self.assertEqual(resource["status"], "aborted")
        self.assertEqual(self.get(f"ChargeItem/{reversal.pk}", self.adam).status_code, 404)
        self.assertEqual(self.ids(patient=f"Patient/{self.pat.pk}"), [str(self.line.pk)])

    def test_search_by_code_and_date_and_access(self) -> None:
        self.assertEqual(self.ids(code="96365"), [str(self.line.pk)])
        self.assertEqual(self.ids(code="J0013"), [])
        self.assertEqual(self.ids(occurrence="2026-03-02"), [str(self.line.pk)])
        self.assertEqual(self.ids(occurrence="2026-03-03"), [])
        self.assertEqual(self.get("ChargeItem", self.adam, occurrence="soon").status_code, 400)
        self.assertEqual(self.get(f"ChargeItem/{self.line.pk}", self.nick).status_code, 403)
        self.assertEqual(self.get(f"ChargeItem/{self.line.pk}", self.oscar).status_code, 403)
        own = self.get(f"ChargeItem/{self.line.pk}", self.pat_user)
        self.assertEqual(own.status_code, 200)
        self.assertEqual(self.get(f"ChargeItem/{self.line.pk}", self.quinn_user).status_code, 404)
