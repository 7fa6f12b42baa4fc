"""Each worklist section shows exactly its items, to exactly its roles, in the active clinic."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from katclinic.accounts.models import User
from katclinic.audit import services as audit
from katclinic.audit.models import Action, AuditChainHead
from katclinic.clinics.models import ClinicSetting
from katclinic.clinics.registry import REGISTRY
from katclinic.dosing.models import GateCheck, LedgerEntry, RemsForm, StockLot, SupportNote
from katclinic.intake.models import ConsentDocument, ConsultationRequest, Screening
from katclinic.measures.models import SafetyAlert
from katclinic.portal.models import AppointmentRequest, JournalEntry
from katclinic.portal.tests import fixtures
from katclinic.protocols.models import PlanVersion
from katclinic.scheduling.models import Reminder
from katclinic.testing import ClinicTestCase


class WorklistSectionsTest(ClinicTestCase):
    def setUp(self) -> None:
        cache.clear()

    def items(self, user: User, key: str) -> list[Any] | None:
        """The section's items as `user` sees them on /today/, or None if the section is not shown."""
        self.login(user)
        response = self.client.get("/today/")
        for entry in response.context["sections"]:
            if entry["section"].key == key:
                return list(entry["items"])
        return None

    def titles(self, user: User, key: str) -> list[str]:
        found = self.items(user, key)
        self.assertIsNotNone(found, f"{key} is not shown to {user}")
        return [item.title for item in found or []]

    def assert_only_for(self, key: str, allowed: set[User]) -> None:
        for user in self.staff_by_role.values():
            shown = self.items(user, key) is not None
            self.assertEqual(shown, user in allowed, f"{key} for {user}")

    # Prescriber -----------------------------------------------------------------------

    def test_prescriber_sees_screenings_to_decide(self) -> None:
        Screening.objects.create(
            clinic=self.clinic, patient=self.pat, route="iv", diagnosis="MDD", created_by=self.paula
        )
        Screening.objects.create(
            clinic=self.other_clinic,
            patient=self.stranger,
            route="iv",
            diagnosis="MDD",
            created_by=self.oscar,
        )
        self.assertEqual(
            self.titles(self.paula, "prescriber-screenings"),
            ["Pat Doe: Intravenous racemic ketamine screening"],
        )
        self.assert_only_for("prescriber-screenings", {self.paula})

    def test_prescriber_sees_unsigned_plan_versions(self) -> None:
        plan = fixtures.plan(self, self.pat)
        PlanVersion.objects.create(
            clinic=self.clinic,
            plan=plan,
            number=1,
            kind="initial",
            phase="induction",
            start_on=timezone.localdate(),
            weight_kg=Decimal(70),
            weight_measured_on=timezone.localdate(),
            dose_mg=Decimal(56),
            min_mg=Decimal(28),
            max_mg=Decimal(84),
            created_by=self.paula,
        )
        self.assertEqual(len(self.titles(self.paula, "prescriber-plans")), 1)
        self.assertIn("Pat Doe: plan version 1", self.titles(self.paula, "prescriber-plans")[0])

    def test_prescriber_sees_soft_stops_of_the_latest_gate_run_only(self) -> None:
        waiting = fixtures.session(self, self.pat, days_ago=0, state="pre_dose_checks")
        settled = fixtures.session(self, self.quinn, days_ago=0, state="pre_dose_checks")
        common = {
            "clinic": self.clinic,
            "stop": "soft",
            "result": "fail",
            "reason": "BP 150/95",
            "evaluated_by": self.nick,
        }
        GateCheck.objects.create(
            session=waiting, evaluation=1, key="bp", label="Blood pressure", **common
        )
        GateCheck.objects.create(
            session=settled, evaluation=1, key="bp", label="Blood pressure", **common
        )
        GateCheck.objects.create(
            session=settled,
            evaluation=2,
            key="bp",
            label="Blood pressure",
            **common | {"result": "pass"},
        )
        self.assertEqual(
            self.titles(self.paula, "prescriber-soft-stops"), ["Pat Doe: Blood pressure"]
        )
        self.assert_only_for("prescriber-soft-stops", {self.paula})

    def test_clinicians_see_open_safety_alerts(self) -> None:
        SafetyAlert.objects.create(
            clinic=self.clinic, patient=self.pat, kind="phq9_item9", reason="item 9 = 1"
        )
        SafetyAlert.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            kind="phq9_item9",
            reason="x",
            state="closed",
            acknowledged_at=timezone.now(),
            acknowledged_by=self.paula,
            closed_at=timezone.now(),
            closed_by=self.paula,
            action="cssrs_done",
            note="done",
        )
        item = self.items(self.nick, "safety-alerts")
        self.assertEqual(
            [(i.title, i.level) for i in item or []], [("Pat Doe: PHQ-9 item 9 above 0", "danger")]
        )
        self.assert_only_for("safety-alerts", {self.paula, self.nick, self.tara})

    # Nurse ------------------------------------------------------------------------------

    def test_nurse_sees_todays_sessions_by_chair_and_time(self) -> None:
        fixtures.appointment(self, self.pat)  # the chair the sessions sit in
        later = fixtures.session(self, self.pat, days_ago=0, chair="Chair 2", state="scheduled")
        earlier = fixtures.session(self, self.quinn, days_ago=0, chair="Chair 1", state="scheduled")
        fixtures.session(self, self.pat, days_ago=0, chair="Chair 3", state="discharged")
        fixtures.session(self, self.pat, days_ago=3, chair="Chair 1", state="scheduled")
        titles = self.titles(self.nick, "nurse-sessions")
        self.assertEqual(len(titles), 2)
        self.assertTrue(
            titles[0].startswith("Chair 1") and titles[0].endswith(earlier.patient.full_name)
        )
        self.assertTrue(
            titles[1].startswith("Chair 2") and titles[1].endswith(later.patient.full_name)
        )
        self.assert_only_for("nurse-sessions", {self.nick})

    def test_nurse_sees_pre_dose_checks_pending(self) -> None:
        fixtures.session(self, self.pat, days_ago=0, state="checked_in")
        fixtures.session(self, self.quinn, days_ago=0, state="dosing")
        self.assertEqual(
            self.titles(self.nick, "nurse-pre-dose"), ["Pat Doe (Chair 1): pre-dose checks"]
        )

    def test_nurse_sees_overdue_checkpoints(self) -> None:
        session = fixtures.session(self, self.pat, days_ago=0, state="monitoring")
        session.dose_started_at = timezone.now() - timedelta(hours=1)
        session.save(update_fields=["dose_started_at"])
        titles = self.titles(self.nick, "nurse-overdue")
        self.assertEqual(len(titles), 1)
        self.assertTrue(titles[0].startswith("Chair 1 (PD):"), titles)

    def test_nurse_sees_rems_forms_due(self) -> None:
        session = fixtures.session(self, self.pat)
        RemsForm.objects.create(
            clinic=self.clinic, session=session, due_on=timezone.localdate() + timedelta(days=4)
        )
        done = fixtures.session(self, self.quinn)
        RemsForm.objects.create(
            clinic=self.clinic,
            session=done,
            due_on=timezone.localdate(),
            completed_at=timezone.now(),
            completed_by=self.nick,
        )
        self.assertEqual(self.titles(self.nick, "nurse-rems"), ["Pat Doe: REMS monitoring form"])

    def test_nurse_sees_lots_used_today_and_not_counted_since(self) -> None:
        fixtures.appointment(self, self.pat)
        used = StockLot.objects.create(
            clinic=self.clinic,
            product="Ketamine 10 mg/mL",
            lot_number="A1",
            expiry=date(2030, 1, 1),
        )
        counted = StockLot.objects.create(
            clinic=self.clinic,
            product="Ketamine 10 mg/mL",
            lot_number="B2",
            expiry=date(2030, 1, 1),
        )
        now = timezone.now()
        for lot in (used, counted):
            LedgerEntry.objects.create(
                clinic=self.clinic,
                lot=lot,
                kind="receipt",
                quantity_mg=500,
                balance_after_mg=500,
                recorded_by=self.nick,
                at=now - timedelta(days=2),
            )
            LedgerEntry.objects.create(
                clinic=self.clinic,
                lot=lot,
                kind="draw",
                quantity_mg=50,
                balance_after_mg=450,
                recorded_by=self.nick,
                at=now - timedelta(minutes=30),
            )
        LedgerEntry.objects.create(
            clinic=self.clinic,
            lot=counted,
            kind="count",
            quantity_mg=450,
            balance_after_mg=450,
            discrepancy_mg=0,
            recorded_by=self.nick,
            at=now,
        )
        self.assertEqual(self.titles(self.nick, "nurse-counts"), ["Count Ketamine 10 mg/mL lot A1"])

    # Therapist --------------------------------------------------------------------------

    def test_therapist_sees_preparation_and_integration_today(self) -> None:
        visit = fixtures.appointment(self, self.pat, days=0, kind="integration", with_plan=False)
        visit.start = timezone.now() + timedelta(minutes=5)
        visit.staff = self.tara
        visit.save(update_fields=["start", "staff"])
        fixtures.appointment(self, self.quinn, days=0, kind="consultation", with_plan=False)
        items = self.items(self.tara, "therapist-sessions") or []
        self.assertEqual(
            [(i.title.split(" ", 1)[1], i.detail) for i in items],
            [("Integration: Pat Doe", "with you")],
        )

    def test_therapist_sees_their_own_notes_to_sign(self) -> None:
        session = fixtures.session(self, self.pat)
        SupportNote.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            session=session,
            kind="integration",
            author=self.tara,
        )
        SupportNote.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            session=session,
            kind="preparation",
            author=self.paula,
        )
        self.assertEqual(self.titles(self.tara, "therapist-notes"), ["Pat Doe: integration note"])

    def test_therapist_sees_shared_journal_entries_never_private_ones(self) -> None:
        now = timezone.now()
        JournalEntry.objects.create(
            clinic=self.clinic,
            patient=self.pat,
            text="shared",
            shared_with_therapist=True,
            shared_at=now,
        )
        JournalEntry.objects.create(clinic=self.clinic, patient=self.quinn, text="private")
        self.assertEqual(self.titles(self.tara, "therapist-journal"), ["Pat Doe: journal entry"])
        self.assert_only_for("therapist-journal", {self.tara})

    # Front desk -------------------------------------------------------------------------

    def test_front_desk_sees_new_consultation_requests(self) -> None:
        ConsultationRequest.objects.create(
            clinic=self.clinic,
            name="Robin Hill",
            email="r@example.org",
            consent_to_contact=True,
            source_key="k1",
        )
        ConsultationRequest.objects.create(
            clinic=self.clinic,
            name="Old Contact",
            email="o@example.org",
            consent_to_contact=True,
            source_key="k2",
            state="contacted",
        )
        self.assertEqual(self.titles(self.alice, "frontdesk-consultations"), ["Robin Hill"])

    def test_front_desk_sees_open_appointment_requests(self) -> None:
        AppointmentRequest.objects.create(clinic=self.clinic, patient=self.pat, kind="cancel")
        AppointmentRequest.objects.create(
            clinic=self.clinic,
            patient=self.quinn,
            kind="reschedule",
            status="done",
            handled_at=timezone.now(),
        )
        self.assertEqual(
            self.titles(self.alice, "frontdesk-appointment-requests"), ["Pat Doe: cancel"]
        )
        self.assert_only_for("frontdesk-appointment-requests", {self.alice})

    def test_front_desk_sees_failed_reminders_of_coming_visits(self) -> None:
        visit = fixtures.appointment(self, self.pat, with_plan=False, kind="consultation")
        Reminder.objects.create(
            clinic=self.clinic,
            appointment=visit,
            channel="sms",
            send_at=timezone.now(),
            next_attempt_at=timezone.now(),
            state="failed",
            last_error="number unreachable",
        )
        self.assertEqual(
            self.titles(self.alice, "frontdesk-reminders"), ["Pat Doe: SMS reminder failed"]
        )

    def test_front_desk_sees_patients_in_treatment_missing_consent(self) -> None:
        ConsentDocument.objects.create(
            clinic=self.clinic,
            scope="program",
            version=1,
            title="Consent",
            body="x",
            effective_on=date(2020, 1, 1),
            created_by=self.paula,
        )
        self.pat.stage = "induction"
        self.pat.save(update_fields=["stage"])
        self.assertEqual(
            self.titles(self.alice, "frontdesk-consents"), ["Pat Doe: consent missing"]
        )

    # Clinic admin -----------------------------------------------------------------------

    def test_admin_sees_denied_access_of_the_last_day(self) -> None:
        self.login(self.tara)
        self.client.post(f"/portal/patients/{self.pat.pk}/invite/", {"email": "x@example.org"})
        self.assertEqual(
            self.titles(self.adam, "admin-denied"), ["1 denied access attempt in the last 24 hours"]
        )
        self.assert_only_for("admin-denied", {self.adam})

    def test_admin_sees_a_broken_audit_chain(self) -> None:
        audit.record(request=None, action=Action.VIEW, clinic_id=self.clinic.pk, user=self.paula)
        audit.seal()
        self.assertEqual(self.titles(self.adam, "admin-audit-chain"), [])
        cache.clear()
        AuditChainHead.objects.filter(chain=self.clinic.pk).update(seq=99)
        titles = self.titles(self.adam, "admin-audit-chain")
        self.assertEqual(len(titles), 1)
        self.assertIn("Audit trail check failed", titles[0])

    def test_admin_sees_inventory_discrepancies(self) -> None:
        lot = StockLot.objects.create(
            clinic=self.clinic,
            product="Ketamine 10 mg/mL",
            lot_number="C3",
            expiry=date(2030, 1, 1),
        )
        LedgerEntry.objects.create(
            clinic=self.clinic,
            lot=lot,
            kind="count",
            quantity_mg=440,
            balance_after_mg=440,
            discrepancy_mg=Decimal("-10"),
            recorded_by=self.nick,
        )
        self.assertEqual(
            self.titles(self.adam, "admin-inventory"),
            ["Ketamine 10 mg/mL lot C3: count off by -10.00 mg"],
        )

    def test_admin_sees_settings_changed_this_week(self) -> None:
        ClinicSetting.objects.create(
            clinic=self.clinic, key="portal_sign_in_link_minutes", value=10, changed_by=self.adam
        )
        ClinicSetting.objects.create(
            clinic=self.other_clinic,
            key="portal_reset_link_minutes",
            value=20,
            changed_by=self.oscar,
        )
        self.assertEqual(
            self.titles(self.adam, "admin-settings"),
            ["Setting changed: " + REGISTRY["portal_sign_in_link_minutes"].label],
        )

    def test_every_item_links_to_where_the_work_is_done(self) -> None:
        AppointmentRequest.objects.create(clinic=self.clinic, patient=self.pat, kind="cancel")
        item = (self.items(self.alice, "frontdesk-appointment-requests") or [])[0]
        page = self.client.get(item.url)
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, self.pat.last_name)
