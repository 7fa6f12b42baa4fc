from typing import Any

from django.test import Client

from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import AuditEvent
from katclinic.testing import ClinicTestCase


class FhirTestCase(ClinicTestCase):
    """ClinicTestCase with bearer tokens and helpers that speak FHIR JSON."""

    def token(self, user: Any, scopes: list[str] | None = None, clinic: Any = None) -> str:
        clinic = clinic or (self.other_clinic if user == self.oscar else self.clinic)
        scopes = scopes if scopes is not None else [Scope.FHIR_READ.value, Scope.FHIR_WRITE.value]
        return ApiToken.issue(user=user, clinic=clinic, name="fhir test", scopes=scopes)[1]

    def get(self, path: str, user: Any = None, raw: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {raw or self.token(user or self.paula)}"}
        return Client().get(f"/fhir/R4/{path}", params, headers=headers)

    def post(self, body: Any, user: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token(user or self.paula)}"}
        return Client().post(
            "/fhir/R4/", body, content_type="application/fhir+json", headers=headers
        )

    def events(self) -> int:
        return AuditEvent.objects.count()
