"""Audit events are appended without a lock and sealed into their chain afterwards.

Appending never waits for another request (two open transactions on PostgreSQL each append
under a lock timeout); sealing chains the events in the order they were appended into a
chain that verifies; tampering before and after sealing is refused or detected.
"""

import threading
from io import StringIO

from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from katclinic.audit import services as audit
from katclinic.audit.models import Action, AuditChainHead, AuditEvent
from katclinic.audit.tests.test_audit import disable_triggers
from katclinic.core.management.commands.worker import seal_tick
from katclinic.testing import ClinicTestCase


def raw(sql: str, params: list[str | int]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


class AppendTest(ClinicTestCase):
    def append(self, n: int = 1) -> list[AuditEvent]:
        return [
            audit.record(request=None, user=self.nick, action=Action.VIEW, clinic_id=self.clinic.pk)
            for _ in range(n)
        ]

    def test_an_append_is_one_insert_that_leaves_the_chain_head_alone(self) -> None:
        with CaptureQueriesContext(connection) as queries:
            event = self.append()[0]
        statements = [q["sql"] for q in queries.captured_queries]
        self.assertEqual(len(statements), 1)
        self.assertTrue(statements[0].startswith("INSERT"))
        self.assertNotIn("FOR UPDATE", statements[0])
        self.assertFalse(AuditChainHead.objects.filter(chain=self.clinic.pk).exists())
        stored = AuditEvent.objects.get(pk=event.pk)
        self.assertEqual((stored.seq, stored.hash, stored.sealed_at), (None, None, None))

    def test_sealing_chains_the_events_in_the_order_they_were_appended(self) -> None:
        events = self.append(4)
        self.assertEqual(audit.seal(), 4)
        sealed = list(AuditEvent.objects.filter(chain=self.clinic.pk).order_by("seq"))
        self.assertEqual([e.pk for e in sealed], [e.pk for e in events])
        self.assertEqual([e.seq for e in sealed], [1, 2, 3, 4])
        self.assertEqual(sealed[0].prev_hash, audit.GENESIS)
        self.assertEqual([e.prev_hash for e in sealed[1:]], [e.hash for e in sealed[:-1]])
        head = AuditChainHead.objects.get(chain=self.clinic.pk)
        self.assertEqual((head.seq, head.hash), (4, sealed[-1].hash))
        self.assertEqual(audit.verify_all(), [])
        self.assertEqual(audit.seal(), 0)

    def test_a_later_round_continues_the_chain(self) -> None:
        self.append(2)
        audit.seal()
        self.append(3)
        self.assertEqual(audit.seal(chain=self.clinic.pk), 3)
        seqs = AuditEvent.objects.filter(chain=self.clinic.pk).values_list("seq", flat=True)
        self.assertEqual(sorted(seqs), [1, 2, 3, 4, 5])
        self.assertEqual(audit.verify_all(), [])

    def test_bulk_events_are_sealed_in_their_order(self) -> None:
        events = audit.record_many(
            request=None,
            action=Action.CREATE,
            clinic_id=self.clinic.pk,
            targets=[(self.pat.pk, self.pat), (self.quinn.pk, self.quinn)],
            user=self.nick,
        )
        audit.seal()
        order = AuditEvent.objects.filter(chain=self.clinic.pk).order_by("seq")
        self.assertEqual([e.patient_id for e in order], [e.patient_id for e in events])
        self.assertEqual(audit.verify_all(), [])

    def test_the_worker_seals_what_is_waiting(self) -> None:
        self.append(2)
        self.assertEqual(seal_tick(), 2)
        self.assertEqual(audit.waiting().count, 0)

    def test_verify_reports_the_events_waiting_and_seals_them_first(self) -> None:
        self.append(2)
        out = StringIO()
        call_command("verify_audit", "--no-seal", stdout=out, stderr=out)
        self.assertIn("2 audit event(s) wait to be sealed; the oldest for", out.getvalue())
        out = StringIO()
        call_command("verify_audit", stdout=out, stderr=out)
        self.assertIn("no audit events wait to be sealed", out.getvalue())
        self.assertFalse(AuditEvent.objects.filter(hash__isnull=True).exists())

    def test_seal_audit_command_seals_on_demand(self) -> None:
        self.append(3)
        out = StringIO()
        call_command("seal_audit", stdout=out)
        self.assertIn("sealed 3 audit event(s); 0 waiting", out.getvalue())

    def test_the_audit_page_lists_events_still_waiting_marked_as_such(self) -> None:
        self.login(self.nick)
        self.client.get(f"/patients/{self.pat.pk}/")
        self.login(self.adam)
        body = self.client.get("/audit/", {"patient": str(self.pat.pk)}).content.decode()
        self.assertIn(self.pat.last_name, body)
        self.assertIn("Being sealed", body)
        audit.seal()
        body = self.client.get("/audit/", {"patient": str(self.pat.pk)}).content.decode()
        self.assertIn(self.pat.last_name, body)
        self.assertNotIn('badge">Being sealed', body)


class SealTamperTest(ClinicTestCase):
    """What the database allows an unsealed and a sealed event, and what verify sees."""

    def setUp(self) -> None:
        self.events = [
            audit.record(request=None, user=self.nick, action=Action.VIEW, clinic_id=self.clinic.pk)
            for _ in range(3)
        ]
        self.table = "audit_auditevent"

    def verify_fails(self, expected: str) -> None:
        err = StringIO()
        with self.assertRaisesMessage(CommandError, "FAILED"):
            call_command("verify_audit", stdout=StringIO(), stderr=err)
        self.assertIn(expected, err.getvalue())

    def test_an_unsealed_event_cannot_be_changed(self) -> None:
        with self.assertRaises(DatabaseError):
            raw(f"UPDATE {self.table} SET actor = %s WHERE id = %s", ["x@x", self.events[0].pk])  # noqa: S608
        self.assertEqual(AuditEvent.objects.get(pk=self.events[0].pk).actor, self.nick.email)

    def test_sealing_cannot_change_anything_else(self) -> None:
        with self.assertRaises(DatabaseError):
            raw(
                f"UPDATE {self.table} SET seq = 1, prev_hash = %s, hash = %s, "  # noqa: S608
                "sealed_at = at, actor = %s WHERE id = %s",
                ["0" * 64, "f" * 64, "x@x", self.events[0].pk],
            )

    def test_a_sealed_event_cannot_be_sealed_again(self) -> None:
        audit.seal()
        with self.assertRaises(DatabaseError):
            raw(f"UPDATE {self.table} SET hash = %s WHERE id = %s", ["f" * 64, self.events[1].pk])  # noqa: S608
        with self.assertRaises(DatabaseError):
            raw(f"DELETE FROM {self.table} WHERE id = %s", [self.events[1].pk])  # noqa: S608
        self.assertEqual(audit.verify_all(), [])

    def test_a_seal_forged_before_the_sealer_runs_is_detected(self) -> None:
        raw(
            f"UPDATE {self.table} SET seq = 1, prev_hash = %s, hash = %s, sealed_at = at "  # noqa: S608
            "WHERE id = %s",
            [audit.GENESIS, "f" * 64, self.events[0].pk],
        )
        self.verify_fails("event 1: was altered after it was written")

    def test_an_event_removed_after_sealing_is_detected(self) -> None:
        audit.seal()
        disable_triggers()
        AuditEvent.objects.filter(pk=self.events[1].pk).delete()
        self.verify_fails("event 2: events 2..2 are missing")

    def test_an_event_renumbered_after_sealing_is_detected(self) -> None:
        audit.seal()
        disable_triggers()
        AuditEvent.objects.filter(pk=self.events[2].pk).update(id=self.events[2].pk + 100)
        self.verify_fails("event 3: was altered after it was written")

    def test_an_event_removed_before_sealing_leaves_a_gap_in_the_ids(self) -> None:
        disable_triggers()
        AuditEvent.objects.filter(pk=self.events[1].pk).delete()
        missing = self.events[1].pk
        self.assertEqual(audit.skipped_ids(), [(missing, missing)])
        if connection.vendor == "sqlite":
            self.verify_fails(f"events with ids {missing}..{missing} are missing")
            return
        out = StringIO()
        call_command("verify_audit", stdout=out, stderr=out)
        self.assertIn("1 event id(s) skipped in 1 run(s)", out.getvalue())


class ConcurrentAppendTest(ClinicTestCase):
    def test_two_open_transactions_append_without_waiting_for_each_other(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("SQLite has one writer at a time; row locks are PostgreSQL's")
        both_appended = threading.Barrier(2, timeout=10)
        outcomes: list[str] = []

        def append() -> None:
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        # Any lock the append waited on would fail it after half a second.
                        cursor.execute("SET LOCAL lock_timeout = '500ms'")
                    audit.record(request=None, action=Action.VIEW, clinic_id=self.clinic.pk)
                    both_appended.wait()  # each is still in its open transaction here
                    transaction.set_rollback(True)
                outcomes.append("appended")
            except (DatabaseError, threading.BrokenBarrierError) as exc:
                outcomes.append(f"waited: {exc}")
            finally:
                connection.close()

        threads = [threading.Thread(target=append) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        self.assertEqual(outcomes, ["appended", "appended"])

    def test_an_append_does_not_wait_for_the_sealer(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("SQLite has one writer at a time; row locks are PostgreSQL's")
        AuditChainHead.objects.create(chain=self.clinic.pk)
        # The head row is held here (created and locked, uncommitted), as the sealer holds
        # it: an append that read or created the head would wait on it.
        AuditChainHead.objects.select_for_update().get(chain=self.clinic.pk)
        outcome: list[str] = []

        def append() -> None:
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL lock_timeout = '500ms'")
                    audit.record(request=None, action=Action.VIEW, clinic_id=self.clinic.pk)
                    transaction.set_rollback(True)
                outcome.append("appended")
            except DatabaseError as exc:
                outcome.append(f"waited: {exc}")
            finally:
                connection.close()

        thread = threading.Thread(target=append)
        thread.start()
        thread.join(timeout=20)
        self.assertEqual(outcome, ["appended"])
