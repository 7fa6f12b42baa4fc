"""The OpenAPI document declares every error status with its schema, and each scope."""

from __future__ import annotations

import inspect

from django.http import HttpRequest
from django.test import SimpleTestCase
from ninja import Router

from katclinic.api.api import ClinicApi, api
from katclinic.api.auth import requires
from katclinic.api.models import Scope
from katclinic.patients import api as patients_api


def unscoped(schema: dict) -> list[str]:
    """The operations of an OpenAPI document that name no known scope in `x-scope` and in
    their description."""
    return [
        f"{method} {path}"
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if operation.get("x-scope") not in Scope.values
        or f"`{operation['x-scope']}`" not in operation.get("description", "")
    ]


class OpenApiTest(SimpleTestCase):
    def operations(self) -> list[tuple[str, str, dict]]:
        schema = api.get_openapi_schema()
        return [
            (method, path, operation)
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        ]

    def test_every_operation_declares_401_403_404_422_with_the_error_schema(self) -> None:
        operations = self.operations()
        self.assertGreater(len(operations), 10)
        for method, path, operation in operations:
            responses = {str(k): v for k, v in operation["responses"].items()}
            for status in ("401", "403", "404", "422"):
                with self.subTest(op=f"{method} {path}", status=status):
                    self.assertIn(status, responses)
                    content = responses[status].get("content", {}).get("application/json", {})
                    self.assertIn("schema", content)
            if method == "post":
                self.assertIn("400", responses, f"{method} {path}")
                self.assertIn("413", responses, f"{method} {path}")
                self.assertIn("415", responses, f"{method} {path}")

    def test_every_operation_names_its_required_scope(self) -> None:
        self.assertGreater(len(self.operations()), 10)
        self.assertEqual(unscoped(api.get_openapi_schema()), [])
        for _, _, operation in self.operations():
            self.assertEqual(operation["security"], [{"TokenAuth": [operation["x-scope"]]}])

    def test_an_operation_without_a_declared_scope_fails_the_check(self) -> None:
        router = Router()

        @router.get("/declared")
        @requires(Scope.PATIENTS_READ)
        def declared(request: HttpRequest) -> int:
            return 1

        @router.get("/undeclared")
        def undeclared(request: HttpRequest) -> int:
            return 1

        other = ClinicApi(title="check", urls_namespace="openapi-check")  # never mounted
        other.add_router("/x", router)
        self.assertEqual(unscoped(other.get_openapi_schema(path_prefix="/")), ["get /x/undeclared"])

    def test_the_declaration_keeps_the_view_name_docs_and_signature(self) -> None:
        view = patients_api.get_patient
        self.assertEqual(view.__name__, "get_patient")
        self.assertEqual(list(inspect.signature(view).parameters), ["request", "patient_id"])
        self.assertIs(inspect.signature(view).parameters["patient_id"].annotation, int)

    def test_the_error_schema_is_a_component(self) -> None:
        schema = api.get_openapi_schema()
        self.assertIn("Error", schema["components"]["schemas"])
