"""What each registry filled at start-up holds, listed here in full, so that adding a
worklist section, a chart tab, a periodic job, a FHIR resource type or a clinic setting
shows up as a change to this file (see CONTRIBUTING.md, "Registries")."""

from __future__ import annotations

from datetime import timedelta

from django.test import SimpleTestCase

from katclinic.clinics.registry import REGISTRY as SETTINGS
from katclinic.core.periodic import JOBS
from katclinic.core.worklists import SECTIONS
from katclinic.fhir import providers  # noqa: F401 - providers fill the registry
from katclinic.fhir.registry import REGISTRY as FHIR_TYPES
from katclinic.patients.tabs import TABS

WORKLIST_SECTIONS = [
    "admin-audit-chain",
    "admin-denied",
    "admin-inventory",
    "admin-settings",
    "appointments_today",
    "athome.sessions",
    "billing.unbilled",
    "frontdesk-appointment-requests",
    "frontdesk-consents",
    "frontdesk-consultations",
    "frontdesk-reminders",
    "in_session_alerts",
    "insurance_authorizations",
    "messages_waiting",
    "my_notes_due",
    "my_visits_today",
    "nurse-counts",
    "nurse-overdue",
    "nurse-pre-dose",
    "nurse-rems",
    "nurse-sessions",
    "outcomes.missing_induction",
    "prescriber-plans",
    "prescriber-screenings",
    "prescriber-soft-stops",
    "safety-alerts",
    "surveillance.review_tasks",
    "therapist-journal",
    "therapist-notes",
    "therapist-sessions",
]

# In the order the chart shows them.
CHART_TABS = [
    "overview",
    "intake",
    "measures",
    "plan",
    "appointments",
    "sessions",
    "progress",
    "journal",
    "portal",
    "athome",
    "surveillance",
    "billing",
    "visitnotes",
    "insurance",
    "messages",
]

PERIODIC_JOBS = {
    "accounts.prune": timedelta(hours=1),
    "athome.missed_checkins": timedelta(minutes=5),
    "audit.checkpoints": timedelta(minutes=5),
    "bulk_fail_stuck_exports": timedelta(minutes=5),
    "bulk_prune_exports": timedelta(hours=1),
    "measures.escalate_alerts": timedelta(minutes=1),
    "measures.schedules": timedelta(minutes=5),
    "outcomes.refresh": timedelta(minutes=1),
    "portal.prune": timedelta(hours=1),
    "scheduling.send_due_reminders": timedelta(minutes=5),
    "surveillance.run": timedelta(hours=1),
}

# In the order the capability statement lists them.
FHIR_RESOURCE_TYPES = [
    "Patient",
    "Questionnaire",
    "MedicationAdministration",
    "Encounter",
    "Consent",
    "QuestionnaireResponse",
    "Observation",
    "Flag",
    "Appointment",
    "ChargeItem",
    "Condition",
    "AllergyIntolerance",
    "MedicationStatement",
    "Practitioner",
    "Organization",
    "Coverage",
    "Claim",
    "ExplanationOfBenefit",
    "Group",
    "MedicationRequest",
]

CLINIC_SETTINGS = [
    "athome.alert_side_effect_severity",
    "athome.checkin_grace_hours",
    "athome.checkin_valid_minutes",
    "athome.count_tolerance",
    "athome.flag_dissociation_score",
    "athome.min_hours_after_any_dose",
    "athome.pdmp_max_age_days",
    "billing.esketamine_buy_and_bill",
    "billing.propose_monitoring_hours",
    "bulk_export_file_hours",
    "bulk_export_running_minutes",
    "dosing_checkpoint_grace_minutes",
    "dosing_count_tolerance_mg",
    "dosing_discharge_moaas_min",
    "dosing_future_tolerance_minutes",
    "dosing_late_entry_minutes",
    "dosing_moaas_min",
    "dosing_pre_diastolic_max",
    "dosing_pre_heart_rate_max",
    "dosing_pre_spo2_min",
    "dosing_pre_systolic_max",
    "dosing_recheck_diastolic",
    "dosing_recheck_minutes",
    "dosing_recheck_systolic",
    "dosing_rr_max",
    "dosing_rr_min",
    "dosing_stop_diastolic",
    "dosing_stop_heart_rate",
    "dosing_stop_spo2",
    "dosing_stop_systolic",
    "insurance.authorization_expiry_days",
    "insurance.authorization_soft_stop",
    "insurance.authorization_units_low_percent",
    "insurance.billing_city",
    "insurance.billing_state",
    "insurance.billing_street",
    "insurance.billing_zip",
    "insurance.claim_folder",
    "insurance.code_change_notice_days",
    "insurance.receiver_id",
    "insurance.receiver_name",
    "insurance.submitter_id",
    "intake_baseline_diastolic_limit_mmhg",
    "intake_baseline_systolic_limit_mmhg",
    "intake_consent_requires_witness",
    "intake_requests_per_contact_per_day",
    "intake_requests_per_ip_per_hour",
    "intake_screening_required",
    "intake_trd_max_improvement_percent",
    "intake_trd_min_weeks",
    "intake_trd_required_failures",
    "measures.alert_ack_minutes",
    "measures.link_expiry_hours",
    "measures.medical_director_email",
    "measures.pre_session_hours",
    "measures.qids_item12_alert_at",
    "measures.reminder_after_hours",
    "messaging_attachment_max_mb",
    "messaging_crisis_phrases",
    "messaging_reply_time",
    "messaging_text_notifications",
    "outcomes.induction_days",
    "outcomes.induction_window_days",
    "outcomes.instrument",
    "plans_open_ended_doses",
    "plans_weight_max_age_days",
    "portal_invitation_link_hours",
    "portal_reset_link_minutes",
    "portal_sign_in_link_minutes",
    "scheduling.undo_minutes",
    "scheduling_dosing_minutes",
    "scheduling_front_desk_email",
    "scheduling_integration_minutes",
    "scheduling_online_booking_kinds",
    "scheduling_online_booking_notice_hours",
    "scheduling_online_cancel_notice_hours",
    "scheduling_online_requests",
    "scheduling_preparation_minutes",
    "scheduling_reminder_max_attempts",
    "scheduling_reminder_offsets_hours",
    "scheduling_reminder_sms",
    "scheduling_slot_minutes",
    "scheduling_visit_minutes",
    "security.second_factor_reset_hours",
    "surveillance.liver_test_reminders",
    "surveillance.review_mg_12_months",
    "surveillance.review_mg_30_days",
]


class RegistriesTest(SimpleTestCase):
    def test_the_worklist_holds_exactly_these_sections(self) -> None:
        self.assertEqual(sorted(SECTIONS), WORKLIST_SECTIONS)
        for key, section in SECTIONS.items():
            with self.subTest(key=key):
                self.assertEqual(section.key, key)
                self.assertTrue(section.roles, "a section no role sees is never shown")

    def test_the_chart_has_exactly_these_tabs_in_this_order(self) -> None:
        self.assertEqual([tab.key for tab in TABS], CHART_TABS)

    def test_the_worker_runs_exactly_these_periodic_jobs_at_these_intervals(self) -> None:
        self.assertEqual({name: job.every for name, job in JOBS.items()}, PERIODIC_JOBS)
        for name, job in JOBS.items():
            with self.subTest(name=name):
                self.assertEqual(job.name, name)
                self.assertTrue(callable(job.task.enqueue))

    def test_the_fhir_facade_serves_exactly_these_resource_types_in_this_order(self) -> None:
        self.assertEqual(list(FHIR_TYPES), FHIR_RESOURCE_TYPES)
        for name, resource_type in FHIR_TYPES.items():
            with self.subTest(name=name):
                self.assertEqual(resource_type.name, name)

    def test_clinics_can_change_exactly_these_settings(self) -> None:
        self.assertEqual(sorted(SETTINGS), CLINIC_SETTINGS)
