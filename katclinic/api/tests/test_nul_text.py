"""Text with a NUL character is refused by name before it reaches the database.

PostgreSQL cannot store NUL in text: before the API's parser refused it, a NUL in a search
term, a questionnaire comment or an alert note failed with a server error there.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from katclinic.api.models import ApiToken, Scope
from katclinic.measures.models import Response, SafetyAlert
from katclinic.testing import ClinicTestCase

PHQ9 = {f"q{n}": 1 for n in range(1, 10)}


class NulTextTest(ClinicTestCase):
    def setUp(self) -> None:
        _, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        self.headers = {"Authorization": f"Bearer {raw}"}

    def post(self, name: str, body: dict[str, Any], **kwargs: Any) -> Any:
        return self.client.post(
            reverse(name, kwargs=kwargs),
            body,
            content_type="application/json",
            headers=self.headers,
        )

    def assert_names(self, response: Any, field: str) -> None:
        self.assertEqual(response.status_code, 422)
        self.assertIn(field, [e["field"] for e in response.json()["errors"]])

    def test_nul_in_a_query_parameter(self) -> None:
        response = self.client.get(
            reverse("api:patients_list"), {"q": "Doe\x00"}, headers=self.headers
        )
        self.assert_names(response, "q")
        self.assertEqual(
            response.json()["errors"][0]["message"], "Text must not contain NUL characters"
        )

    def test_nul_in_a_json_string_stores_nothing(self) -> None:
        body = {
            "patient_id": self.pat.pk,
            "instrument": "phq9",
            "answers": PHQ9,
            "comment": "fine\x00",
        }
        self.assert_names(self.post("api:measures_submit", body), "comment")
        self.assert_names(
            self.post("api:measures_submit", body | {"comment": "", "instrument": "\x00"}),
            "instrument",
        )
        self.assertFalse(Response.objects.exists())
        # Without the NUL the same response is stored.
        self.assertEqual(
            self.post("api:measures_submit", body | {"comment": "fine"}).status_code, 201
        )

    def test_nul_in_a_nested_value(self) -> None:
        body = {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9 | {"q1": "\x00"}}
        response = self.post("api:measures_submit", body)
        self.assertEqual(response.status_code, 422)
        self.assertTrue(any(e["field"].startswith("answers") for e in response.json()["errors"]))
        self.assertFalse(SafetyAlert.objects.exists() or Response.objects.exists())
