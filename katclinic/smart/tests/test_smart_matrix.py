"""The access matrix for SMART tokens: every FHIR read and search the facade serves, asked
with a token scoped to one patient (patient/*.rs), never shows another patient's data.

The routes come from the FHIR app's access spec, so a new FHIR route is covered here too.
pat's token reads pat's rows (the spec's patient_self reads); quinn's token, and a staff
member's token for quinn, are told those rows do not exist; no search answers a resource
that names anyone but the token's patient.
"""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from katclinic.accounts.models import User
from katclinic.clinics.permissions import PERMISSIONS, Perm, Role
from katclinic.fhir.tests.access_spec import SPEC as FHIR_SPEC
from katclinic.fhir.tests.factories import (
    make_administration,
    make_alert,
    make_appointment,
    make_consent,
    make_response,
    make_session,
    pat_rows,
)
from katclinic.patients.models import Patient
from katclinic.smart import services
from katclinic.smart.auth import served_types
from katclinic.smart.oauth import s256
from katclinic.smart.scopes import parse_scopes
from katclinic.smart.tests.helpers import REDIRECT, VERIFIER, body, exchange, register
from katclinic.testing import ClinicTestCase

PATIENT_REF = re.compile(r'"reference":\s*"Patient/(\d+)"')


# A Group lists other patients, so no patient-scoped token reads one (its search is empty
# and its read not found); fhir/tests/test_group_everything_money pins that.
OUTSIDE_ANY_COMPARTMENT = ("fhir:group_search", "fhir:group_read", "fhir:group_vread")


def reads_and_searches() -> dict[str, Any]:
    return {
        name: spec
        for name, spec in FHIR_SPEC.items()
        if spec.api
        and spec.method == "GET"
        and spec.ok != (404,)
        and name != "fhir:metadata"
        and name not in OUTSIDE_ANY_COMPARTMENT
    }


def role_allows(access: Any) -> bool:
    """Whether paula's role (prescriber) holds the permission the route asks of staff."""
    return not isinstance(access, Perm) or Role.PRESCRIBER in PERMISSIONS[access]


class SmartMatrixTest(ClinicTestCase):
    def token_for(self, user: User, patient: Patient) -> str:
        app = register(self)[0]
        _, code = services.authorize(
            app=app,
            user=user,
            patient=patient,
            scopes=parse_scopes("launch/patient patient/*.rs", served_types()),
            redirect_uri=REDIRECT,
            code_challenge=s256(VERIFIER),
        )
        return str(body(exchange(app, code))["access_token"])

    def quinns_rows(self) -> None:
        response = make_response(self.quinn)
        make_alert(response)
        make_appointment(self.quinn, self.paula)
        make_consent(self.quinn, self.paula)
        make_administration(make_session(self.quinn, self.paula), self.nick)

    def get(self, url: str, raw: str) -> Any:
        return Client().get(url, headers={"Authorization": f"Bearer {raw}"})

    def test_a_patient_scoped_token_reads_only_its_patient(self) -> None:
        pat_rows(self)
        self.quinns_rows()
        pats = self.token_for(self.pat_user, self.pat)
        others = {
            "quinn": self.token_for(self.quinn_user, self.quinn),
            "paula for quinn": self.token_for(self.paula, self.quinn),
        }
        for name, spec in sorted(reads_and_searches().items()):
            url = reverse(name, kwargs=spec.kwargs(self))
            with self.subTest(url=name, who="pat"):
                answer = self.get(url, pats)
                self.assertEqual(answer.status_code, 200, f"{url} {answer.content[:200]!r}")
                self.assert_only(answer, {self.pat.pk})
            for who, raw in others.items():
                with self.subTest(url=name, who=who):
                    answer = self.get(url, raw)
                    if who.startswith("paula") and not role_allows(spec.access):
                        self.assertEqual(answer.status_code, 403, url)  # her role decides too
                    elif spec.patient_self:  # pat's own row: not found for anyone else
                        self.assertEqual(answer.status_code, 404, url)
                    else:
                        self.assertEqual(answer.status_code, 200, url)
                        self.assert_only(answer, {self.quinn.pk})

    def assert_only(self, answer: Any, allowed: set[int]) -> None:
        text = answer.content.decode()
        named = {int(pk) for pk in PATIENT_REF.findall(text)}
        resource = body(answer)
        if resource.get("resourceType") == "Patient":
            named.add(int(resource["id"]))
        for entry in resource.get("entry", []):
            if entry["resource"]["resourceType"] == "Patient":
                named.add(int(entry["resource"]["id"]))
        self.assertLessEqual(named, allowed, text[:300])
