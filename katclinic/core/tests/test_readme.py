from pathlib import Path

from django.test import SimpleTestCase

from katclinic.clinics.permissions import permission_table_markdown

README = Path(__file__).resolve().parents[3] / "README.md"


class ReadmeTest(SimpleTestCase):
    def test_readme_opens_with_the_two_commands(self) -> None:
        text = README.read_text()
        first_block = text.split("```sh", 1)[1].split("```", 1)[0]
        self.assertIn("make run", first_block)
        self.assertIn("make test", first_block)

    def test_readme_permission_table_matches_the_code(self) -> None:
        text = README.read_text()
        table = (
            text.split("<!-- permissions:start -->", 1)[1]
            .split("<!-- permissions:end -->", 1)[0]
            .strip()
        )
        self.assertEqual(table, permission_table_markdown())
