"""Outcome settings: which scale the dashboard reports and when induction is judged."""

from decimal import Decimal

from katclinic.clinics.registry import define

GROUP = "Outcomes"

define(
    key="outcomes.instrument",
    label="Instrument for clinic outcome figures (response, remission, durability)",
    kind="text",
    default="phq9",
    source="PHQ-9 is the instrument of the real-world KAT cohorts (McInnes 2022, Hull 2022; clinical.md §6)",
    group=GROUP,
)
define(
    key="outcomes.induction_days",
    label="End of induction, counted from the start of the course",
    kind="int",
    default=28,
    unit="days",
    minimum=Decimal(7),
    maximum=Decimal(120),
    source="TRANSFORM-1/-2 judged response at day 28 (clinical.md §6)",
    group=GROUP,
)
define(
    key="outcomes.induction_window_days",
    label="A score this many days either side of the end of induction counts as its score",
    kind="int",
    default=7,
    unit="days",
    minimum=Decimal(0),
    maximum=Decimal(30),
    source="Clinic's choice; McInnes 2022 accepted scores from day 14 to 31 (clinical.md §6)",
    verified=False,
    group=GROUP,
)
