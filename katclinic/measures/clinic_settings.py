"""Clinic settings of measurement-based care and the safety loop."""

from decimal import Decimal

from katclinic.clinics.registry import define_int, define_text

GROUP = "Measures and safety alerts"
CLINIC_CHOICE = "Clinic choice; no published figure"

ALERT_ACK_MINUTES = define_int(
    key="measures.alert_ack_minutes",
    label="Minutes to acknowledge a safety alert during opening hours before it escalates",
    default=30,
    unit="minutes",
    source=CLINIC_CHOICE + " (30 minutes is a starting point, not a standard)",
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(1440),
    group=GROUP,
)
MEDICAL_DIRECTOR_EMAIL = define_text(
    key="measures.medical_director_email",
    label="Email of the medical director who receives escalated safety alerts",
    default="",
    source="Clinic choice; when empty, staff holding both the admin and prescriber roles",
    group=GROUP,
)
LINK_EXPIRY_HOURS = define_int(
    key="measures.link_expiry_hours",
    label="Hours a questionnaire link stays usable",
    default=72,
    unit="hours",
    source=CLINIC_CHOICE,
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(720),
    group=GROUP,
)
REMINDER_AFTER_HOURS = define_int(
    key="measures.reminder_after_hours",
    label="Hours after sending a questionnaire to send one reminder",
    default=24,
    unit="hours",
    source=CLINIC_CHOICE,
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(720),
    group=GROUP,
)
PRE_SESSION_HOURS = define_int(
    key="measures.pre_session_hours",
    label="Hours before a dosing session to send the pre-session questionnaire",
    default=24,
    unit="hours",
    source="Clinic choice; no published figure. Some ketamine clinics send the PHQ-9 24 h before "
    "and 24 h and 7 days after each session.",
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(168),
    group=GROUP,
)
QIDS_ITEM12_ALERT_AT = define_int(
    key="measures.qids_item12_alert_at",
    label=(
        "QIDS-SR16 item 12 (thoughts of death or suicide): lowest answer that raises a safety alert"
    ),
    default=1,
    unit="answer (0 to 3)",
    source=(
        "Rush AJ et al. The 16-Item Quick Inventory of Depressive Symptomatology (QIDS), "
        "clinician rating (QIDS-C), and self-report (QIDS-SR). Biol Psychiatry 2003;54:573-583, "
        "https://doi.org/10.1016/S0006-3223(02)01866-8: item 12 rates thoughts of death or "
        "suicide from 0 (none) to 3; any answer above none is a concern"
    ),
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(3),
    group=GROUP,
)
