"""Outcome settings: which scale the dashboard reports and when induction is judged."""

from decimal import Decimal

from katclinic.clinics.registry import define_int, define_text

GROUP = "Outcomes"

INSTRUMENT = define_text(
    key="outcomes.instrument",
    label="Instrument for clinic outcome figures (response, remission, durability)",
    default="phq9",
    source="PHQ-9 is the instrument of the real-world ketamine cohorts (McInnes LA et al. 2022, "
    "https://stanfordhealthcare.org/publications/837/837264.html; Hull TD et al. 2022, "
    "https://peeref.com/works/25924086)",
    group=GROUP,
)
INDUCTION_DAYS = define_int(
    key="outcomes.induction_days",
    label="End of induction, counted from the start of the course",
    default=28,
    unit="days",
    minimum=Decimal(7),
    maximum=Decimal(120),
    source="TRANSFORM-2 judged response at day 28 (Popova V et al., Am J Psychiatry "
    "2019;176(6):428-438, https://doi.org/10.1176/appi.ajp.2019.19020172)",
    group=GROUP,
)
INDUCTION_WINDOW_DAYS = define_int(
    key="outcomes.induction_window_days",
    label="A score this many days either side of the end of induction counts as its score",
    default=7,
    unit="days",
    minimum=Decimal(0),
    maximum=Decimal(30),
    source="Clinic choice; no published figure. McInnes LA et al. 2022 accepted scores from "
    "day 14 to 31 (https://stanfordhealthcare.org/publications/837/837264.html)",
    verified=False,
    group=GROUP,
)
