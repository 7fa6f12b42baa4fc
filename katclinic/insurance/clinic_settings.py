"""Clinic settings of insurance, prior authorizations and claims.

No published figure sets how early to warn about an expiring authorization or how few units
left is "low": those defaults are the clinic's choice. The clearinghouse identities come from
the clinic's enrolment with its clearinghouse and are operational, not clinical.
"""

from decimal import Decimal

from katclinic.clinics.registry import define_bool, define_int, define_text

GROUP = "Insurance and claims"
CLINIC_CHOICE = "Clinic choice; no published figure"
OPERATIONAL = "Operational: from the clinic's clearinghouse enrolment, not a clinical threshold"

EXPIRY_DAYS = define_int(
    key="insurance.authorization_expiry_days",
    label="Days before a prior authorization ends that it appears on the Today page",
    default=14,
    unit="days",
    source=CLINIC_CHOICE + " (time to request a renewal; payers take days to weeks to answer)",
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(120),
    group=GROUP,
)
UNITS_LOW_PERCENT = define_int(
    key="insurance.authorization_units_low_percent",
    label="Share of approved units left at or below which a prior authorization counts as running low",
    default=20,
    unit="%",
    source=CLINIC_CHOICE,
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(100),
    group=GROUP,
)
CODE_CHANGE_DAYS = define_int(
    key="insurance.code_change_notice_days",
    label="Days before a billing code is replaced that authorizations naming the old code appear on the Today page",
    default=60,
    unit="days",
    source=CLINIC_CHOICE + " (time to ask the payer for an authorization under the new code)",
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(365),
    group=GROUP,
)
SOFT_STOP = define_bool(
    key="insurance.authorization_soft_stop",
    label="Stop before dosing (prescriber may override) when an insured esketamine session has no valid prior authorization",
    default=True,
    source=CLINIC_CHOICE
    + " (most payers require a prior authorization for esketamine nasal spray; policies differ by payer)",
    verified=False,
    group=GROUP,
)
SUBMITTER_ID = define_text(
    key="insurance.submitter_id",
    label="Submitter id at the clearinghouse",
    default="",
    source=OPERATIONAL,
    group=GROUP,
)
RECEIVER_ID = define_text(
    key="insurance.receiver_id",
    label="Clearinghouse receiver id",
    default="",
    source=OPERATIONAL,
    group=GROUP,
)
RECEIVER_NAME = define_text(
    key="insurance.receiver_name",
    label="Clearinghouse name",
    default="",
    source=OPERATIONAL,
    group=GROUP,
)
BILLING_STREET = define_text(
    key="insurance.billing_street",
    label="Billing address: street (as enrolled with payers)",
    default="",
    source=OPERATIONAL,
    group=GROUP,
)
BILLING_CITY = define_text(
    key="insurance.billing_city",
    label="Billing address: city",
    default="",
    source=OPERATIONAL,
    group=GROUP,
)
BILLING_STATE = define_text(
    key="insurance.billing_state",
    label="Billing address: state (two letters)",
    default="",
    source=OPERATIONAL,
    group=GROUP,
)
BILLING_ZIP = define_text(
    key="insurance.billing_zip",
    label="Billing address: ZIP+4 (nine digits)",
    default="",
    source=OPERATIONAL,
    group=GROUP,
)
CLAIM_FOLDER = define_text(
    key="insurance.claim_folder",
    label="Folder in the clinic's data directory where claim files are left for the clearinghouse",
    default="claims-outbox",
    source="Operational: where the clearinghouse's file transfer collects claim files",
    group=GROUP,
)
