"""The measures API: submission (benchmarked, so counted queries), lists and alerts."""

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from katclinic.api.models import ApiToken, Scope
from katclinic.audit.models import AuditEvent
from katclinic.measures.models import Response, SafetyAlert
from katclinic.measures.services import start_course
from katclinic.measures.tests.helpers import PHQ9_ITEM9, PHQ9_MILD, submit
from katclinic.testing import ClinicTestCase


class SubmitApiTest(ClinicTestCase):
    url = "/api/measures/responses"

    def token(self, user: Any, scopes: list[str] | None = None) -> dict[str, str]:
        _, raw = ApiToken.issue(
            user=user, clinic=self.clinic, name="t", scopes=scopes or list(Scope.values)
        )
        return {"Authorization": f"Bearer {raw}"}

    def post(self, body: dict[str, Any], user: Any = None) -> Any:
        return self.client.post(
            self.url, body, content_type="application/json", headers=self.token(user or self.nick)
        )

    def test_it_scores_and_stores_a_response(self) -> None:
        reply = self.post({"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_MILD})
        self.assertEqual(reply.status_code, 201)
        self.assertEqual((reply.json()["total"], reply.json()["band"]), (8, "mild"))
        stored = Response.objects.get()
        self.assertEqual(
            (stored.total, stored.instrument_version, stored.source), (8, "1.0.0", "api")
        )
        event = AuditEvent.objects.get(object_type="measures.response", action="create")
        self.assertEqual(
            (event.object_id, event.patient_id, event.clinic_id, event.user_id, event.detail),
            (
                str(stored.pk),
                self.pat.pk,
                self.clinic.pk,
                self.nick.pk,
                {"instrument": "phq9", "source": "api"},
            ),
        )

    def statements(self, answers: dict[str, Any]) -> list[str]:
        """The SQL one API submission runs, after a first one has warmed the caches."""
        headers = self.token(self.nick)
        body = {"patient_id": self.pat.pk, "instrument": "phq9", "answers": answers}
        self.client.post(self.url, body, content_type="application/json", headers=headers)
        with CaptureQueriesContext(connection) as seen:
            reply = self.client.post(
                self.url, body, content_type="application/json", headers=headers
            )
        self.assertEqual(reply.status_code, 201)
        stored = Response.objects.get(pk=reply.json()["id"])
        self.assertEqual((stored.patient_id, stored.instrument_key), (self.pat.pk, "phq9"))
        return [q["sql"] for q in seen.captured_queries]

    def test_a_submission_runs_a_pinned_number_of_statements(self) -> None:
        # The token and its user, the patient, the instrument, then the response, its audit
        # event and the course baseline: on PostgreSQL one statement, which needs no
        # transaction of its own; on SQLite three in one transaction (here the test's, so no
        # savepoint either). No course rollup.
        start_course(patient=self.pat, started_on=timezone.localdate(), by=self.paula, request=None)
        statements = self.statements(PHQ9_MILD)
        writes = 1 if connection.vendor == "postgresql" else 3
        self.assertEqual(len(statements), 3 + writes, "\n".join(statements))
        self.assertFalse([s for s in statements if "outcomes_courseoutcome" in s])
        self.assertFalse([s for s in statements if "SAVEPOINT" in s])

    def test_an_alerting_submission_adds_only_its_alert_and_audit_event(self) -> None:
        # A transaction (here a savepoint and its release) around the writes, and two
        # statements more: the alert and its audit event. The alert's email is queued
        # after the commit (not run inside a test's transaction), and the crisis resources
        # come from the clinic the request has loaded already.
        statements = self.statements(PHQ9_ITEM9)
        writes = 1 if connection.vendor == "postgresql" else 3
        self.assertEqual(len(statements), 3 + 2 + writes + 2, "\n".join(statements))

    def test_an_item9_answer_raises_an_alert_and_returns_crisis_resources(self) -> None:
        self.clinic.crisis_resources = "Call 988."
        self.clinic.save()
        reply = self.post(
            {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_ITEM9}, self.pat_user
        )
        self.assertEqual(reply.status_code, 201)
        self.assertEqual(
            (reply.json()["alert_raised"], reply.json()["crisis_resources"]), (True, "Call 988.")
        )
        self.assertEqual(SafetyAlert.objects.get().patient, self.pat)

    def assert_refused(self, body: dict[str, Any], field: str) -> None:
        reply = self.post(body)
        self.assertEqual(reply.status_code, 422, reply.content)
        self.assertIn(field, [e["field"] for e in reply.json()["errors"]])
        self.assertFalse(Response.objects.exists())

    def test_a_missing_answer_is_named_and_nothing_stored(self) -> None:
        self.assert_refused(
            {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_MILD | {"q4": None}},
            "answers.q4",
        )

    def test_an_answer_out_of_range_is_named(self) -> None:
        self.assert_refused(
            {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_MILD | {"q1": 4}},
            "answers.q1",
        )

    def test_a_string_answer_is_a_type_error(self) -> None:
        self.assert_refused(
            {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_MILD | {"q1": "1"}},
            "answers.q1.int",
        )

    def test_an_unknown_item_and_instrument_are_named(self) -> None:
        self.assert_refused(
            {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_MILD | {"q99": 1}},
            "answers.q99",
        )
        self.assert_refused(
            {"patient_id": self.pat.pk, "instrument": "nosuch", "answers": {}}, "instrument"
        )

    def test_an_answer_to_a_question_that_does_not_apply_is_refused(self) -> None:
        answers = {"q1": False, "q2": False, "q3": True, "q6": False}
        self.assert_refused(
            {"patient_id": self.pat.pk, "instrument": "cssrs_screener", "answers": answers},
            "answers.q3",
        )

    def test_a_patient_token_cannot_submit_for_another_patient(self) -> None:
        reply = self.post(
            {"patient_id": self.quinn.pk, "instrument": "phq9", "answers": PHQ9_MILD}, self.pat_user
        )
        self.assertEqual(reply.status_code, 404)
        self.assertFalse(Response.objects.exists())

    def test_front_desk_cannot_submit(self) -> None:
        reply = self.post(
            {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_MILD}, self.alice
        )
        self.assertEqual(reply.status_code, 403)
        self.assertFalse(Response.objects.exists())

    def test_a_token_without_the_write_scope_is_refused(self) -> None:
        headers = self.token(self.nick, [Scope.MEASURES_READ])
        body = {"patient_id": self.pat.pk, "instrument": "phq9", "answers": PHQ9_MILD}
        self.assertEqual(
            self.client.post(
                self.url, body, content_type="application/json", headers=headers
            ).status_code,
            403,
        )
        self.assertFalse(Response.objects.exists())


class ReadApiTest(ClinicTestCase):
    def get(self, url: str, user: Any) -> Any:
        _, raw = ApiToken.issue(user=user, clinic=self.clinic, name="t", scopes=list(Scope.values))
        return self.client.get(url, headers={"Authorization": f"Bearer {raw}"})

    def test_patients_see_only_their_own_responses(self) -> None:
        submit(self, PHQ9_MILD)
        submit(self, PHQ9_MILD, patient=self.quinn)
        mine = self.get(reverse("api:measures_responses", args=[self.pat.pk]), self.pat_user)
        self.assertEqual([r["patient_id"] for r in mine.json()], [self.pat.pk])
        self.assertEqual(
            self.get(
                reverse("api:measures_responses", args=[self.quinn.pk]), self.pat_user
            ).status_code,
            404,
        )

    def test_staff_list_with_few_queries(self) -> None:
        for _ in range(5):
            submit(self, PHQ9_MILD)
        url = reverse("api:measures_responses", args=[self.pat.pk])
        self.get(url, self.paula)
        _, raw = ApiToken.issue(
            user=self.paula, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        with self.assertNumQueries(5):
            reply = self.client.get(url, headers={"Authorization": f"Bearer {raw}"})
        self.assertEqual(len(reply.json()), 5)

    def test_qids_domain_scores_are_listed_with_the_total(self) -> None:
        answers = dict(
            zip(
                [f"q{n}" for n in range(1, 17)],
                [1, 3, 0, 2, 2, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 2],
                strict=True,
            )
        )
        submit(self, answers, key="qids_sr16")
        submit(self, PHQ9_MILD)
        reply = self.get(reverse("api:measures_responses", args=[self.pat.pk]), self.paula)
        phq9, qids = reply.json()
        self.assertEqual(phq9["domains"], {})
        self.assertEqual(qids["total"], 14)
        self.assertEqual(
            qids["domains"],
            {
                "sleep": 3,
                "sad_mood": 2,
                "appetite_weight": 2,
                "concentration": 1,
                "self_view": 1,
                "suicidal_ideation": 0,
                "interest": 2,
                "energy": 1,
                "psychomotor": 2,
            },
        )

    def test_alerts_are_acknowledged_and_closed_through_the_api(self) -> None:
        submit(self, PHQ9_ITEM9)
        alert = SafetyAlert.objects.get()
        _, raw = ApiToken.issue(
            user=self.nick, clinic=self.clinic, name="t", scopes=list(Scope.values)
        )
        headers = {"Authorization": f"Bearer {raw}"}
        self.assertEqual(
            len(self.client.get(reverse("api:measures_alerts"), headers=headers).json()), 1
        )
        self.client.post(reverse("api:measures_alert_ack", args=[alert.pk]), headers=headers)
        bad = self.client.post(
            reverse("api:measures_alert_close", args=[alert.pk]),
            {"action": "safety_plan", "note": ""},
            content_type="application/json",
            headers=headers,
        )
        self.assertEqual(bad.status_code, 422)
        self.assertEqual(SafetyAlert.objects.get().state, "acknowledged")
        done = self.client.post(
            reverse("api:measures_alert_close", args=[alert.pk]),
            {"action": "safety_plan", "note": "Plan."},
            content_type="application/json",
            headers=headers,
        )
        self.assertEqual((done.status_code, done.json()["state"]), (200, "closed"))

    def test_the_questionnaire_endpoint_serves_fhir(self) -> None:
        reply = self.get(reverse("api:measures_questionnaire", args=["phq9"]), self.paula)
        self.assertEqual(
            (reply.json()["resourceType"], reply.json()["version"]), ("Questionnaire", "1.0.0")
        )
