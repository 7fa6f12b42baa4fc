"""The nurse's reading form: one locked fetch of the session, the same access rule as every
other dosing page, and a refusal that stores nothing."""

from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models, transaction
from django.http import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from katclinic.audit.models import Action, AuditEvent, Outcome
from katclinic.dosing import monitoring_services as mon
from katclinic.dosing import services
from katclinic.dosing.models import Checkpoint, DosingSession, InSessionAlert
from katclinic.dosing.statemachine import SessionState as S
from katclinic.dosing.tests import factories as f
from katclinic.patients.models import Patient
from katclinic.testing import ClinicTestCase

CLINIC_ZONE = ZoneInfo("America/New_York")


def values(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


class CheckpointPostTest(ClinicTestCase):
    def monitored_session(self, patient: Patient | None = None) -> DosingSession:
        lot = f.stock(self.clinic, self.nick, lot=f"L{(patient or self.pat).pk}")
        sess = f.ready_to_dose(
            patient or self.pat, self.paula, self.nick, checked_ago=timedelta(minutes=55)
        )
        services.record_administration(
            session=sess,
            lot=lot,
            dose_mg=Decimal("28"),
            started_at=timezone.now() - timedelta(minutes=50),
            by=self.nick,
        )
        services.finish_dosing(session=sess, by=self.nick)
        return sess

    def reading(self, **values: str) -> dict[str, str]:
        now = timezone.localtime(timezone=CLINIC_ZONE).strftime("%Y-%m-%dT%H:%M")
        return {"label": "about 40 minutes", "taken_at": now} | values

    def post(self, sess: DosingSession, **values: str) -> HttpResponseBase:
        url = reverse("dosing:checkpoint", args=[sess.pk])
        return self.client.post(url, self.reading(**values))

    def stored(self, sess: DosingSession) -> list[str]:
        return list(
            Checkpoint.objects.filter(session=sess)
            .exclude(label="pre-dose")
            .values_list("label", flat=True)
        )

    def test_a_reading_is_stored_with_one_fetch_of_the_session(self) -> None:
        sess = self.monitored_session()
        self.login(self.nick)
        seen: list[str] = []

        def record(execute: Any, sql: str, *rest: Any) -> Any:
            seen.append(sql)
            return execute(sql, *rest)

        with connection.execute_wrapper(record):
            response = self.post(sess, systolic="124", diastolic="78", heart_rate="72")
        self.assertRedirects(response, reverse("dosing:session", args=[sess.pk]))
        self.assertEqual(self.stored(sess), ["about 40 minutes"])
        table = DosingSession._meta.db_table
        session_reads = [q for q in seen if q.startswith("SELECT") and f'FROM "{table}"' in q]
        self.assertEqual(len(session_reads), 1, session_reads)

    def test_staff_of_another_clinic_get_not_found_and_only_the_denial_is_stored(self) -> None:
        sess = self.monitored_session()
        self.login(self.oscar)
        denials = AuditEvent.objects.filter(action=Action.DENIED, user=self.oscar)
        response = self.post(sess, systolic="124", diastolic="78")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.stored(sess), [])
        self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.MONITORING)
        denial = denials.get()
        self.assertEqual(denial.outcome, Outcome.DENIED)
        self.assertEqual(denial.object_id, reverse("dosing:checkpoint", args=[sess.pk]))

    def test_a_reading_the_session_rules_refuse_stores_nothing_and_says_why(self) -> None:
        sess = f.session(self.pat, f.signed_plan(self.pat, self.paula), self.nick)
        self.login(self.nick)
        response = self.post(sess, systolic="124", diastolic="78")
        self.assertContains(
            response, "Readings are recorded during dosing and monitoring", status_code=400
        )
        self.assertEqual(self.stored(sess), [])
        self.assertEqual(DosingSession.objects.get(pk=sess.pk).state, S.SCHEDULED)

    def test_a_recheck_of_another_sessions_alert_is_refused_and_stores_nothing(self) -> None:
        sess = self.monitored_session()
        other = self.monitored_session(self.quinn)
        _, (alert, *_) = mon.record_checkpoint(
            session=other,
            label="about 40 minutes",
            taken_at=timezone.now(),
            values={"systolic": 165, "diastolic": 100},
            by=self.nick,
        )
        self.login(self.nick)
        response = self.post(sess, systolic="124", diastolic="78", recheck_of=str(alert.pk))
        self.assertContains(response, "there is no such alert in this session", status_code=400)
        self.assertEqual(self.stored(sess), [])

    def test_the_locked_fetch_gives_what_the_orm_gives_with_plan_protocol_and_patient(
        self,
    ) -> None:
        sess = self.monitored_session()
        seen: list[str] = []

        def record(execute: Any, sql: str, *rest: Any) -> Any:
            seen.append(sql)
            return execute(sql, *rest)

        with transaction.atomic():
            with connection.execute_wrapper(record):
                found = DosingSession.objects.fetch_locked(sess.pk, self.clinic)
            orm = DosingSession.objects.locked().filter(pk=sess.pk, clinic=self.clinic).first()
        assert found is not None and orm is not None
        self.assertEqual(values(found), values(orm))
        self.assertEqual(values(found.plan), values(orm.plan))
        self.assertEqual(values(found.plan.protocol_version), values(orm.plan.protocol_version))
        self.assertEqual(found.plan.protocol_version.protocol, orm.plan.protocol_version.protocol)
        self.assertEqual(values(found.patient), values(orm.patient))
        self.assertIs(found.clinic, self.clinic)
        self.assertEqual(len(seen), 1)
        # Where the database locks rows (PostgreSQL), only the session row is locked.
        if connection.features.has_select_for_update_of:
            self.assertTrue(seen[0].endswith(" FOR UPDATE OF s"), seen[0])
        else:
            self.assertNotIn("FOR UPDATE", seen[0])

    def test_the_locked_fetch_finds_nothing_in_another_clinic_or_for_an_impossible_id(
        self,
    ) -> None:
        sess = self.monitored_session()
        with transaction.atomic():
            self.assertIsNone(DosingSession.objects.fetch_locked(sess.pk, self.other_clinic))
            for bad in (2**63, -(2**63) - 1, sess.pk + 1000):
                self.assertIsNone(DosingSession.objects.fetch_locked(bad, self.clinic))
            with self.assertRaises(TypeError):
                DosingSession.objects.filter(state=S.MONITORING).fetch_locked(sess.pk, self.clinic)

    def test_an_impossible_session_id_in_the_address_answers_not_found(self) -> None:
        self.login(self.nick)
        response = self.client.post(f"/dosing/{2**64}/checkpoint/", self.reading(systolic="124"))
        self.assertEqual(response.status_code, 404)

    def test_a_reading_runs_a_fixed_set_of_statements(self) -> None:
        # The sign-in session, the user, the roles; the savepoint (BEGIN outside a test);
        # the locked session with its plan, protocol version and patient; the reading; the
        # clinic's limits; the audit event; the savepoint's release.
        sess = self.monitored_session()
        self.login(self.nick)
        self.post(sess, systolic="124", diastolic="78", heart_rate="72")
        with self.assertNumQueries(9):
            response = self.post(sess, systolic="124", diastolic="78", heart_rate="72")
        self.assertEqual(response.status_code, 302)
        # An alerting reading adds each alert and the prescriber's email (the plan's signer,
        # the clinic's prescribers) and no more.
        with self.assertNumQueries(12):
            response = self.post(sess, systolic="200", diastolic="90", heart_rate="72")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            sorted(InSessionAlert.objects.filter(session=sess).values_list("level", flat=True)),
            ["stop"],
        )
