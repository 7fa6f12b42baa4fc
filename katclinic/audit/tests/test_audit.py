from io import StringIO

from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from katclinic.audit import services as audit
from katclinic.audit.models import Action, AuditEvent
from katclinic.patients.models import WeightReading
from katclinic.testing import ClinicTestCase


def disable_triggers() -> None:
    """Do what an intruder with database access would do (rolled back with the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_change")


class AuditEventsTest(ClinicTestCase):
    def test_viewing_a_chart_writes_exactly_one_event(self) -> None:
        self.login(self.nick)
        before = AuditEvent.objects.count()
        self.client.get(f"/patients/{self.pat.pk}/")
        events = AuditEvent.objects.order_by("id")[before:]
        self.assertEqual(len(events), 1)
        event = events[0]
        self.assertEqual(
            (event.action, event.patient_id, event.user_id),
            (Action.VIEW, self.pat.pk, self.nick.pk),
        )
        self.assertEqual(event.clinic_id, self.clinic.pk)
        self.assertEqual(event.ip, "127.0.0.1")

    def test_a_change_writes_one_event_naming_the_fields(self) -> None:
        self.login(self.alice)
        data = {
            "first_name": "Patricia",
            "last_name": "Doe",
            "date_of_birth": "1985-04-12",
            "sex_at_birth": "unknown",
            "phone": "555-0101",
        }
        self.client.post(f"/patients/{self.pat.pk}/edit/", data)
        event = AuditEvent.objects.get(action=Action.UPDATE)
        self.assertEqual(event.detail["fields"], ["first_name"])
        self.assertEqual(event.patient_id, self.pat.pk)

    def test_denied_access_writes_one_denied_event(self) -> None:
        self.login(self.oscar)
        response = self.client.get(f"/patients/{self.pat.pk}/")
        self.assertEqual(response.status_code, 404)
        event = AuditEvent.objects.get(action=Action.DENIED)
        self.assertEqual(
            (event.user_id, event.outcome, event.patient_id), (self.oscar.pk, "denied", self.pat.pk)
        )

    def test_a_role_without_permission_is_denied_and_recorded(self) -> None:
        self.login(self.tara)
        response = self.client.post(
            f"/patients/{self.pat.pk}/add/weight/",
            {"value": "70", "unit": "kg", "measured_on": "2026-01-01"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(WeightReading.objects.exists())
        self.assertEqual(AuditEvent.objects.filter(action=Action.DENIED, user=self.tara).count(), 1)


class AppendOnlyTest(ClinicTestCase):
    def setUp(self) -> None:
        self.event = audit.record(
            request=None,
            user=self.nick,
            action=Action.VIEW,
            clinic_id=self.clinic.pk,
            patient_id=self.pat.pk,
        )

    def test_the_database_refuses_updates(self) -> None:
        with self.assertRaises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=self.event.pk).update(action=Action.CREATE)
        self.assertEqual(AuditEvent.objects.get(pk=self.event.pk).action, Action.VIEW)

    def test_the_database_refuses_deletes(self) -> None:
        with self.assertRaises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=self.event.pk).delete()
        self.assertTrue(AuditEvent.objects.filter(pk=self.event.pk).exists())


class VerifyAuditTest(ClinicTestCase):
    def setUp(self) -> None:
        for _ in range(5):
            audit.record(
                request=None,
                user=self.nick,
                action=Action.VIEW,
                clinic_id=self.clinic.pk,
                patient_id=self.pat.pk,
            )
        audit.seal()

    def verify(self) -> str:
        out = StringIO()
        call_command("verify_audit", stdout=out, stderr=out)
        return out.getvalue()

    def test_an_intact_trail_verifies(self) -> None:
        self.assertIn("intact", self.verify())

    def test_an_altered_event_is_detected(self) -> None:
        disable_triggers()
        AuditEvent.objects.filter(chain=self.clinic.pk, seq=3).update(
            actor="someone-else@example.org"
        )
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify()

    def test_a_removed_event_is_detected(self) -> None:
        disable_triggers()
        AuditEvent.objects.filter(chain=self.clinic.pk, seq=2).delete()
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify()

    def test_a_removed_newest_event_is_detected(self) -> None:
        disable_triggers()
        AuditEvent.objects.filter(chain=self.clinic.pk, seq=5).delete()
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify()

    def test_an_inserted_event_is_detected(self) -> None:
        last = AuditEvent.objects.filter(chain=self.clinic.pk).order_by("-seq").first()
        assert last is not None
        AuditEvent.objects.create(
            chain=self.clinic.pk,
            seq=99,
            clinic_id=self.clinic.pk,
            action=Action.VIEW,
            prev_hash=last.hash,
            hash="f" * 64,
        )
        with self.assertRaisesMessage(CommandError, "FAILED"):
            self.verify()


class AuditViewerTest(ClinicTestCase):
    def test_admin_filters_events_by_patient_and_action(self) -> None:
        self.login(self.nick)
        self.client.get(f"/patients/{self.pat.pk}/")
        self.client.get(f"/patients/{self.quinn.pk}/")
        self.login(self.adam)
        response = self.client.get("/audit/", {"patient": str(self.pat.pk), "action": "view"})
        self.assertEqual(response.status_code, 200)
        events = list(response.context["page"])
        self.assertEqual([e.patient_id for e in events], [self.pat.pk])

    def test_viewer_shows_only_the_active_clinic(self) -> None:
        audit.record(
            request=None,
            user=self.oscar,
            action=Action.VIEW,
            clinic_id=self.other_clinic.pk,
            patient_id=self.stranger.pk,
        )
        self.login(self.adam)
        response = self.client.get("/audit/")
        self.assertNotIn(self.stranger.pk, [e.patient_id for e in response.context["page"]])

    def test_bad_filter_input_is_a_clear_error(self) -> None:
        self.login(self.adam)
        response = self.client.get("/audit/", {"patient": "abc"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("patient", response.context["form"].errors)

    def test_events_read_in_words_and_clinic_time(self) -> None:
        self.login(self.nick)
        self.client.get(f"/patients/{self.pat.pk}/")
        self.login(self.adam)
        body = self.client.get("/audit/", {"patient": str(self.pat.pk)}).content.decode()
        self.assertIn(f"{self.pat.last_name}, {self.pat.first_name}", body)
        self.assertNotIn("patients.patient", body)
        self.assertIn(self.clinic.timezone, body)
        self.assertNotIn("UTC", body)
