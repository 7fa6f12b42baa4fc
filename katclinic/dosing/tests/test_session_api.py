"""The session readings API reads its rows in plain SQL and encodes them without validating
them again: the answer and the OpenAPI schema are what django-ninja gave from the ORM rows."""

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone
from ninja.responses import NinjaJSONEncoder

from katclinic.api.api import api
from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import Action, AuditEvent
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services
from katclinic.dosing.api import SessionDetailOut, SessionOut
from katclinic.dosing.models import Administration, Checkpoint, DosingSession
from katclinic.dosing.tests import factories as f
from katclinic.testing import ClinicTestCase

SCHEMA = Path(__file__).with_name("session_detail_openapi.json")
# The token with its user and roles; the session with its readings; the patient; the audit
# event; the doses.
STATEMENTS = 5


def validated(session: DosingSession, recent: int | None) -> bytes:
    """The answer as django-ninja made it from the ORM rows, through the response schema."""
    readings = Checkpoint.objects.filter(session=session)
    if recent is None:
        chosen = list(readings)
    else:
        chosen = list(readings.order_by("-taken_at", "-pk")[:recent])[::-1]
    data = {name: getattr(session, name) for name in SessionOut.model_fields} | {
        "administrations": list(Administration.objects.filter(session=session)),
        "checkpoints": chosen,
    }
    dumped = SessionDetailOut.model_validate(data).model_dump()
    return json.dumps(dumped, cls=NinjaJSONEncoder).encode()


class SessionApiTest(ClinicTestCase):
    def setUp(self) -> None:
        lot = f.stock(self.clinic, self.nick)
        self.sess = f.ready_to_dose(
            self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=55)
        )
        started = timezone.now() - timedelta(minutes=50)
        services.record_administration(
            session=self.sess, lot=lot, dose_mg=Decimal("28"), started_at=started, by=self.nick
        )
        services.record_adjunct(
            session=self.sess,
            product="Ondansetron",
            dose_mg=Decimal("4.5"),
            route="oral",
            lot_number="OND-1",
            expiry=timezone.localdate() + timedelta(days=300),
            started_at=started,
            by=self.nick,
        )
        services.finish_dosing(session=self.sess, by=self.nick)
        _, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=[Scope.SESSIONS_READ]
        )
        self.auth = {"Authorization": f"Bearer {raw}"}

    def readings(self, count: int) -> None:
        # Two readings share each time, so the id decides their order; some measures are blank.
        base = timezone.now() - timedelta(minutes=40)
        for n in range(count):
            values: dict[str, int | None] = {"systolic": 120 + n, "diastolic": 80, "spo2": 98}
            if n % 3 == 0:
                values |= {"moaas": 5, "cadss6": n % 20, "systolic": None, "diastolic": None}
            mon.record_checkpoint(
                session=DosingSession.objects.get(pk=self.sess.pk),
                label=f"reading {n}",
                taken_at=base + timedelta(minutes=n // 2),
                values=values,
                by=self.nick,
            )

    def get(self, query: str = "", session_id: int | None = None) -> Any:
        pk = self.sess.pk if session_id is None else session_id
        return self.client.get(f"/api/sessions/{pk}{query}", headers=self.auth)

    def test_the_answer_is_what_the_validated_orm_rows_gave(self) -> None:
        self.readings(7)
        session = DosingSession.objects.get(pk=self.sess.pk)
        for recent in (None, 1, 2, 5, 7, 500):
            response = self.get("" if recent is None else f"?recent={recent}")
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.content, validated(session, recent), recent)
            self.assertEqual(response["Content-Type"], api.get_content_type())
        body = self.get("?recent=3").json()
        latest = Checkpoint.objects.filter(session=session).order_by("-taken_at", "-pk")[:3]
        self.assertEqual([c["id"] for c in body["checkpoints"]], [c.pk for c in latest][::-1])
        self.assertEqual([a["dose_mg"] for a in body["administrations"]], ["28.00", "4.50"])

    def test_a_session_without_readings_or_doses_answers_empty_lists(self) -> None:
        bare = f.session(self.quinn, f.signed_plan(self.quinn, self.paula), self.nick)
        response = self.get(session_id=bare.pk)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, validated(bare, None))
        self.assertEqual(response.json()["checkpoints"], [])
        self.assertEqual(response.json()["administrations"], [])

    def test_the_openapi_schema_is_unchanged(self) -> None:
        schema = json.loads(json.dumps(api.get_openapi_schema()))
        expected = json.loads(SCHEMA.read_text())
        self.assertEqual(schema["paths"]["/api/sessions/{session_id}"], expected["path"])
        for name, part in expected["schemas"].items():
            self.assertEqual(schema["components"]["schemas"][name], part, name)

    def test_the_read_runs_a_fixed_set_of_statements_however_many_readings(self) -> None:
        self.get()  # per-process caches warm up
        with self.assertNumQueries(STATEMENTS):
            self.assertEqual(self.get("?recent=20").status_code, 200)
        self.readings(30)
        with self.assertNumQueries(STATEMENTS):
            self.assertEqual(len(self.get("?recent=20").json()["checkpoints"]), 20)
        with self.assertNumQueries(STATEMENTS):
            self.assertEqual(len(self.get().json()["checkpoints"]), 31)

    def test_a_session_of_another_clinic_or_none_at_all_is_not_found_and_recorded(self) -> None:
        other = f.session(self.stranger, f.signed_plan(self.stranger, self.oscar), self.oscar)
        views = AuditEvent.objects.filter(action=Action.VIEW)
        before = views.count()
        for pk in (other.pk, self.sess.pk + 10_000, 2**63, 2**70):
            response = self.get(session_id=pk)
            self.assertEqual(response.status_code, 404, pk)
            self.assertEqual(response.json(), {"detail": "Not found"})
        self.assertEqual(views.count(), before)
        self.assertDenialsRecorded(f"/api/sessions/{other.pk}")
        self.assertDenialsRecorded(f"/api/sessions/{2**63}")

    def test_a_read_is_audited_as_a_view_of_the_session(self) -> None:
        self.assertEqual(self.get().status_code, 200)
        event = AuditEvent.objects.filter(action=Action.VIEW).latest("id")
        self.assertEqual(event.patient_id, self.pat.pk)
        self.assertEqual(event.object_id, str(self.sess.pk))
        self.assertEqual(event.detail, {"via": "api"})
