"""The OpenAPI document declares every error status with its schema, and each scope."""

from __future__ import annotations

from django.test import SimpleTestCase

from katclinic.api.api import api
from katclinic.api.models import Scope


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
        for method, path, operation in self.operations():
            with self.subTest(op=f"{method} {path}"):
                self.assertIn(operation.get("x-scope"), Scope.values)
                self.assertIn(f"`{operation['x-scope']}`", operation["description"])

    def test_the_error_schema_is_a_component(self) -> None:
        schema = api.get_openapi_schema()
        self.assertIn("Error", schema["components"]["schemas"])
