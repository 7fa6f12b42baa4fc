"""Who may do what: the one permission table of KAT Clinic.

Staff hold roles per clinic; a permission is granted when any of the user's roles at
the active clinic appears in its row. Patients never hold staff permissions: their
access is to their own record only, decided in `katclinic.clinics.access`.
The README reproduces this table; a test keeps the two in step.
"""

from __future__ import annotations

import enum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Clinic admin"
    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse"
    THERAPIST = "therapist", "Therapist"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"


A, P, N, T, F = Role.ADMIN, Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.FRONT_DESK
B = Role.BILLING
CLINICAL = frozenset({P, N, T})
EVERYONE = frozenset({A, P, N, T, F, B})


class Perm(enum.Enum):
    """Each member names one thing a person does; the value is its human description."""

    VIEW_PATIENT_LIST = "See the patient list and search it"
    VIEW_DEMOGRAPHICS = "See a patient's demographics and contact details"
    EDIT_DEMOGRAPHICS = "Register patients and edit demographics and contacts"
    VIEW_CLINICAL = "See the clinical chart (history, medications, scores, sessions)"
    EDIT_CLINICAL = "Record weights, allergies, medications and diagnoses"
    MANAGE_REQUESTS = "Triage consultation requests and convert them to patients"
    SCREEN = "Complete screenings and sign eligibility decisions"
    MANAGE_CONSENT = "Witness consent signatures and follow up missing consent"
    PUBLISH_CONSENT = "Write and publish consent documents"
    SIGN_PLAN = "Create, amend and sign treatment plans and doses"
    PRESCRIBE_TAKE_HOME = "Write take-home prescriptions after checking the monitoring database"
    REVIEW_SURVEILLANCE = "Close review tasks and decide to continue, taper or stop treatment"
    SCHEDULE = "Book, move and cancel appointments"
    RUN_SESSION = "Run dosing sessions: checks, vitals, administration, discharge"
    OVERRIDE_SOFT_STOP = "Override a soft stop of the pre-dose gate with a reason"
    WRITE_SUPPORT_NOTE = "Write and sign preparation, session and integration notes"
    WRITE_VISIT_NOTE = (
        "Write, sign and add to consultation, preparation, integration and psychotherapy notes"
    )
    WRITE_FOLLOW_UP_NOTE = "Write, sign and add to follow-up visit notes"
    ENTER_MEASURES = "Enter clinician-rated instruments and send questionnaires"
    HANDLE_ALERTS = "Acknowledge and close safety alerts"
    KEEP_LEDGER = "Record controlled-substance receipts, draws, waste and counts"
    VIEW_OUTCOMES = "See clinic outcome dashboards and reports"
    EXPORT_DATA = "Export reports, CSV and de-identified research data"
    VIEW_AUDIT = "Read the audit trail"
    MANAGE_CLINIC = "Change clinic settings, staff and protocols"
    ISSUE_BOARD_DISPLAY = "Issue and revoke treatment-floor display links"
    VIEW_BILLING = "See charges, invoices, payments and patient balances"
    TAKE_PAYMENT = "Take payments and deposits and send payment links"
    POST_CHARGES = "Review, adjust, post and reverse charges"
    REFUND_PAYMENT = "Refund payments"
    MANAGE_FEES = "Set the clinic's fee schedules"
    VIEW_BILLING_REPORTS = "See and export billing reports"
    MANAGE_COVERAGE = "Record insurance coverage, eligibility checks and prior authorizations"
    MANAGE_CLAIMS = "Build, send and follow insurance claims and post remittances"
    HANDLE_MESSAGES = "Read and answer patients' secure messages, assign and hide them"


PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.VIEW_PATIENT_LIST: EVERYONE,
    Perm.VIEW_DEMOGRAPHICS: EVERYONE,
    Perm.EDIT_DEMOGRAPHICS: frozenset({A, P, N, F}),
    Perm.VIEW_CLINICAL: CLINICAL,
    Perm.EDIT_CLINICAL: frozenset({P, N}),
    Perm.MANAGE_REQUESTS: frozenset({A, F, P}),
    Perm.SCREEN: frozenset({P}),
    Perm.MANAGE_CONSENT: frozenset({P, N, F}),
    # The consent text is the clinic's governance: its administrator or a prescriber
    # (medical director) publishes it; those who take signatures use it.
    Perm.PUBLISH_CONSENT: frozenset({A, P}),
    Perm.SIGN_PLAN: frozenset({P}),
    Perm.PRESCRIBE_TAKE_HOME: frozenset({P}),
    Perm.REVIEW_SURVEILLANCE: frozenset({P}),
    Perm.SCHEDULE: frozenset({F, N, P, A}),
    Perm.RUN_SESSION: frozenset({N, P}),
    Perm.OVERRIDE_SOFT_STOP: frozenset({P}),
    Perm.WRITE_SUPPORT_NOTE: frozenset({T, P}),
    Perm.WRITE_VISIT_NOTE: frozenset({T, P}),
    Perm.WRITE_FOLLOW_UP_NOTE: frozenset({T, P, N}),
    Perm.ENTER_MEASURES: CLINICAL,
    Perm.HANDLE_ALERTS: frozenset({P, N, T}),
    Perm.KEEP_LEDGER: frozenset({N, P}),
    Perm.VIEW_OUTCOMES: frozenset({A, P}),
    Perm.EXPORT_DATA: frozenset({A, P}),
    Perm.VIEW_AUDIT: frozenset({A}),
    Perm.MANAGE_CLINIC: frozenset({A}),
    Perm.ISSUE_BOARD_DISPLAY: frozenset({A, N}),
    Perm.VIEW_BILLING: frozenset({A, F, B}),
    Perm.TAKE_PAYMENT: frozenset({A, F, B}),
    Perm.POST_CHARGES: frozenset({A, B}),
    Perm.REFUND_PAYMENT: frozenset({A, B}),
    Perm.MANAGE_FEES: frozenset({A, B}),
    Perm.VIEW_BILLING_REPORTS: frozenset({A, B}),
    Perm.MANAGE_COVERAGE: frozenset({A, F, B}),
    Perm.MANAGE_CLAIMS: frozenset({A, B}),
    # Messages carry clinical content: the roles that may read the clinical chart.
    Perm.HANDLE_MESSAGES: CLINICAL,
}


def roles_allow(roles: frozenset[str], perm: Perm) -> bool:
    return bool(roles & PERMISSIONS[perm])


def permission_table_markdown() -> str:
    """The table as Markdown, for the README."""
    order = [A, P, N, T, F, B]
    head = "| What | " + " | ".join(r.label for r in order) + " |"
    rule = "|---|" + "---|" * len(order)
    rows = [
        f"| {perm.value} | "
        + " | ".join("yes" if r in PERMISSIONS[perm] else "" for r in order)
        + " |"
        for perm in Perm
    ]
    return "\n".join([head, rule, *rows])
