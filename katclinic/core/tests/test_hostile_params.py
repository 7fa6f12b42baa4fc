"""Hostile values in every route's path and query parameters never cause a server error.

The routes come from the URLconf through the access-matrix specs. For each one, as a person
allowed to use it, hypothesis fills each path converter and each query parameter the project
reads with hostile text: Unicode digits ("²", "٣"), integers longer than Python converts,
years past 9999, NUL, and (for JSON API posts) bodies nested far deeper than any form. The
answer must not be a 5xx.

The default run keeps to about a minute; set KATCLINIC_HOSTILE_EXAMPLES to try more
examples per route (for example 50 in a nightly run).
"""

from __future__ import annotations

import json
import os
import unittest
from typing import Any
from urllib.parse import quote, urlencode

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from katclinic.access_spec import Url
from katclinic.api.models import ApiToken, Scope
from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.core.tests.test_access_matrix import specs_by_app
from katclinic.lib.parse import (
    BadParameter,
    optional_id,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_id,
    parse_int,
)
from katclinic.testing import ClinicTestCase

EXAMPLES = int(os.environ.get("KATCLINIC_HOSTILE_EXAMPLES", "3"))

# Every query parameter a view or the FHIR facade reads.
QUERY_PARAMS = (
    "course",
    "from",
    "day",
    "page",
    "q",
    "start",
    "end",
    "all",
    "state",
    "scope",
    "urgent",
    "next",
    "_count",
    "_offset",
    "_id",
    "patient",
    "date",
    "authored",
    "code",
    "identifier",
    "birthdate",
    "limit",
    "offset",
    "week",
    "show",
    "assigned",
    "mrn",
)

HOSTILE_TEXT = [
    "²",
    "١٢٣",
    "٣",
    "12²",
    "9" * 30,
    "9" * 5000,
    "-1",
    "0",
    "1e9",
    "NaN",
    "Infinity",
    "10000-01-01",
    "9999-12-31",
    "0001-01-01",
    "0000-00-00",
    "2026-02-30",
    "ge9999-12-31T23:59:59-12:00",
    "le0001-01-01T00:00:00+14:00",
    "gt10000",
    "\x00",
    "1\x00",
    "Patient/²",
    "Patient/" + "9" * 25,
    "%",
    "' OR 1=1 --",
    "<script>",
    "\ud7ff",
    "x" * 3000,
]

# Swept through every route before the random examples.
SWEEP = ["²", "9" * 5000, "10000-01-01", "9999-12-31", "1\x00"]

hostile = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(alphabet=st.characters(categories=["Nd", "No"]), min_size=1, max_size=8),
    st.text(max_size=20),
)
hostile_int_path = st.one_of(
    st.sampled_from(["0", "9" * 19, "9" * 30, "9" * 400, "00000001"]),
    st.integers(min_value=0, max_value=2**80).map(str),
)


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def person_for(test: ClinicTestCase, spec: Url) -> Any:
    access = spec.access
    if access == "public":
        return None
    if access == "patient_self" or (spec.patient_self and not isinstance(access, Perm)):
        return test.pat_user
    if access == "link_owner":
        return None
    if isinstance(access, Perm):
        for role, user in test.staff_by_role.items():
            if role in {r.value for r in PERMISSIONS[access]}:
                return user
        return None
    return test.paula


def converters(name: str, kwargs: dict[str, Any]) -> dict[str, str]:
    """For each path kwarg, 'int' if the converter takes only digits, else 'str'."""
    kinds = {}
    for key in kwargs:
        try:
            reverse(name, kwargs={**kwargs, key: "not-digits"})
            kinds[key] = "str"
        except NoReverseMatch:
            kinds[key] = "int"
    return kinds


class HostileParametersTest(ClinicTestCase):
    def check_routes(self, specs: dict[str, Url]) -> None:
        for name, spec in sorted(specs.items()):
            # Each route starts from the same records: a write one route's probe made (a
            # protocol retired, a charge posted) must not take away the next route's row.
            cached = set(self.__dict__)
            with transaction.atomic():
                self.check_route(name, spec)
                transaction.set_rollback(True)
            # Rows fixtures cached on the test during this route are gone with the rollback.
            for key in set(self.__dict__) - cached:
                del self.__dict__[key]

    def check_route(self, name: str, spec: Url) -> None:
        user = person_for(self, spec)
        valid = spec.kwargs(self)
        kinds = converters(name, valid)
        headers: dict[str, str] = {}
        self.client.logout()
        if user is not None and spec.api:
            _, token = ApiToken.issue(
                user=user, clinic=self.clinic, name="hostile", scopes=list(Scope.values)
            )
            headers["Authorization"] = f"Bearer {token}"
        elif user is not None:
            self.login(user)
        self.route(name, spec, valid, kinds, headers)

    def route(
        self,
        name: str,
        spec: Url,
        valid: dict[str, Any],
        kinds: dict[str, str],
        headers: dict[str, str],
    ) -> None:
        path_values = st.fixed_dictionaries(
            {
                key: st.one_of(
                    st.just(str(value)), hostile_int_path if kinds[key] == "int" else hostile
                )
                for key, value in valid.items()
            }
        )
        query = st.dictionaries(st.sampled_from(QUERY_PARAMS), hostile, max_size=4)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=EXAMPLES <= 3,
            suppress_health_check=list(HealthCheck),
        )
        @given(kwargs=path_values, params=query, depth=st.sampled_from([5, 40, 5000]))
        def probe(kwargs: dict[str, str], params: dict[str, str], depth: int) -> None:
            try:
                url = reverse(name, kwargs={k: quote(v, safe="") for k, v in kwargs.items()})
            except NoReverseMatch:
                url = reverse(name, kwargs=valid)
            url = f"{url}?{urlencode(params)}" if params else url
            if spec.method == "POST" and spec.api:
                response = self.client.post(
                    url, deep_json(depth), content_type="application/json", headers=headers
                )
            elif spec.method == "POST":
                data = {key: next(iter(params.values()), "²") for key in spec.data(self)}
                response = self.client.post(url, data)
            else:
                response = self.client.get(url, headers=headers)
            self.assertLess(response.status_code, 500, f"{spec.method} {url} as {headers or 'web'}")

        # First the values known to have broken pages, in every parameter at once; then
        # hypothesis's own choices.
        for value in SWEEP:
            for params in ({key: value for key in QUERY_PARAMS}, {"_count": value, "date": value}):
                probe.hypothesis.inner_test(  # type: ignore[attr-defined]
                    kwargs={k: str(v) for k, v in valid.items()}, params=params, depth=40
                )
        probe()


def _routes_test(label: str) -> Any:
    def test(self: HostileParametersTest) -> None:
        self.check_routes(specs_by_app()[label])

    test.__name__ = f"test_hostile_parameters_of_{label}"
    return test


for _label in specs_by_app():
    setattr(HostileParametersTest, f"test_hostile_parameters_of_{_label}", _routes_test(_label))


class ParsersTest(unittest.TestCase):
    """The parsers themselves: what they take, and the parameter they name when they refuse."""

    def assert_refused(self, parse: Any, value: Any, field: str = "x", **kw: Any) -> None:
        with self.assertRaises(BadParameter) as caught:
            parse(value, field, **kw)
        self.assertEqual(caught.exception.field, field)

    def test_integers_are_ascii_digits_of_bounded_length(self) -> None:
        self.assertEqual(parse_int("42", "n"), 42)
        self.assertEqual(parse_int("-7", "n"), -7)
        for bad in ["²", "١٢", "4²", "9" * 5000, "1.5", "", " ", "1e3", "0x10", "1\x00", None]:
            self.assert_refused(parse_int, bad)
        self.assert_refused(parse_int, "11", max=10)
        self.assert_refused(parse_int, "-1", min=0)

    def test_ids_are_positive_and_fit_a_database_integer(self) -> None:
        self.assertEqual(parse_id("12", "course"), 12)
        self.assertEqual(parse_id(str(2**63 - 1), "course"), 2**63 - 1)
        for bad in ["0", "-3", str(2**63), "9" * 30, "²"]:
            self.assert_refused(parse_id, bad, "course")
        self.assertIsNone(optional_id("", "course"))
        self.assertIsNone(optional_id(None, "course"))

    def test_dates_are_years_one_to_9999(self) -> None:
        self.assertEqual(str(parse_date("2026-03-31", "day")), "2026-03-31")
        for bad in ["10000-01-01", "9999-12-31", "0000-01-01", "2026-02-30", "٢٠٢٦-٠١-٠١", "x"]:
            self.assert_refused(parse_date, bad, "day")
        moment = parse_datetime("2026-03-31T14:30", "at")
        self.assertIsNotNone(moment.tzinfo)
        for bad in ["10000-01-01T00:00", "2026-03-31", "2026-03-31T25:00"]:
            self.assert_refused(parse_datetime, bad, "at")

    def test_decimals_refuse_exponents_and_non_numbers(self) -> None:
        self.assertEqual(str(parse_decimal("12.50", "mg")), "12.50")
        for bad in ["NaN", "Infinity", "1e400", "١٫٥", "1,5", "9" * 100]:
            self.assert_refused(parse_decimal, bad, "mg")
        self.assert_refused(parse_decimal, "1.234", "mg", places=2)

    @given(st.text(max_size=40))
    @settings(max_examples=200, deadline=None, database=None)
    def test_any_text_is_parsed_or_refused_by_name(self, text: str) -> None:
        for parse in (parse_int, parse_id, parse_date, parse_datetime, parse_decimal):
            try:
                parse(text, "field")
            except BadParameter as error:
                self.assertEqual(error.field, "field")


class BadParameterAnswersTest(ClinicTestCase):
    """Each surface names the parameter: a 400 page, a 422 JSON, a 400 OperationOutcome."""

    def test_web_page_names_the_parameter(self) -> None:
        self.login(self.paula)
        url = reverse("outcomes:progress", kwargs={"patient_id": self.pat.pk})
        response = self.client.get(url, {"course": "²"})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "course", status_code=400)

    def test_fhir_search_names_the_parameter(self) -> None:
        _, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=[Scope.FHIR_READ]
        )
        response = self.client.get(
            "/fhir/R4/Observation", {"_count": "²"}, headers={"Authorization": f"Bearer {raw}"}
        )
        self.assertEqual(response.status_code, 400)
        body = json.loads(response.content)
        self.assertEqual(body["resourceType"], "OperationOutcome")
        self.assertIn("_count", json.dumps(body))


class AnonymousQuestionnaireTest(ClinicTestCase):
    """The emailed questionnaire page (no one signed in) refuses hostile answers by item."""

    def test_unicode_digits_and_huge_numbers_are_refused_by_item_and_nothing_is_stored(
        self,
    ) -> None:
        from katclinic.measures.models import Response
        from katclinic.measures.tests.helpers import PHQ9_MILD, emailed_invitation, form_data

        _, raw = emailed_invitation(self)
        path = f"/measures/q/{raw}/"
        data = form_data(PHQ9_MILD) | {"comment": ""}
        first = next(iter(k for k in data if k != "comment"))
        for bad in ["²", "١", "9" * 5000, "-" + "9" * 30, "1\x00"]:
            response = self.client.post(path, data | {first: bad})
            self.assertIn(response.status_code, (200, 400), bad)
            self.assertFalse(Response.objects.exists(), bad)
