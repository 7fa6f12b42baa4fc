"""The consent screen's words for what an app asks to read (pure)."""

from django.test import SimpleTestCase

from katclinic.smart.auth import served_types
from katclinic.smart.describe import TYPE_WORDS, describe
from katclinic.smart.scopes import parse_scopes


class DescribeTest(SimpleTestCase):
    def lines(self, raw: str, patient_user: bool = True) -> list[str]:
        return describe(parse_scopes(raw, served_types()), patient_user=patient_user)

    def test_every_served_type_has_plain_words(self) -> None:
        missing = [name for name in served_types() if name not in TYPE_WORDS]
        self.assertEqual(missing, [])

    def test_a_patient_reads_what_of_theirs_an_app_asks_for(self) -> None:
        self.assertEqual(
            self.lines("patient/Claim.rs patient/ExplanationOfBenefit.r patient/Condition.s"),
            [
                "Read and search your insurance claims the clinic sent",
                "Read your insurers' answers to claims: what was paid and what is left to pay",
                "Search your diagnoses",
            ],
        )

    def test_shared_directories_are_not_called_yours(self) -> None:
        self.assertEqual(
            self.lines("patient/Practitioner.rs patient/Organization.rs"),
            [
                "Read and search names of the clinic's staff",
                "Read and search the clinic's name and contact details",
            ],
        )

    def test_staff_read_the_chosen_patients_record(self) -> None:
        self.assertEqual(
            self.lines("patient/Coverage.rs", patient_user=False),
            [
                "Read and search the chosen patient's insurance details (insurer, plan and member number)"
            ],
        )
