"""MedicationAdministration: doses from dosing sessions, read and searched like the chart."""

from datetime import UTC, timedelta
from typing import Any

from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent
from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_administration, make_session
from katclinic.fhir.tests.test_mapping import assert_valid


class MedicationAdministrationTest(FhirTestCase):
    def setUp(self) -> None:
        self.session = make_session(self.pat, self.paula)
        self.infusion = make_administration(self.session, self.nick)
        self.adjunct = make_administration(self.session, self.nick, adjunct=True)

    def ids(self, user: Any = None, **params: Any) -> list[str]:
        body = self.get("MedicationAdministration", user, **params).json()
        assert_valid(body)
        return [e["resource"]["id"] for e in body["entry"]]

    def test_a_dose_reads_as_valid_fhir_with_lot_route_dose_and_performer(self) -> None:
        before = self.events()
        response = self.get(f"MedicationAdministration/{self.infusion.pk}")
        self.assertEqual(response.status_code, 200)
        resource = response.json()
        assert_valid(resource)
        self.assertEqual(resource["subject"], {"reference": f"Patient/{self.pat.pk}"})
        self.assertEqual(resource["status"], "completed")
        medication = resource["contained"][0]
        self.assertEqual(
            medication["batch"], {"lotNumber": "KET-1", "expirationDate": "2030-06-30"}
        )
        # No national drug code is claimed: only the local product code and its text.
        self.assertEqual(
            [c["system"] for c in medication["code"]["coding"]],
            ["urn:katclinic:medication-product"],
        )
        self.assertEqual(resource["medicationReference"]["reference"], "#product")
        dosage = resource["dosage"]
        self.assertEqual(
            dosage["dose"],
            {"value": 35, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
        )
        self.assertEqual(dosage["rateQuantity"]["value"], 52.5)
        self.assertEqual(dosage["route"]["text"], "Intravenous")
        self.assertIn("0.5 mg/kg", dosage["text"])
        self.assertEqual(
            resource["effectivePeriod"]["start"][:16],
            self.infusion.started_at.astimezone(UTC).isoformat()[:16],
        )
        self.assertEqual(resource["performer"][0]["actor"]["display"], "Nick")
        self.assertEqual(resource["context"]["identifier"]["value"], str(self.session.pk))
        self.assertEqual(self.events(), before + 1)
        event = AuditEvent.objects.latest("pk")
        self.assertEqual((event.action, event.patient_id), (Action.VIEW, self.pat.pk))

    def test_a_running_infusion_is_in_progress_and_an_adjunct_is_marked(self) -> None:
        running = make_administration(self.session, self.nick, ended=False)
        resource = self.get(f"MedicationAdministration/{running.pk}").json()
        assert_valid(resource)
        self.assertEqual(resource["status"], "in-progress")
        self.assertIn("effectiveDateTime", resource)
        adjunct = self.get(f"MedicationAdministration/{self.adjunct.pk}").json()
        self.assertEqual(adjunct["category"]["coding"][0]["code"], "adjunct")
        self.assertEqual(self.ids(status="in-progress"), [str(running.pk)])

    def test_it_searches_by_patient_date_code_and_category(self) -> None:
        old_session = make_session(self.pat, self.paula, at=timezone.now() - timedelta(days=30))
        old = make_administration(old_session, self.nick)
        quinns = make_administration(make_session(self.quinn, self.paula), self.nick)
        week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()
        everything = {str(r.pk) for r in (self.infusion, self.adjunct, old, quinns)}
        self.assertEqual(set(self.ids()), everything)
        self.assertEqual(
            set(self.ids(patient=f"Patient/{self.pat.pk}")), everything - {str(quinns.pk)}
        )
        self.assertEqual(
            set(self.ids(patient=self.pat.pk, date=f"ge{week_ago}")),
            {str(self.infusion.pk), str(self.adjunct.pk)},
        )
        self.assertEqual(
            self.ids(patient=self.pat.pk, **{"effective-time": f"lt{week_ago}"}), [str(old.pk)]
        )
        self.assertEqual(
            set(self.ids(code="urn:katclinic:medication-product|ketamine 10 mg/mL")),
            {str(self.infusion.pk), str(old.pk), str(quinns.pk)},
        )
        self.assertEqual(self.ids(code="Ondansetron 4 mg ODT"), [str(self.adjunct.pk)])
        self.assertEqual(self.ids(category="adjunct"), [str(self.adjunct.pk)])

    def test_a_national_or_unknown_code_finds_nothing_and_a_bad_date_is_a_400(self) -> None:
        for name, value in [
            ("code", "http://www.nlm.nih.gov/research/umls/rxnorm|6130"),
            ("category", "inpatient"),
            ("status", "stopped"),
        ]:
            response = self.get("MedicationAdministration", **{name: value})
            self.assertEqual(response.status_code, 200, name)
            self.assertEqual((response.json()["total"], response.json()["entry"]), (0, []))
        response = self.get("MedicationAdministration", date="soon")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["issue"][0]["expression"], ["date"])

    def test_another_clinics_doses_are_not_found_and_not_listed(self) -> None:
        stranger = make_administration(make_session(self.stranger, self.oscar), self.oscar)
        self.assertEqual(self.get(f"MedicationAdministration/{stranger.pk}").status_code, 404)
        self.assertNotIn(str(stranger.pk), self.ids())
        self.assertEqual(self.ids(self.oscar), [str(stranger.pk)])
        self.assertEqual(
            self.get(f"MedicationAdministration/{self.infusion.pk}", self.oscar).status_code, 404
        )

    def test_each_role_reads_doses_only_with_clinical_access(self) -> None:
        for role, user in self.staff_by_role.items():
            allowed = role in {r.value for r in PERMISSIONS[Perm.VIEW_CLINICAL]}
            read = self.get(f"MedicationAdministration/{self.infusion.pk}", user)
            search = self.get("MedicationAdministration", user)
            self.assertEqual(
                (read.status_code, search.status_code), (200, 200) if allowed else (403, 403), role
            )

    def test_a_patient_token_sees_its_own_doses_only(self) -> None:
        quinns = make_administration(make_session(self.quinn, self.paula), self.nick)
        self.assertEqual(
            set(self.ids(self.pat_user, patient=self.pat.pk)),
            {str(self.infusion.pk), str(self.adjunct.pk)},
        )
        self.assertEqual(self.get("MedicationAdministration", self.pat_user).status_code, 403)
        self.assertEqual(
            self.get("MedicationAdministration", self.pat_user, patient=self.quinn.pk).status_code,
            404,
        )
        self.assertEqual(
            self.get(f"MedicationAdministration/{quinns.pk}", self.pat_user).status_code, 404
        )
        self.assertEqual(
            self.get(f"MedicationAdministration/{self.infusion.pk}", self.pat_user).status_code, 200
        )

    def test_everything_and_the_capability_statement_include_it(self) -> None:
        body = self.get(f"Patient/{self.pat.pk}/$everything").json()
        assert_valid(body)
        got = {
            e["resource"]["id"]
            for e in body["entry"]
            if e["resource"]["resourceType"] == "MedicationAdministration"
        }
        self.assertEqual(got, {str(self.infusion.pk), str(self.adjunct.pk)})
        statement = self.get("metadata").json()
        assert_valid(statement)
        entry = next(
            r for r in statement["rest"][0]["resource"] if r["type"] == "MedicationAdministration"
        )
        self.assertEqual(
            {p["name"] for p in entry["searchParam"]},
            {"_id", "patient", "subject", "effective-time", "date", "code", "category", "status"}
            | {"request"}
            | {"_count", "_offset", "_sort", "_summary", "_total", "_elements"},
        )
        self.assertIn("not yet verified", entry["documentation"])
