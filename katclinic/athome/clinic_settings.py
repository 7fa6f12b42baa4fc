"""Clinic settings of take-home dosing. No published figure exists for any of
them, so each default is a clinic choice the medical director must confirm."""

from decimal import Decimal

from katclinic.clinics.registry import define_int

GROUP = "Take-home sessions"
CLINIC_CHOICE = "Clinic choice; no published figure"

PDMP_MAX_AGE_DAYS = define_int(
    key="athome.pdmp_max_age_days",
    label="Days a prescription-monitoring database check stays valid for a new take-home prescription",
    default=7,
    unit="days",
    source=CLINIC_CHOICE + " (state rules differ; set the clinic's legal requirement here)",
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(90),
    group=GROUP,
)
CHECKIN_VALID_MINUTES = define_int(
    key="athome.checkin_valid_minutes",
    label="Minutes a passed check-in stays valid for taking the dose",
    default=60,
    unit="minutes",
    source=CLINIC_CHOICE + " (the answers describe the moment of the check-in, not the evening)",
    verified=False,
    minimum=Decimal(5),
    maximum=Decimal(240),
    group=GROUP,
)
COUNT_TOLERANCE = define_int(
    key="athome.count_tolerance",
    label="Lozenges a count may differ from the expected number before a review task is raised",
    default=0,
    unit="lozenges",
    source=CLINIC_CHOICE + " (0: every unexplained lozenge is reviewed)",
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(20),
    group=GROUP,
)
CHECKIN_GRACE_HOURS = define_int(
    key="athome.checkin_grace_hours",
    label="Hours after a post-session check-in falls due before it counts as missed and alerts the clinic",
    default=2,
    unit="hours",
    source=CLINIC_CHOICE,
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(72),
    group=GROUP,
)
SEVERE_SIDE_EFFECT = define_int(
    key="athome.alert_side_effect_severity",
    label="Side-effect severity that alerts the clinic (1 mild, 2 moderate, 3 severe)",
    default=3,
    source=CLINIC_CHOICE
    + " (side-effect terms follow the esketamine label's common adverse reactions, "
    "SPRAVATO (esketamine) prescribing information, Janssen, rev. 2025, https://www.janssenlabels.com/package-insert/product-monographs/prescribing-information/SPRAVATO-pi.pdf)",
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(3),
    group=GROUP,
)
FLAG_DISSOCIATION = define_int(
    key="athome.flag_dissociation_score",
    label="Self-reported dissociation item score (0 to 4) that alerts the clinic",
    default=4,
    source=CLINIC_CHOICE
    + " (a short self-report, not CADSS; dissociation usually resolves within 2 h, "
    "SPRAVATO (esketamine) prescribing information, Janssen, rev. 2025, https://www.janssenlabels.com/package-insert/product-monographs/prescribing-information/SPRAVATO-pi.pdf)",
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(4),
    group=GROUP,
)
MIN_HOURS_AFTER_ANY_DOSE = define_int(
    key="athome.min_hours_after_any_dose",
    label="Hours that must pass after any dose, in clinic or at home, before an at-home session opens",
    default=48,
    unit="hours",
    source=(
        "Clinic choice modelled on the SPRAVATO (esketamine) prescribing information, Janssen, "
        "section 2.2: induction doses at most twice weekly, so about 48 h apart "
        "(https://www.janssenlabels.com/package-insert/product-monographs/prescribing-information/SPRAVATO-pi.pdf); "
        "no label sets an interval for at-home sublingual ketamine. The protocol's own minimum "
        "interval applies when it is longer."
    ),
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(336),
    group=GROUP,
)
