"""Raising, acknowledging, closing and escalating safety alerts, with time held still."""

from datetime import UTC, datetime, timedelta

from django.core import mail
from django.db import IntegrityError
from django.urls import reverse

from katclinic.audit.models import AuditEvent
from katclinic.clinics.models import Clinic
from katclinic.clinics.registry import set_setting
from katclinic.measures import safety
from katclinic.measures.models import SafetyAlert
from katclinic.measures.tests.helpers import PHQ9_ITEM9, PHQ9_MILD, submit
from katclinic.testing import ClinicTestCase

# Wednesday 2026-01-07 in New York (UTC-5): 10:00 local is 15:00 UTC.
OPEN_AT = datetime(2026, 1, 7, 15, 0, tzinfo=UTC)
NIGHT = datetime(2026, 1, 8, 3, 0, tzinfo=UTC)  # 22:00 local


class AlertTest(ClinicTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.clinic.opening_hours = {
            d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")
        }
        cls.clinic.after_hours_rule = "Page the on-call psychiatrist."
        cls.clinic.email = "desk@north.example"
        cls.clinic.save()

    def raise_at(self, when: datetime) -> SafetyAlert:
        response = submit(self, PHQ9_ITEM9)
        SafetyAlert.objects.filter(response=response).update(raised_at=when)
        return SafetyAlert.objects.get(response=response)

    def test_item9_above_zero_raises_one_alert_for_the_responsible_clinician(self) -> None:
        submit(self, PHQ9_ITEM9)
        alert = SafetyAlert.objects.get()
        self.assertEqual(
            (alert.assigned_to, alert.kind, alert.state), (self.paula, "phq9_item9", "open")
        )
        self.assertEqual(list(SafetyAlert.objects.open_alerts(self.pat)), [alert])

    def test_item9_at_zero_raises_nothing(self) -> None:
        submit(self, PHQ9_MILD)
        self.assertFalse(SafetyAlert.objects.exists())

    def test_a_high_risk_cssrs_screen_raises_an_alert(self) -> None:
        submit(
            self,
            {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False},
            key="cssrs_screener",
        )
        self.assertEqual(SafetyAlert.objects.get().kind, "cssrs_high")

    def test_a_moderate_cssrs_screen_raises_nothing(self) -> None:
        submit(
            self,
            {"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False},
            key="cssrs_screener",
        )
        self.assertFalse(SafetyAlert.objects.exists())

    def test_escalation_waits_for_the_acknowledgement_time_in_opening_hours(self) -> None:
        self.raise_at(OPEN_AT)
        self.assertEqual(safety.escalate_overdue(OPEN_AT + timedelta(minutes=29)), 0)
        mail.outbox.clear()
        self.assertEqual(safety.escalate_overdue(OPEN_AT + timedelta(minutes=30)), 1)
        alert = SafetyAlert.objects.get()
        self.assertEqual((alert.escalated_to, alert.after_hours_rule), ("adam@example.org", ""))
        self.assertEqual(mail.outbox[0].to, ["adam@example.org"])
        self.assertEqual(safety.escalate_overdue(OPEN_AT + timedelta(minutes=45)), 0)  # idempotent
        self.assertEqual(
            AuditEvent.objects.filter(
                object_type="measures.safetyalert", detail__step="escalated"
            ).count(),
            1,
        )

    def test_the_clinic_sets_the_acknowledgement_time_and_director(self) -> None:
        set_setting(
            clinic=self.clinic,
            key="measures.alert_ack_minutes",
            raw="10",
            by=self.adam,
            reason="policy",
        )
        set_setting(
            clinic=self.clinic,
            key="measures.medical_director_email",
            raw="md@north.example",
            by=self.adam,
            reason="policy",
        )
        self.raise_at(OPEN_AT)
        self.assertEqual(safety.escalate_overdue(OPEN_AT + timedelta(minutes=10)), 1)
        self.assertEqual(SafetyAlert.objects.get().escalated_to, "md@north.example")

    def test_an_acknowledged_alert_does_not_escalate(self) -> None:
        alert = self.raise_at(OPEN_AT)
        safety.acknowledge_alert(alert=alert, by=self.nick)
        self.assertEqual(safety.escalate_overdue(OPEN_AT + timedelta(hours=2)), 0)

    def test_after_hours_the_clinic_rule_is_recorded_and_notified_at_once(self) -> None:
        self.raise_at(NIGHT)
        mail.outbox.clear()
        self.assertEqual(safety.escalate_overdue(NIGHT + timedelta(minutes=1)), 1)
        alert = SafetyAlert.objects.get()
        self.assertEqual(alert.after_hours_rule, "Page the on-call psychiatrist.")
        self.assertIn("desk@north.example", mail.outbox[0].to)
        self.assertIn("Page the on-call psychiatrist.", mail.outbox[0].body)

    def test_opening_hours_are_read_in_the_clinic_time_zone(self) -> None:
        self.assertTrue(
            safety.is_open(self.clinic, datetime(2026, 1, 7, 13, 30, tzinfo=UTC))
        )  # 08:30 local
        self.assertFalse(
            safety.is_open(self.clinic, datetime(2026, 1, 7, 12, 30, tzinfo=UTC))
        )  # 07:30 local
        self.assertFalse(
            safety.is_open(self.clinic, datetime(2026, 1, 10, 15, 0, tzinfo=UTC))
        )  # Saturday

    def test_closing_needs_an_action_and_a_note(self) -> None:
        alert = self.raise_at(OPEN_AT)
        self.login(self.nick)
        page = self.client.post(
            reverse("measures:alert_close", args=[alert.pk]), {"action": "safety_plan", "note": ""}
        )
        self.assertEqual(page.status_code, 400)
        self.assertEqual(SafetyAlert.objects.get().state, "open")
        with self.assertRaises(safety.AlertError):
            safety.close_alert(alert=alert, action="nothing", note="x", by=self.nick)

    def test_the_database_refuses_a_closed_alert_without_a_note(self) -> None:
        alert = self.raise_at(OPEN_AT)
        with self.assertRaises(IntegrityError):
            SafetyAlert.objects.filter(pk=alert.pk).update(
                state="closed", acknowledged_at=OPEN_AT, closed_at=OPEN_AT
            )

    def test_front_desk_sees_the_banner_without_names_and_cannot_acknowledge(self) -> None:
        alert = self.raise_at(OPEN_AT)
        self.login(self.alice)
        banner = self.client.get(reverse("measures:alert_banner"))
        self.assertContains(banner, "1 safety alert")
        self.assertNotContains(banner, "Pat Doe")
        self.assertEqual(
            self.client.post(reverse("measures:alert_ack", args=[alert.pk])).status_code, 403
        )
        self.assertEqual(SafetyAlert.objects.get().state, "open")

    def test_another_clinic_cannot_see_the_alert(self) -> None:
        alert = self.raise_at(OPEN_AT)
        self.login(self.oscar)
        self.assertEqual(
            self.client.get(reverse("measures:alert_detail", args=[alert.pk])).status_code, 404
        )
        self.assertNotContains(self.client.get(reverse("measures:alert_banner")), "safety alert")


QIDS_NONE = {f"q{n}": 1 for n in range(1, 17)} | {"q12": 0}


class QidsSuicidalityTest(ClinicTestCase):
    def set_alert_at(self, clinic: Clinic, answer: int) -> None:
        set_setting(
            clinic=clinic,
            key="measures.qids_item12_alert_at",
            raw=answer,
            by=self.adam,
            reason="clinic policy",
        )

    def test_qids_item12_at_three_raises_an_alert_through_the_same_loop(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            response = submit(self, QIDS_NONE | {"q12": 3}, key="qids_sr16")
        alert = SafetyAlert.objects.get(response=response)
        self.assertEqual(
            (alert.kind, alert.state, alert.assigned_to), ("qids_item12", "open", self.paula)
        )
        self.assertEqual(list(SafetyAlert.objects.open_alerts(self.pat)), [alert])
        self.assertEqual(mail.outbox[-1].to, [self.paula.email])
        self.login(self.paula)
        self.assertContains(
            self.client.get("/today/"), "QIDS-SR16 item 12 (thoughts of death or suicide)"
        )

    def test_qids_item12_at_zero_raises_nothing(self) -> None:
        submit(self, QIDS_NONE, key="qids_sr16")
        self.assertFalse(SafetyAlert.objects.exists())

    def test_another_instrument_with_a_high_item12_is_unaffected(self) -> None:
        submit(self, {f"q{n}": 3 for n in range(1, 8)}, key="gad7")
        self.assertFalse(SafetyAlert.objects.exists())

    def test_the_alert_page_shows_the_domain_scores_of_the_response(self) -> None:
        response = submit(self, QIDS_NONE | {"q12": 3}, key="qids_sr16")
        self.login(self.paula)
        page = self.client.get(
            reverse("measures:alert_detail", args=[SafetyAlert.objects.get(response=response).pk])
        )
        self.assertContains(page, "QIDS-SR16 total 11")
        self.assertContains(page, "Thoughts of death or suicide (item 12): 3")
        self.assertContains(page, "Sleep (highest of items 1-4): 1")

    def test_qids_item12_default_alert_answer_is_one(self) -> None:
        response = submit(self, QIDS_NONE | {"q12": 1}, key="qids_sr16")
        self.assertEqual(
            list(SafetyAlert.objects.values_list("response", "kind")),
            [(response.pk, "qids_item12")],
        )
        self.assertIn("suicidal_ideation_qids", response.flags)

    def test_qids_item12_below_the_clinic_alert_answer_raises_nothing(self) -> None:
        self.set_alert_at(self.clinic, 2)
        response = submit(self, QIDS_NONE | {"q12": 1}, key="qids_sr16")
        self.assertFalse(SafetyAlert.objects.exists())
        self.assertNotIn("suicidal_ideation_qids", response.flags)

    def test_qids_item12_at_the_clinic_alert_answer_raises_an_alert(self) -> None:
        self.set_alert_at(self.clinic, 2)
        response = submit(self, QIDS_NONE | {"q12": 2}, key="qids_sr16")
        self.assertEqual(SafetyAlert.objects.get().response, response)

    def test_another_clinics_alert_answer_does_not_apply(self) -> None:
        self.set_alert_at(self.other_clinic, 3)
        submit(self, QIDS_NONE | {"q12": 1}, key="qids_sr16")
        self.assertEqual(SafetyAlert.objects.count(), 1)
