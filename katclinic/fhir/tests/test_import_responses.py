"""QuestionnaireResponse import in transaction Bundles: scored, checked and audited like any submission."""

from datetime import UTC, datetime
from typing import Any

from katclinic.audit.models import Action, AuditEvent
from katclinic.audit.services import verify_chain
from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.factories import make_response
from katclinic.fhir.tests.test_import import patient
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.measures.models import Response, SafetyAlert, Source
from katclinic.patients.models import Patient

PHQ9 = "urn:katclinic:questionnaire:phq9"
NEW = "urn:uuid:5f0c1a2e-7b1d-4c55-9a61-3f0d2a9b8c11"


def answers(**values: int) -> list[dict[str, Any]]:
    """PHQ-9 items answered with the local answer codes (every item 0 unless given)."""
    chosen = {f"q{n}": 0 for n in range(1, 10)} | values
    return [
        {
            "linkId": link,
            "answer": [{"valueCoding": {"system": "urn:katclinic:answer", "code": str(v)}}],
        }
        for link, v in chosen.items()
    ]


def response(
    subject: str, items: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": PHQ9,
        "status": "completed",
        "subject": {"reference": subject},
        "item": answers() if items is None else items,
        **extra,
    }


def bundle(*entries: tuple[dict[str, Any], str]) -> dict[str, Any]:
    """Entries as (resource, fullUrl); an empty fullUrl is left out."""
    out = []
    for resource, url in entries:
        entry: dict[str, Any] = {
            "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"]},
        }
        if url:
            entry["fullUrl"] = url
        out.append(entry)
    return {"resourceType": "Bundle", "type": "transaction", "entry": out}


class ResponseImportTest(FhirTestCase):
    def counts(self) -> tuple[int, int, int, int]:
        return (
            Patient.objects.count(),
            Response.objects.count(),
            SafetyAlert.objects.count(),
            self.events(),
        )

    def test_responses_for_a_new_and_an_existing_patient_are_scored_alerted_and_audited(
        self,
    ) -> None:
        before = self.events()
        authored = "2026-03-04T09:30:00Z"
        posted = bundle(
            (patient("Newcomer"), NEW),
            (response(NEW, answers(q1=3, q2=2, q9=1), authored=authored), ""),
            (response(f"Patient/{self.pat.pk}"), ""),
        )
        answer = self.post(posted)
        self.assertEqual(answer.status_code, 200, answer.content)
        assert_valid(answer.json())
        newcomer = Patient.objects.get(clinic=self.clinic, last_name="Newcomer")
        first, second = Response.objects.filter(clinic=self.clinic).order_by("pk")
        locations = [e["response"]["location"] for e in answer.json()["entry"]]
        self.assertEqual(
            [location.rsplit("/", 1)[0] for location in locations],
            [
                f"Patient/{newcomer.pk}/_history",
                f"QuestionnaireResponse/{first.pk}/_history",
                f"QuestionnaireResponse/{second.pk}/_history",
            ],
        )
        for location in locations:  # each names the current version, which answers
            self.assertEqual(self.get(location).status_code, 200, location)
        self.assertEqual(
            (first.patient_id, first.total, first.source), (newcomer.pk, 6, Source.API)
        )
        self.assertEqual(first.submitted_at, datetime(2026, 3, 4, 9, 30, tzinfo=UTC))
        self.assertEqual((second.patient_id, second.total), (self.pat.pk, 0))
        # Item 9 answered above zero raises the same safety alert as a portal submission.
        self.assertEqual(
            list(
                SafetyAlert.objects.filter(patient=newcomer).values_list("response_id", flat=True)
            ),
            [first.pk],
        )
        created = AuditEvent.objects.filter(pk__gt=0, action=Action.CREATE).order_by("-pk")
        self.assertTrue(
            created.filter(patient_id=newcomer.pk, object_type="patients.patient").exists()
        )
        self.assertEqual(created.filter(object_type="measures.response").count() - 0, 2)
        self.assertGreaterEqual(self.events(), before + 3)
        self.assertEqual(list(verify_chain(self.clinic.pk)), [])
        served = self.get(f"QuestionnaireResponse/{first.pk}").json()
        assert_valid(served)
        self.assertEqual(served["authored"], authored)

    def test_a_served_response_imports_back_unchanged(self) -> None:
        original = make_response(self.pat)
        Response.objects.filter(pk=original.pk).update(
            answers={f"q{n}": 1 for n in range(1, 10)} | {"difficulty": 1}
        )
        served = self.get(f"QuestionnaireResponse/{original.pk}").json()
        del served["id"]
        answer = self.post(bundle((served, "")))
        self.assertEqual(answer.status_code, 200, answer.content)
        copy = Response.objects.latest("pk")
        self.assertEqual(
            (copy.answers, copy.total), ({f"q{n}": 1 for n in range(1, 10)} | {"difficulty": 1}, 9)
        )

    def test_bad_answers_refuse_the_whole_bundle_naming_entry_and_item(self) -> None:
        before = self.counts()
        items = answers()
        items[0]["answer"] = [{"valueCoding": {"system": "urn:katclinic:answer", "code": "7"}}]
        items[1]["linkId"] = "q99"
        del items[2]["answer"]
        posted = bundle(
            (patient("Fine"), NEW),
            (response(NEW, items), ""),
            (response(f"Patient/{self.pat.pk}", status="amended"), ""),
        )
        answer = self.post(posted)
        self.assertEqual(answer.status_code, 422)
        body = answer.json()
        assert_valid(body)
        expressions = [e for issue in body["issue"] for e in issue.get("expression", [])]
        self.assertIn("Bundle.entry[1].resource.item[0].answer[0].valueCoding", expressions)
        self.assertIn("Bundle.entry[1].resource.item[1].linkId", expressions)
        self.assertIn("Bundle.entry[2].resource.status", expressions)
        self.assertFalse(any(e.startswith("Bundle.entry[0]") for e in expressions))
        self.assertEqual(self.counts(), before)

    def test_a_missing_required_answer_is_named_after_the_mapping_passes(self) -> None:
        before = self.counts()
        items = answers()
        del items[2]["answer"]
        answer = self.post(bundle((response(f"Patient/{self.pat.pk}", items), "")))
        self.assertEqual(answer.status_code, 422)
        issue = answer.json()["issue"][0]
        self.assertEqual(issue["expression"], ["Bundle.entry[0].resource.item[2]"])
        self.assertIn("q3", issue["diagnostics"])
        self.assertEqual(self.counts(), before)

    def test_a_subject_outside_the_bundle_or_clinic_or_an_unknown_questionnaire_is_refused(
        self,
    ) -> None:
        before = self.counts()
        posted = bundle(
            (patient("Fine"), NEW),
            (response("urn:uuid:00000000-0000-4000-8000-000000000000"), ""),
            (response(f"Patient/{self.stranger.pk}"), ""),
            (
                response(
                    f"Patient/{self.pat.pk}", questionnaire="urn:katclinic:questionnaire:nope"
                ),
                "",
            ),
            (patient("Twin"), NEW),
        )
        answer = self.post(posted)
        self.assertEqual(answer.status_code, 422)
        expressions = [e for issue in answer.json()["issue"] for e in issue.get("expression", [])]
        self.assertEqual(
            expressions,
            [
                "Bundle.entry[1].resource.subject.reference",
                "Bundle.entry[2].resource.subject.reference",
                "Bundle.entry[3].resource.questionnaire",
                "Bundle.entry[4].fullUrl",
            ],
        )
        self.assertEqual(self.counts(), before)

    def test_a_structurally_invalid_response_is_named_by_element(self) -> None:
        before = self.counts()
        answer = self.post(bundle((response(f"Patient/{self.pat.pk}", authored="yesterday"), "")))
        self.assertEqual(answer.status_code, 422)
        expressions = [e for issue in answer.json()["issue"] for e in issue.get("expression", [])]
        self.assertIn("Bundle.entry[0].resource.authored", expressions)
        self.assertEqual(self.counts(), before)

    def test_front_desk_may_register_patients_but_not_import_answers(self) -> None:
        before = self.counts()
        answer = self.post(bundle((patient("Desk"), NEW), (response(NEW), "")), self.alice)
        self.assertEqual(answer.status_code, 403)
        self.assertEqual(self.counts()[:3], before[:3])
        self.assertEqual(self.post(bundle((patient("Desk"), "")), self.alice).status_code, 200)

    def test_a_therapist_may_import_answers_but_not_register_patients(self) -> None:
        before = self.counts()
        self.assertEqual(
            self.post(bundle((patient("No"), NEW), (response(NEW), "")), self.tara).status_code, 403
        )
        self.assertEqual(self.counts()[:3], before[:3])
        self.assertEqual(
            self.post(bundle((response(f"Patient/{self.pat.pk}"), "")), self.tara).status_code, 200
        )
        self.assertEqual(Response.objects.count(), before[1] + 1)

    def test_a_patient_token_may_not_import_answers(self) -> None:
        before = self.counts()
        self.assertEqual(
            self.post(bundle((response(f"Patient/{self.pat.pk}"), "")), self.pat_user).status_code,
            403,
        )
        self.assertEqual(self.counts()[:3], before[:3])
