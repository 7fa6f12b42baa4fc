"""Surveillance settings: when cumulative exposure needs a prescriber's review, and
whether the clinic wants liver-test reminders."""

from decimal import Decimal

from katclinic.clinics.registry import define_bool, define_decimal

GROUP = "Long-term surveillance"

# No published cumulative-dose limit exists: the esketamine label names the risks of
# repeated use (abuse, Schedule III; cognitive impairment) without a dose figure. These
# are placeholders for the medical director to set.
_NO_PUBLISHED_LIMIT = (
    "Clinic choice; no published figure. The esketamine label names abuse and cognitive "
    "impairment among the risks of repeated use without a dose limit (SPRAVATO (esketamine) prescribing information, Janssen, rev. 2025, "
    "https://www.janssenlabels.com/package-insert/product-monographs/prescribing-information/SPRAVATO-pi.pdf). The medical director must set this."
)

REVIEW_MG_30_DAYS = define_decimal(
    key="surveillance.review_mg_30_days",
    label="Review when ketamine given in any 30 days (all routes) is above",
    default=Decimal("2000"),
    unit="mg",
    minimum=Decimal(1),
    maximum=Decimal(100000),
    source=_NO_PUBLISHED_LIMIT,
    verified=False,
    group=GROUP,
)
REVIEW_MG_12_MONTHS = define_decimal(
    key="surveillance.review_mg_12_months",
    label="Review when ketamine given in any 12 months (all routes) is above",
    default=Decimal("12000"),
    unit="mg",
    minimum=Decimal(1),
    maximum=Decimal(1000000),
    source=_NO_PUBLISHED_LIMIT,
    verified=False,
    group=GROUP,
)
LIVER_TEST_REMINDERS = define_bool(
    key="surveillance.liver_test_reminders",
    label="Raise a review task when liver tests are due under the patient's protocol",
    default=False,
    source=(
        "Clinic choice; no published test interval. Severe liver disease is a usual exclusion for "
        "racemic ketamine, and the esketamine label does not recommend use in Child-Pugh C "
        "hepatic impairment (SPRAVATO (esketamine) prescribing information, Janssen, rev. 2025, https://www.janssenlabels.com/package-insert/product-monographs/prescribing-information/SPRAVATO-pi.pdf)."
    ),
    verified=False,
    group=GROUP,
)
