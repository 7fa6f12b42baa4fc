"""Take-home session alerts and safety alerts are acknowledged and closed by the same steps:
the same refusals, the same fields filled and the same audit events."""

from collections.abc import Callable
from typing import Any

from katclinic.athome import services
from katclinic.athome.models import AlertKind, HomeAlert
from katclinic.athome.tests.factories import prescription, taken_session
from katclinic.audit.models import Action, AuditEvent
from katclinic.measures import safety
from katclinic.measures.alert_steps import AlertError
from katclinic.measures.models import SafetyAlert
from katclinic.measures.tests.helpers import PHQ9_ITEM9, submit
from katclinic.testing import ClinicTestCase

type Alert = HomeAlert | SafetyAlert


class SameStepsTest(ClinicTestCase):
    def home_alert(self) -> HomeAlert:
        prescription(self.pat, self.paula)
        alert, _ = services.raise_alert(
            session=taken_session(self.pat), kind=AlertKind.FLAGGED_ANSWER, reason="test"
        )
        return alert

    def safety_alert(self) -> SafetyAlert:
        submit(self, PHQ9_ITEM9)
        return SafetyAlert.objects.get()

    def kinds(self) -> list[tuple[str, Callable[[], Any], Callable[..., Any], Callable[..., Any]]]:
        """(name, raise one, acknowledge, close) for each kind of alert."""

        def close_safety(**kwargs: Any) -> SafetyAlert:
            return safety.close_alert(action="patient_contacted", **kwargs)

        return [
            ("take-home", self.home_alert, services.acknowledge_alert, services.close_alert),
            ("safety", self.safety_alert, safety.acknowledge_alert, close_safety),
        ]

    def steps(self, alert: Alert) -> list[str]:
        events = AuditEvent.objects.filter(
            action=Action.UPDATE, object_type=alert._meta.label_lower, object_id=str(alert.pk)
        ).order_by("id")
        return [event.detail["step"] for event in events]

    def test_closing_an_open_alert_acknowledges_it_on_the_way(self) -> None:
        for name, raise_one, _, close in self.kinds():
            with self.subTest(name):
                alert = raise_one()
                close(alert=alert, note="  Called; safe at home.  ", by=self.nick)
                alert.refresh_from_db()
                self.assertEqual(
                    (alert.state, alert.acknowledged_by, alert.closed_by, alert.note),
                    ("closed", self.nick, self.nick, "Called; safe at home."),
                )
                self.assertEqual(alert.acknowledged_at, alert.closed_at)
                self.assertEqual(self.steps(alert), ["closed"])

    def test_an_acknowledged_alert_keeps_who_saw_it_first(self) -> None:
        for name, raise_one, acknowledge, close in self.kinds():
            with self.subTest(name):
                alert = raise_one()
                acknowledge(alert=alert, by=self.nick)
                close(alert=alert, note="Seen in clinic.", by=self.paula)
                alert.refresh_from_db()
                self.assertEqual((alert.acknowledged_by, alert.closed_by), (self.nick, self.paula))
                self.assertEqual(self.steps(alert), ["acknowledged", "closed"])

    def test_a_second_acknowledgement_is_refused_and_changes_nothing(self) -> None:
        for name, raise_one, acknowledge, _ in self.kinds():
            with self.subTest(name):
                alert = raise_one()
                acknowledge(alert=alert, by=self.nick)
                with self.assertRaisesMessage(AlertError, "already acknowledged") as caught:
                    acknowledge(alert=alert, by=self.paula)
                self.assertEqual(caught.exception.field, "alert")
                alert.refresh_from_db()
                self.assertEqual(alert.acknowledged_by, self.nick)
                self.assertEqual(self.steps(alert), ["acknowledged"])

    def test_a_close_without_a_note_or_of_a_closed_alert_is_refused(self) -> None:
        for name, raise_one, _, close in self.kinds():
            with self.subTest(name):
                alert = raise_one()
                with self.assertRaises(AlertError) as caught:
                    close(alert=alert, note="   ", by=self.nick)
                self.assertEqual(caught.exception.field, "note")
                alert.refresh_from_db()
                self.assertEqual((alert.state, self.steps(alert)), ("open", []))
                close(alert=alert, note="Done.", by=self.nick)
                with self.assertRaisesMessage(AlertError, "already closed"):
                    close(alert=alert, note="Again.", by=self.paula)
                alert.refresh_from_db()
                self.assertEqual((alert.closed_by, alert.note), (self.nick, "Done."))
                self.assertEqual(self.steps(alert), ["closed"])
