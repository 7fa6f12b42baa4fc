"""FHIR: Observations and QuestionnaireResponses validate as R4B; Questionnaire import/export."""

import io
import json
import tempfile
from pathlib import Path

from django.core.management import call_command
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from katclinic.measures.catalogue import current_instrument, definition_of
from katclinic.measures.fhir import to_fhir_observation, to_fhir_questionnaire_response
from katclinic.measures.models import Instrument
from katclinic.measures.tests.helpers import PHQ9_ITEM9, submit
from katclinic.testing import ClinicTestCase


class FhirTest(ClinicTestCase):
    def test_a_phq9_score_is_a_loinc_coded_survey_observation(self) -> None:
        response = submit(self, PHQ9_ITEM9)
        resource = to_fhir_observation(response)
        Observation.model_validate(resource)
        self.assertEqual(resource["code"]["coding"][0]["code"], "44261-6")
        self.assertEqual(resource["valueInteger"], 17)
        self.assertEqual(
            resource["derivedFrom"], [{"reference": f"QuestionnaireResponse/qr-{response.pk}"}]
        )

    def test_a_cssrs_screen_reports_its_risk(self) -> None:
        response = submit(self, {"q1": False, "q2": False, "q6": False}, key="cssrs_screener")
        observation = Observation.model_validate(to_fhir_observation(response)).model_dump(
            mode="json"
        )
        self.assertEqual(observation["valueCodeableConcept"]["text"], "none risk")

    def test_the_answers_are_a_valid_questionnaire_response(self) -> None:
        response = submit(self, PHQ9_ITEM9)
        resource = QuestionnaireResponse.model_validate(
            to_fhir_questionnaire_response(response)
        ).model_dump(mode="json")
        item9 = next(i for i in resource["item"] if i["linkId"] == "q9")
        self.assertEqual(item9["answer"][0]["valueCoding"]["code"], "LA6569-3")
        self.assertEqual(resource["questionnaire"], "urn:katclinic:questionnaire:phq9|1.0.0")

    def test_export_then_import_gives_the_same_definition_as_a_new_version(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            call_command("export_questionnaire", "gad7", folder, stdout=io.StringIO())
            questionnaire = Path(folder) / "gad7.questionnaire.json"
            data = json.loads(questionnaire.read_text())
            data["version"] = "1.0.1"
            questionnaire.write_text(json.dumps(data))
            call_command(
                "import_questionnaire",
                str(questionnaire),
                str(Path(folder) / "gad7.scoring.json"),
                stdout=io.StringIO(),
            )
        imported = Instrument.objects.get(key="gad7", version="1.0.1")
        original = definition_of(Instrument.objects.get(key="gad7", version="1.0.0"))
        self.assertEqual(definition_of(imported), original.model_copy(update={"version": "1.0.1"}))
        self.assertEqual(current_instrument("gad7", self.clinic), imported)

    def test_a_stored_version_is_never_overwritten(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            call_command("export_questionnaire", "gad7", folder, stdout=io.StringIO())
            with self.assertRaisesMessage(Exception, "already stored"):
                call_command(
                    "import_questionnaire",
                    f"{folder}/gad7.questionnaire.json",
                    f"{folder}/gad7.scoring.json",
                )

    def test_clinic_wording_is_a_new_clinic_version(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as wording:
            json.dump({"q1": "Licensed wording of item one"}, wording)
        call_command(
            "load_clinic_wording",
            "north",
            "madrs",
            wording.name,
            "--as-version",
            "1.0.0-north",
            stdout=io.StringIO(),
        )
        mine = current_instrument("madrs", self.clinic)
        self.assertEqual(definition_of(mine).items[0].text, "Licensed wording of item one")  # type: ignore[arg-type]
        self.assertNotEqual(current_instrument("madrs", self.other_clinic), mine)
