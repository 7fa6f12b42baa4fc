"""Plan settings: how old a weight may be, and how far ahead open-ended phases are planned."""

from decimal import Decimal

from katclinic.clinics.registry import define_int

PLANS = "Protocols: treatment plans"
NO_FIGURE = (
    "Clinic choice; no published figure. A weight-based dose needs a recorded weight and its "
    "date; how old that weight may be is for the medical director to set."
)

WEIGHT_MAX_AGE_DAYS = define_int(
    key="plans_weight_max_age_days",
    label="A weight older than this is flagged as stale when dosing by mg/kg",
    default=30,
    unit="days",
    source=NO_FIGURE,
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(365),
    group=PLANS,
)
OPEN_ENDED_DOSES = define_int(
    key="plans_open_ended_doses",
    label="Doses to plan ahead in an open-ended phase (maintenance)",
    default=4,
    unit="doses",
    source="Maintenance has no standard schedule and is individualised (Andrade C, J Clin "
    "Psychiatry 2017, https://www.psychiatrist.com/jcp/ketamine-for-depression-dosing-administration-and-duration); "
    "the planning horizon is clinic choice; no published figure.",
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(26),
    group=PLANS,
)
