"""Paged API lists refuse a limit or offset out of range by name, instead of failing."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from katclinic.api.models import ApiToken, Scope
from katclinic.api.pagination import MAX_LIMIT, MAX_OFFSET
from katclinic.testing import ClinicTestCase

PAGED = ("api:patients_list", "api:appointments_list", "api:intake_requests")


class PaginationBoundsTest(ClinicTestCase):
    def setUp(self) -> None:
        # adam (admin) may list patients, appointments and consultation requests.
        _, raw = ApiToken.issue(
            user=self.adam, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, name: str, **query: Any) -> Any:
        return self.client.get(reverse(name), query, headers=self.headers)

    def test_huge_limit_or_offset_answers_422_naming_it(self) -> None:
        # A limit past 2**63 once reached SQLite and failed with a server error.
        for name in PAGED:
            for field, value in (
                ("limit", 3945908589378958335672320),
                ("limit", MAX_LIMIT + 1),
                ("offset", 2**70),
                ("offset", MAX_OFFSET + 1),
                ("limit", 0),
                ("offset", -1),
                ("limit", "ten"),
            ):
                with self.subTest(url=name, field=field, value=value):
                    response = self.get(name, **{field: value})
                    self.assertEqual(response.status_code, 422)
                    fields = [e["field"] for e in response.json()["errors"]]
                    self.assertTrue(any(f.endswith(field) for f in fields), fields)

    def test_in_range_pages_still_work(self) -> None:
        response = self.get("api:patients_list", limit=MAX_LIMIT, offset=MAX_OFFSET)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["items"], [])
        response = self.get("api:patients_list", limit=1)
        self.assertEqual(len(response.json()["items"]), 1)
        self.assertEqual(response.json()["count"], 2)
