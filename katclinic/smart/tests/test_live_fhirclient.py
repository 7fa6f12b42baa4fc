"""The SMART Python client (fhirclient) against a live server: a standalone patient launch
with PKCE, from the CapabilityStatement to reading the patient's PHQ-9 scores; and an EHR
launch from a patient's chart, whose id_token is verified with the keys fetched from the
server, as an app does.

As the fhirpy test, the server runs inside a TestCase so that on SQLite's in-memory test
database the server thread shares the test's connection and rows. The person's browser is
the Django test client: it signs in, opens the consent page the app sends it to, allows, and
hands the redirect back to the app.
"""

from __future__ import annotations

from typing import Any
from unittest import skipUnless
from urllib.parse import urlsplit

import jwt
from django.db import connection
from django.test import LiveServerTestCase
from fhirclient import client as smart_client
from fhirclient.models.observation import Observation
from fhirclient.models.practitioner import Practitioner

from katclinic.fhir.tests.factories import make_response
from katclinic.smart.models import SmartGrant
from katclinic.smart.tests.helpers import REDIRECT, query_of, register
from katclinic.smart.tests.test_ehr_launch import register_launchable
from katclinic.testing import ClinicTestCase


@skipUnless(connection.vendor == "sqlite", "the server thread shares the connection only on SQLite")
class FhirclientTest(LiveServerTestCase, ClinicTestCase):
    def test_a_standalone_patient_launch_reads_the_patients_scores(self) -> None:
        make_response(self.pat, total=17)
        make_response(self.pat, total=8)
        make_response(self.quinn, total=22)
        app, _ = register(self)
        fhir = smart_client.FHIRClient(
            settings={
                "app_id": app.client_id,
                "api_base": f"{self.live_server_url}/fhir/R4",
                "redirect_uri": REDIRECT,
                "scope": "launch/patient patient/*.rs offline_access openid fhirUser",
            }
        )
        # Close its keep-alive connection while the server still shares the test's database.
        self.addCleanup(lambda: fhir.server.session.close())
        authorize_url = fhir.authorize_url  # found through the CapabilityStatement's oauth-uris
        self.assertTrue(authorize_url.startswith(f"{self.live_server_url}/oauth/authorize?"))

        self.login(self.pat_user)
        parts, host = urlsplit(authorize_url), urlsplit(self.live_server_url).netloc
        consent = self.client.get(f"{parts.path}?{parts.query}", HTTP_HOST=host)
        self.assertContains(consent, "Allow")
        answer = self.client.post(
            parts.path, dict(consent.context["params"]) | {"decision": "allow"}, HTTP_HOST=host
        )
        self.assertEqual(answer.status_code, 302, answer.content[:300])
        fhir.handle_callback(answer["Location"])  # the code exchange, with the PKCE verifier

        self.assertTrue(fhir.ready)
        self.assertEqual(fhir.patient_id, str(self.pat.pk))
        self.assertEqual(fhir.patient.name[0].family, "Doe")
        search = Observation.where(struct={"patient": str(self.pat.pk)})
        found = list(search.perform_resources_iter(fhir.server))
        totals = sorted(
            int(o.valueQuantity.value if o.valueQuantity else o.valueInteger) for o in found
        )
        self.assertIn(17, totals)
        self.assertIn(8, totals)
        self.assertNotIn(22, totals)  # quinn's score stays with quinn

        self.assertTrue(fhir.reauthorize())  # the refresh token, rotated
        self.assertEqual(SmartGrant.objects.get().tokens.filter(kind="refresh").count(), 2)

    def allow(self, fhir: Any) -> None:
        """The person's browser: open the consent page the app sends it to, and allow."""
        parts, host = urlsplit(fhir.authorize_url), urlsplit(self.live_server_url).netloc
        consent = self.client.get(f"{parts.path}?{parts.query}", HTTP_HOST=host)
        self.assertContains(consent, "Allow")
        answer = self.client.post(
            parts.path, dict(consent.context["params"]) | {"decision": "allow"}, HTTP_HOST=host
        )
        self.assertEqual(answer.status_code, 302, answer.content[:300])
        fhir.handle_callback(answer["Location"])

    def test_an_ehr_launch_knows_the_patient_and_who_launched_it(self) -> None:
        make_response(self.pat, total=17)
        app = register_launchable(self)
        self.login(self.paula)
        host = urlsplit(self.live_server_url).netloc
        pressed = self.client.post(f"/oauth/launch/{self.pat.pk}/", {"app": app.pk}, HTTP_HOST=host)
        sent = query_of(pressed["Location"])  # what the app's launch address receives
        fhir = smart_client.FHIRClient(
            settings={
                "app_id": app.client_id,
                "api_base": sent["iss"],
                "redirect_uri": REDIRECT,
                "launch_token": sent["launch"],
                "scope": "patient/*.rs user/Practitioner.rs openid fhirUser",
            }
        )
        self.addCleanup(lambda: fhir.server.session.close())
        self.assertIn("launch=", fhir.authorize_url)
        self.allow(fhir)

        self.assertEqual(fhir.patient_id, str(self.pat.pk))
        self.assertEqual(fhir.human_name(fhir.patient.name[0]), "Pat Doe")
        id_token = fhir.launch_context["id_token"]
        keys = jwt.PyJWKClient(f"{self.live_server_url}/oauth/jwks")
        claims = jwt.decode(
            id_token,
            keys.get_signing_key_from_jwt(id_token).key,
            algorithms=["RS256"],
            audience=app.client_id,
            issuer=self.live_server_url,
        )
        self.assertEqual(claims["fhirUser"], f"{sent['iss']}/Practitioner/{self.paula.pk}")
        me = Practitioner.read(str(self.paula.pk), fhir.server)
        self.assertEqual(me.name[0].text, "Paula")
