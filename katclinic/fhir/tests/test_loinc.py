"""LOINC-coded PHQ-9 and GAD-7: served with their LOINC forms, imported as a hospital sends them."""

from typing import Any

from katclinic.fhir.tests.base import FhirTestCase
from katclinic.fhir.tests.test_import import patient
from katclinic.fhir.tests.test_import_responses import answers
from katclinic.fhir.tests.test_mapping import assert_valid
from katclinic.measures.models import Response, SafetyAlert

PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7"]
PHQ9_ITEMS += ["44258-2", "44252-5", "44253-3", "44260-8"]
LA = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
TEXT = ["Not at all", "Several days", "More than half the days", "Nearly every day"]


def loinc_phq9(subject: str, values: list[int], style: str) -> dict[str, Any]:
    """A PHQ-9 as a hospital sends it: LOINC canonical, item codes as linkIds, and answers
    coded with system and LA code, the LA code alone, or only the answer's text."""
    items = []
    for code, value in zip(PHQ9_ITEMS, values, strict=True):
        coding = {
            "full": {"system": "http://loinc.org", "code": LA[value], "display": TEXT[value]},
            "code": {"code": LA[value]},
            "display": {"display": TEXT[value].lower()},
        }[style]
        items.append({"linkId": code, "answer": [{"valueCoding": coding}]})
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": "completed",
        "subject": {"reference": subject},
        "authored": "2026-01-05T10:00:00Z",
        "item": items,
    }


def native_phq9(subject: str, values: list[int]) -> dict[str, Any]:
    chosen = {f"q{n}": v for n, v in enumerate(values, start=1)}
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "urn:katclinic:questionnaire:phq9",
        "status": "completed",
        "subject": {"reference": subject},
        "authored": "2026-01-05T10:00:00Z",
        "item": answers(**chosen),
    }


class LoincQuestionnaireTest(FhirTestCase):
    def test_served_phq9_and_gad7_name_their_loinc_form_and_item_terms(self) -> None:
        for key, canonical, first in (
            ("phq9", "http://loinc.org/q/44249-1", "44250-9"),
            ("gad7", "http://loinc.org/q/69737-5", "69725-0"),
        ):
            body = self.get(f"Questionnaire/{key}").json()
            assert_valid(body)
            self.assertEqual(body["derivedFrom"], [canonical])
            self.assertEqual(body["item"][0]["code"][0]["code"], first)
            self.assertEqual(body["item"][0]["definition"], f"https://loinc.org/{first}/")
        found = self.get("Questionnaire", url="http://loinc.org/q/44249-1").json()
        self.assertEqual([e["resource"]["id"] for e in found["entry"]], ["phq9"])

    def test_loinc_coded_submissions_score_and_alert_exactly_as_native_ones(self) -> None:
        values = [3, 2, 1, 0, 3, 2, 1, 0, 2]  # item 9 answered: a safety alert
        outcomes = []
        for style in ("native", "full", "code", "display"):
            # Each on a patient of its own, so that no earlier alert stands in the way.
            made = self.client.post(
                "/fhir/R4/Patient",
                patient(style.title()),
                content_type="application/fhir+json",
                headers={"Authorization": f"Bearer {self.token(self.paula)}"},
            )
            subject = f"Patient/{made.json()['id']}"
            posted = (
                native_phq9(subject, values)
                if style == "native"
                else loinc_phq9(subject, values, style)
            )
            alerts = SafetyAlert.objects.count()
            answer = self.client.post(
                "/fhir/R4/QuestionnaireResponse",
                posted,
                content_type="application/fhir+json",
                headers={"Authorization": f"Bearer {self.token(self.paula)}"},
            )
            self.assertEqual(answer.status_code, 201, answer.content)
            assert_valid(answer.json())
            stored = Response.objects.get(pk=answer.json()["id"])
            outcomes.append(
                (
                    stored.instrument_key,
                    stored.answers,
                    stored.total,
                    SafetyAlert.objects.count() - alerts,
                    sorted(
                        SafetyAlert.objects.filter(response=stored).values_list("kind", flat=True)
                    ),
                )
            )
            items = answer.json()["item"]
            self.assertEqual(items[8]["definition"], "https://loinc.org/44260-8/")
        self.assertEqual(outcomes[0][2], sum(values))
        self.assertEqual(outcomes[0][3], 1)
        self.assertEqual(outcomes, [outcomes[0]] * 4)

    def test_an_unknown_loinc_item_or_answer_is_a_422_naming_it(self) -> None:
        before = Response.objects.count()
        posted = loinc_phq9(f"Patient/{self.pat.pk}", [0] * 9, "code")
        posted["item"][0]["linkId"] = "99999-9"
        posted["item"][1]["answer"] = [{"valueCoding": {"code": "LA0000-0"}}]
        posted["item"][2]["answer"] = [{"valueCoding": {"display": "sometimes"}}]
        answer = self.client.post(
            "/fhir/R4/QuestionnaireResponse",
            posted,
            content_type="application/fhir+json",
            headers={"Authorization": f"Bearer {self.token(self.paula)}"},
        )
        self.assertEqual(answer.status_code, 422, answer.content)
        where = {e for issue in answer.json()["issue"] for e in issue.get("expression", [])}
        self.assertTrue(
            {
                "QuestionnaireResponse.item[0].linkId",
                "QuestionnaireResponse.item[1].answer[0].valueCoding",
                "QuestionnaireResponse.item[2].answer[0].valueCoding",
            }
            <= where,
            where,
        )
        self.assertEqual(Response.objects.count(), before)

    def test_a_loinc_gad7_maps_coded_items_and_keeps_the_others_by_link_id(self) -> None:
        # LOINC codes 69725-0, 68509-9 and 69736-7 for items 1, 2 and 7; the rest by linkId.
        links = ["69725-0", "68509-9", "q3", "q4", "q5", "q6", "69736-7"]
        posted = {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": "http://loinc.org/q/69737-5",
            "status": "completed",
            "subject": {"reference": f"Patient/{self.pat.pk}"},
            "item": [
                {"linkId": link, "answer": [{"valueCoding": {"code": LA[1]}}]} for link in links
            ],
        }
        answer = self.client.post(
            "/fhir/R4/QuestionnaireResponse",
            posted,
            content_type="application/fhir+json",
            headers={"Authorization": f"Bearer {self.token(self.paula)}"},
        )
        self.assertEqual(answer.status_code, 201, answer.content)
        stored = Response.objects.get(pk=answer.json()["id"])
        self.assertEqual((stored.instrument_key, stored.total), ("gad7", 7))
        self.assertEqual(set(stored.answers), {f"q{n}" for n in range(1, 8)})
