"""Everything the facade serves for the demo clinic network validates twice over HTTP: with
the fhir.resources R4B models, and with Medplum's validator, a second and independent
implementation of the FHIR R4 StructureDefinitions (cardinality, types, required
properties, formats), run by Node from tools/fhir-validator (`make fhir-validator`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from unittest import skipUnless

from django.conf import settings
from django.test import Client, TestCase
from fhir.resources.R4B import get_fhir_model_class

from katclinic.accounts.models import User
from katclinic.api.models import ApiToken, Scope
from katclinic.clinics.models import Clinic, StaffMembership
from katclinic.clinics.permissions import roles_allow
from katclinic.demo.generator import DemoWorld
from katclinic.demo.seed import build_demo
from katclinic.fhir.registry import REGISTRY
from katclinic.fhir.resources.vital_signs import VITAL_PROFILES
from katclinic.fhir.search import MAX_COUNT

VALIDATOR = Path(settings.BASE_DIR) / "tools" / "fhir-validator"
NODE = shutil.which("node")
INSTALLED = (VALIDATOR / "node_modules" / "@medplum" / "core").is_dir()


def medplum_issues(resources: list[dict[str, Any]]) -> list[str]:
    """Every error Medplum's validator finds, as "Type/id: expression: text"."""
    assert NODE is not None
    ndjson = "".join(json.dumps(resource) + "\n" for resource in resources)
    done = subprocess.run(  # noqa: S603 - our own script with fixed arguments
        [NODE, str(VALIDATOR / "validate.mjs")],
        input=ndjson,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"the validator failed: {done.stderr[-2000:]}")
    verdicts = [json.loads(line) for line in done.stdout.splitlines() if line]
    assert len(verdicts) == len(resources), (len(verdicts), len(resources))
    return [
        f"{v['resourceType']}/{v['id']}: {issue['expression']}: {issue['text']}"
        for v in verdicts
        for issue in v["issues"]
    ]


@skipUnless(NODE and INSTALLED, "needs Node and the validator: make fhir-validator")
class SecondValidatorTest(TestCase):
    world: DemoWorld

    @classmethod
    def setUpTestData(cls) -> None:
        cls.world = build_demo(seed=11, patients_per_clinic=6)

    def reader_of(self, clinic: Clinic, type_name: str) -> User | None:
        """A member of the clinic whose roles may read the type (None: no one in the demo)."""
        perm = REGISTRY[type_name].perm
        for user in self.world.staff.values():
            roles = frozenset(
                StaffMembership.objects.filter(
                    user=user, clinic=clinic, is_active=True
                ).values_list("role", flat=True)
            )
            if roles and (perm is None or roles_allow(roles, perm)):
                return user
        return None

    def served(self, clinic: Clinic) -> list[dict[str, Any]]:
        """Every resource of every type the facade serves for `clinic`, page by page."""
        resources: list[dict[str, Any]] = []
        for type_name in REGISTRY:
            reader = self.reader_of(clinic, type_name)
            if reader is None:
                continue
            _, raw = ApiToken.issue(
                user=reader, clinic=clinic, name="validation", scopes=[Scope.FHIR_READ.value]
            )
            url: str | None = f"/fhir/R4/{type_name}?_count={MAX_COUNT}"
            while url:
                answer = Client().get(url, headers={"Authorization": f"Bearer {raw}"})
                self.assertEqual(answer.status_code, 200, (type_name, answer.content[:300]))
                bundle = answer.json()
                resources += [entry["resource"] for entry in bundle.get("entry", [])]
                url = next(
                    (link["url"] for link in bundle.get("link", []) if link["relation"] == "next"),
                    None,
                )
                if url:
                    url = url[url.index("/fhir/R4/") :]
        return resources

    def test_every_resource_served_is_valid_for_both_validators(self) -> None:
        resources = [r for clinic in self.world.clinics for r in self.served(clinic)]
        capability = Client().get("/fhir/R4/metadata").json()
        resources.append(capability)
        types = {r["resourceType"] for r in resources}
        # The demo has rows of most types; the check is only as good as what it reads.
        self.assertGreaterEqual(len(types), 10, sorted(types))
        self.assertGreater(len(resources), 200)
        # The demo's dosing sessions: every vital-sign profile and both session ratings.
        profiles = {p for r in resources for p in r.get("meta", {}).get("profile", [])}
        self.assertLessEqual(set(VITAL_PROFILES), profiles)
        observations = [r for r in resources if r["resourceType"] == "Observation"]
        ratings = {r["code"]["coding"][0]["code"] for r in observations}
        self.assertLessEqual({"moaas", "cadss6"}, ratings)
        for resource in resources:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        self.assertEqual(medplum_issues(resources), [])

    def test_the_validator_refuses_what_is_wrong(self) -> None:
        # So that an empty list above means something: a broken resource is reported.
        served = self.served(self.world.clinics[0])
        patient = next(r for r in served if r["resourceType"] == "Patient")
        self.assertEqual(medplum_issues([patient]), [])
        broken = dict(patient, birthDate="1980-13-45", gender=["female"])
        issues = medplum_issues([broken])
        self.assertTrue(any("Patient.birthDate" in issue for issue in issues), issues)
        self.assertTrue(any("Patient.gender" in issue for issue in issues), issues)
