"""Every URL pattern against every kind of person: each cell asserted.

Denied writes must change nothing, and another clinic's record answers 404.
"""

import importlib
import json
import re
from typing import Any

from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from katclinic.access_spec import Url
from katclinic.api.models import ApiToken, Scope
from katclinic.clinics.models import Clinic
from katclinic.clinics.permissions import PERMISSIONS, Perm
from katclinic.smart import backend
from katclinic.smart.tests.backend_helpers import Service, token_for
from katclinic.testing import ClinicTestCase


def url_names(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            names |= url_names(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(prefix + entry.name)
    return names


def specs_by_app() -> dict[str, dict[str, Url]]:
    found: dict[str, dict[str, Url]] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("katclinic."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.tests.access_spec")
        except ModuleNotFoundError:
            continue
        found[config.label] = module.SPEC
    return found


def all_specs() -> dict[str, Url]:
    return {name: spec for specs in specs_by_app().values() for name, spec in specs.items()}


# Tables a denied request may still write to: its own audit event, the session, throttling.
ALLOWED_WRITE_TABLES = (
    "audit_auditevent",
    "audit_auditchainhead",
    "django_session",
    "accounts_loginfailure",
    "api_apitoken",
    "accounts_usersession",
    "smart_backendtoken",
)
PATIENT_REF = re.compile(r'"reference":\s*"Patient/(\d+)"')


def data_writes(queries: list[dict[str, Any]]) -> list[str]:
    """The statements of a request that changed patient or clinic data."""
    writes = []
    for query in queries:
        sql = query["sql"].lstrip()
        if sql[:6].upper() in ("INSERT", "UPDATE", "DELETE") and not any(
            t in sql[:80] for t in ALLOWED_WRITE_TABLES
        ):
            writes.append(sql[:120])
    return writes


class AccessMatrixTest(ClinicTestCase):
    def people(self) -> dict[str, Any]:
        return {
            "anonymous": None,
            **self.staff_by_role,
            "outsider": self.oscar,
            "patient": self.pat_user,
            "other_patient": self.quinn_user,
        }

    def expected(self, spec: Url, who: str) -> tuple[int, ...]:
        access = spec.access
        if who == "anonymous":
            return spec.anonymous if access != "public" else spec.anonymous
        if access in ("public", "signed_in"):
            return spec.ok
        if access == "link_owner":
            return spec.ok if who == "patient" else (403,)
        is_patient = who in ("patient", "other_patient")
        if access == "staff_any":
            return (403,) if is_patient else spec.ok
        if access == "patient_self":
            if not is_patient:
                return (403,)
            return spec.ok if who == "patient" else (404,)
        assert isinstance(access, Perm)
        if is_patient:
            if spec.patient_self:
                return spec.ok if who == "patient" else (404,)
            return (403, 404)
        role = "prescriber" if who == "outsider" else who
        if role not in {r.value for r in PERMISSIONS[access]}:
            return (403,)
        if who == "outsider" and spec.clinic_object:
            return (404,)
        return spec.ok

    def token_for(self, user: Any) -> str:
        clinic = self.other_clinic if user == self.oscar else self.clinic
        _, raw = ApiToken.issue(user=user, clinic=clinic, name="matrix", scopes=list(Scope.values))
        return raw

    def test_every_url_has_an_access_rule(self) -> None:
        missing = url_names() - set(all_specs())
        self.assertEqual(
            missing, set(), "URLs without an access rule in <app>/tests/access_spec.py"
        )

    def check_cells(self, specs: dict[str, Url]) -> None:
        """Request each URL as each person and assert the outcome; denials write nothing."""
        cells = statements = 0
        tokens = {
            who: self.token_for(user) for who, user in self.people().items() if user is not None
        }
        for name, spec in sorted(specs.items()):
            for who, user in self.people().items():
                with self.subTest(url=name, who=who):
                    self.client.logout()
                    headers = {}
                    if user is not None and spec.api:
                        headers["Authorization"] = f"Bearer {tokens[who]}"
                    elif user is not None:
                        self.login(user)
                    url = reverse(name, kwargs=spec.kwargs(self))
                    with CaptureQueriesContext(connection) as queries:
                        if spec.method == "POST" and spec.api:
                            response = self.client.post(
                                url,
                                spec.data(self),
                                content_type="application/json",
                                headers=headers,
                            )
                        elif spec.method == "POST":
                            response = self.client.post(url, spec.data(self))
                        else:
                            response = self.client.get(url, headers=headers)
                    statements += len(queries.captured_queries)
                    expected = self.expected(spec, who)
                    self.assertIn(response.status_code, expected, f"{who} {spec.method} {url}")
                    if response.status_code in (401, 403, 404) or (
                        who == "anonymous" and spec.access not in ("public", "link_owner")
                    ):
                        self.assertEqual(
                            data_writes(queries.captured_queries),
                            [],
                            f"denied {who} wrote at {url}",
                        )
                    cells += 1
        self.assertGreaterEqual(cells, len(specs) * 9)
        # "A denial wrote nothing" means something only while statements are being captured.
        self.assertGreater(statements, cells, "no SQL was captured: the write check saw nothing")


class SystemTokenMatrixTest(ClinicTestCase):
    """Every FHIR read and search a backend service may call, asked with three system/
    tokens: the clinic's own service reads, the other clinic's is told the rows do not
    exist, and a service scoped to Observation is refused every other type."""

    def service_token(self, clinic: Clinic, scope: str) -> str:
        service = Service()
        app = backend.register_backend(
            clinic=clinic, name="Matrix service", jwks=service.jwks(), scopes=scope, by=None
        )
        return token_for(service, app, scope)

    def expected(self, spec: Url, who: str, type_name: str | None) -> tuple[int, ...]:
        if who == "observation service":
            return spec.ok if type_name == "Observation" else (403,)
        if who == "other clinic's service" and spec.clinic_object:
            return (404,)
        return spec.ok

    def test_system_tokens_read_their_own_clinic_within_their_scopes(self) -> None:
        specs = {name: spec for name, spec in all_specs().items() if spec.system}
        self.assertGreater(len(specs), 30)
        tokens = {
            "service": self.service_token(self.clinic, "system/*.rs"),
            "other clinic's service": self.service_token(self.other_clinic, "system/*.rs"),
            "observation service": self.service_token(self.clinic, "system/Observation.rs"),
        }
        for name, spec in sorted(specs.items()):
            url = reverse(name, kwargs=spec.kwargs(self))
            type_name = resolve(url).kwargs.get("type_name")
            for who, raw in tokens.items():
                with self.subTest(url=name, who=who):
                    with CaptureQueriesContext(connection) as queries:
                        response = self.client.get(url, headers={"Authorization": f"Bearer {raw}"})
                    expected = self.expected(spec, who, type_name)
                    self.assertIn(response.status_code, expected, f"{who} {url}")
                    answer = json.loads(response.content)
                    if response.status_code in (403, 404):
                        self.assertEqual(answer["resourceType"], "OperationOutcome")
                        self.assertEqual(data_writes(queries.captured_queries), [], url)
                    elif who == "other clinic's service":
                        self.assertLessEqual(self.patients_named(answer), {self.stranger.pk})

    def patients_named(self, answer: dict[str, Any]) -> set[int]:
        named = {int(pk) for pk in PATIENT_REF.findall(json.dumps(answer))}
        resources = [answer, *(e["resource"] for e in answer.get("entry", []))]
        return named | {int(r["id"]) for r in resources if r["resourceType"] == "Patient"}


def _cells_test(label: str) -> Any:
    def test(self: AccessMatrixTest) -> None:
        self.check_cells(specs_by_app()[label])

    test.__name__ = f"test_every_cell_of_{label}"
    return test


# One test per app, so that the suite can spread the matrix over several processes.
for _label in specs_by_app():
    setattr(AccessMatrixTest, f"test_every_cell_of_{_label}", _cells_test(_label))
