"""Bad input, generated from the URLconf and the API schema: refused, named, nothing stored.

Every POST form the access matrix knows is posted, as a person allowed to use it, with one
field of the view's own form at a time replaced by a malformed, oversized, out-of-range or
wrong-type value chosen from the field's type. The answer must be a 4xx, or the form again
with an error on that field, and the request must write no data row. A view that reads
the post without a form gets a NUL byte and a 100,000-character value in each key it is
posted: refused with nothing stored, or never stored.

Every JSON API operation is sent bodies (POST) or query strings (GET) that break its
OpenAPI schema one property at a time; the answer must be a 4xx naming the property
(ninja's 422 `errors[].field`), with no data written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.db import connection
from django.forms.formsets import BaseFormSet, ManagementForm
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from katclinic.access_spec import Url
from katclinic.api.api import api
from katclinic.api.models import ApiToken, Scope
from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.core.tests.test_access_matrix import data_writes, specs_by_app
from katclinic.testing import ClinicTestCase

OVERSIZED = 100_000
NOT_A_CHOICE = "no-such-choice-\u2603"
MARK = "bad-input-marker"


def bad_values(field: forms.Field) -> Iterator[tuple[str, Any]]:
    """(what is wrong, the value) for a form field, each of which the field must refuse."""
    if isinstance(field, forms.BooleanField | forms.FileField):
        return
    if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        yield "not a choice", [NOT_A_CHOICE]
        return
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        yield "not a choice", NOT_A_CHOICE
        yield "NUL byte", "\x00"
        return
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        yield "wrong type", "twelve"
        yield "NUL byte", "1\x00"
        yield "too large to store", "9" * 30
        if field.max_value is not None:
            yield "above the maximum", str(Decimal(str(field.max_value)) + 1)
        if field.min_value is not None:
            yield "below the minimum", str(Decimal(str(field.min_value)) - 1)
        return
    if isinstance(field, forms.DateField | forms.DateTimeField | forms.TimeField):
        yield "malformed", "2026-13-45"
        yield "wrong type", "yesterday-ish"
        yield "NUL byte", "\x00"
        return
    if isinstance(field, forms.CharField):
        yield "NUL byte", "ok\x00"
        if field.max_length is not None:
            yield "oversized", "x" * (field.max_length + 1)
        if isinstance(field, forms.EmailField):
            yield "malformed", "not an address"
        return
    yield "NUL byte", "\x00"


def forms_in(response: Any) -> list[forms.BaseForm]:
    """The forms a view rendered (formsets give their forms)."""
    found: list[forms.BaseForm] = []
    context = getattr(response, "context", None)
    if context is None:
        return found
    for sub in context if isinstance(context, list) else [context]:
        for layer in getattr(sub, "dicts", [sub]):
            for value in layer.values() if isinstance(layer, dict) else []:
                if isinstance(value, ManagementForm):
                    continue  # the formset's own counters, capped by Django and never stored
                if isinstance(value, forms.BaseForm) and value not in found:
                    found.append(value)
                elif isinstance(value, BaseFormSet):
                    found += [f for f in value.forms if f not in found]
    return found


class BadFormInputTest(ClinicTestCase):
    def person_for(self, spec: Url) -> Any:
        access = spec.access
        if access == "public":
            return None
        if access == "patient_self" or spec.patient_self and not isinstance(access, Perm):
            return self.pat_user
        if isinstance(access, Perm):
            for role, user in self.staff_by_role.items():
                if role in {r.value for r in PERMISSIONS[access]}:
                    return user
            return None
        return self.paula

    def post(self, spec: Url, user: Any, url: str, data: dict[str, Any]) -> tuple[Any, list[str]]:
        """Post as `user`; the answer and the data-changing statements it ran (in full)."""
        self.client.logout()
        if user is not None:
            self.login(user)
        with CaptureQueriesContext(connection) as queries:
            response = self.client.post(url, data)
        changed = set(data_writes(queries.captured_queries))
        writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip()[:120] in changed]
        return response, writes

    def form_of(self, spec: Url, user: Any) -> forms.BaseForm | None:
        """The view's form: of the forms its GET page or an empty post renders, the one
        whose fields the access matrix's valid data fills (a page may hold several forms)."""
        url = reverse(self.name, kwargs=spec.kwargs(self))  # kwargs first: data may use its rows
        keys = set(spec.data(self))
        if not keys:
            return None
        self.client.logout()
        if user is not None:
            self.login(user)
        found = forms_in(self.client.get(url))
        found += forms_in(self.post(spec, user, url, {})[0])

        def score(form: forms.BaseForm) -> tuple[int, bool, int]:
            names = {form.add_prefix(n) for n in form.fields}
            return len(keys & names), form.is_bound, -len(names - keys)

        best = max(found, key=score, default=None)
        return best if best is not None and score(best)[0] else None

    name = ""

    def assert_named(self, response: Any, field_name: str, html_name: str, context: str) -> None:
        """A 4xx, or the form again; either way an error that names the field."""
        status = response.status_code
        self.assertTrue(status == 200 or 400 <= status < 500, f"{context} answered {status}")
        rendered = forms_in(response)
        if rendered:
            named = [f for f in rendered if field_name in f.errors]
            self.assertTrue(named, f"{context}: no error names {html_name}")
        else:
            self.assertGreaterEqual(status, 400, f"{context} was not refused")

    def check_forms(self, specs: dict[str, Url]) -> None:
        for name, spec in sorted(specs.items()):
            if spec.method != "POST" or spec.api:
                continue
            self.name = name
            user = self.person_for(spec)
            form = self.form_of(spec, user)
            if form is None:
                self.check_formless(name, spec, user)
                continue
            for field_name, field in form.fields.items():
                if field.disabled:  # the form keeps its initial value whatever is posted
                    continue
                html_name = form.add_prefix(field_name)
                for what, value in bad_values(field):
                    with self.subTest(url=name, field=html_name, bad=what):
                        reason = NOT_CHECKED.get((name, html_name, what)) or NOT_CHECKED.get(
                            (name, html_name)
                        )
                        if reason:
                            self.skipTest(reason)
                        url = reverse(name, kwargs=spec.kwargs(self))
                        data = spec.data(self) | {html_name: value}
                        response, writes = self.post(spec, user, url, data)
                        context = f"{name}: {what} {html_name}"
                        self.assertEqual(writes, [], f"{context} was stored")
                        self.assert_named(response, field_name, html_name, context)

    def check_formless(self, name: str, spec: Url, user: Any) -> None:
        """A view that reads the post itself: each posted key, given a NUL byte or a
        100,000-character value, is refused with nothing stored, or left unread."""
        reverse(name, kwargs=spec.kwargs(self))  # kwargs first: data may use its rows
        for key in spec.data(self):
            for what, value in (("NUL byte", f"{MARK}\x00"), ("oversized", MARK + "x" * OVERSIZED)):
                with self.subTest(url=name, field=key, bad=what):
                    url = reverse(name, kwargs=spec.kwargs(self))
                    response, writes = self.post(spec, user, url, spec.data(self) | {key: value})
                    if 400 <= response.status_code < 500:
                        self.assertEqual(writes, [], f"{name}: refused {what} {key} was stored")
                    else:
                        stored = [w[:120] for w in writes if MARK in w]
                        self.assertEqual(stored, [], f"{name}: {what} {key} was stored")


# Fields whose bad values the test cannot judge, or that it found wanting and that are
# reported to the app's owners, each with the reason. Remove an entry once it is fixed.
NOT_CHECKED: dict[tuple[str, ...], str] = {
    ("portal:invite", "email"): "the matrix's patient already has an account: the post resends "
    "the invitation and reads no field",
}


def _forms_test(label: str) -> Any:
    def test(self: BadFormInputTest) -> None:
        self.check_forms(specs_by_app()[label])

    test.__name__ = f"test_bad_form_input_of_{label}"
    return test


# One test per app, so that the suite can spread them over several processes.
for _label, _specs in specs_by_app().items():
    if any(spec.method == "POST" and not spec.api for spec in _specs.values()):
        setattr(BadFormInputTest, f"test_bad_form_input_of_{_label}", _forms_test(_label))


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def bad_json_values(
    schema: dict[str, Any], node: dict[str, Any], *, in_query: bool = False
) -> Iterator[tuple[str, Any]]:
    """(what is wrong, the value) for a JSON property or query parameter, from its schema."""
    node = resolve(schema, node)
    if "enum" in node:
        yield "not a choice", NOT_A_CHOICE
        return
    kind = node.get("type")
    if kind == "integer":
        yield "wrong type", "twelve"
        yield "fraction", 1.5
        if "maximum" in node:
            yield "above the maximum", node["maximum"] + 1
        if "minimum" in node:
            yield "below the minimum", node["minimum"] - 1
    elif kind == "boolean":
        yield "wrong type", "maybe"
    elif kind == "string":
        if not in_query:  # a query string is text whatever it holds
            yield "wrong type", 12345
        yield "NUL byte", f"{MARK}\x00"
        if "maxLength" in node:
            yield "oversized", MARK + "x" * node["maxLength"]
        if node.get("minLength"):
            yield "too short", ""
        if "pattern" in node:
            yield "malformed", "Not A Key!"
    elif kind == "object":
        yield "wrong type", "not an object"
        if "maxProperties" in node:
            yield "too many entries", {f"k{i}": 0 for i in range(node["maxProperties"] + 1)}
        if isinstance(node.get("additionalProperties"), dict):
            yield "wrong type of entry", {"k": "text"}
    elif kind == "array":
        yield "wrong type", "not a list"


class BadApiInputTest(ClinicTestCase):
    """Bodies and query strings that break the OpenAPI schema, one property at a time."""

    def operation(self, openapi: dict[str, Any], url: str, method: str) -> dict[str, Any] | None:
        for template, operations in openapi["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, url) and method.lower() in operations:
                return operations[method.lower()]
        return None

    def token(self, spec: Url) -> str:
        user = BadFormInputTest.person_for(self, spec)  # type: ignore[arg-type]
        _, raw = ApiToken.issue(
            user=user, clinic=self.clinic, name="bad input", scopes=list(Scope.values)
        )
        return raw

    def send(self, spec: Url, url: str, token: str, body: Any) -> tuple[Any, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            if spec.method == "POST":
                response = self.client.post(
                    url,
                    json.dumps(body),
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {token}"},
                )
            else:
                response = self.client.get(url, body, headers={"Authorization": f"Bearer {token}"})
        return response, data_writes(queries.captured_queries)

    def assert_refused(self, response: Any, writes: list[str], field: str, context: str) -> None:
        self.assertEqual(writes, [], f"{context} was stored")
        self.assertTrue(
            400 <= response.status_code < 500, f"{context} answered {response.status_code}"
        )
        if response.status_code == 422:
            named = [e["field"] for e in response.json().get("errors", [])]
            self.assertTrue(
                any(n == field or n.startswith(f"{field}.") for n in named),
                f"{context}: errors name {named}",
            )

    def test_every_api_operation_refuses_bad_input_by_name(self) -> None:
        openapi = api.get_openapi_schema()
        checked = 0
        for name, spec in sorted(all_api_specs().items()):
            if not isinstance(spec.access, Perm):
                continue
            url = reverse(name, kwargs=spec.kwargs(self))
            operation = self.operation(openapi, url, spec.method)
            self.assertIsNotNone(operation, f"{name}: {spec.method} {url} is not in the schema")
            assert operation is not None
            token = self.token(spec)
            if spec.method == "POST":
                content = operation.get("requestBody", {}).get("content", {})
                body_schema = resolve(
                    openapi, content.get("application/json", {}).get("schema", {})
                )
                fields = [
                    (prop, node, prop in body_schema.get("required", ()))
                    for prop, node in body_schema.get("properties", {}).items()
                ]
            else:
                fields = [
                    (p["name"], p["schema"], False)
                    for p in operation.get("parameters", ())
                    if p["in"] == "query"
                ]
            for prop, node, required in fields:
                bad = list(bad_json_values(openapi, node, in_query=spec.method == "GET"))
                if required:
                    bad.append(("missing", MISSING))
                for what, value in bad:
                    with self.subTest(url=name, field=prop, bad=what):
                        url = reverse(name, kwargs=spec.kwargs(self))
                        body = spec.data(self) if spec.method == "POST" else {}
                        body = {k: v for k, v in body.items() if k != prop}
                        if value is not MISSING:
                            body[prop] = value
                        response, writes = self.send(spec, url, token, body)
                        self.assert_refused(response, writes, prop, f"{name}: {what} {prop}")
                        checked += 1
        self.assertGreater(checked, 20)


MISSING = object()


def all_api_specs() -> dict[str, Url]:
    """The JSON API's operations (the FHIR facade has its own tests)."""
    return {
        n: s for specs in specs_by_app().values() for n, s in specs.items() if n.startswith("api:")
    }
