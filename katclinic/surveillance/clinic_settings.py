"""Surveillance settings: when cumulative exposure needs a prescriber's review, and
whether the clinic wants liver-test reminders."""

from decimal import Decimal

from katclinic.clinics.registry import define

GROUP = "Long-term surveillance"

# The clinical reference has no cumulative-dose limit: it names the risks of repeated
# ketamine (abuse, Schedule III; cognitive impairment: clinical.md section 3) without a
# figure. These are placeholders for the medical director to set.
_NO_PUBLISHED_LIMIT = (
    "Clinic default: no published cumulative ketamine limit in the clinical reference, which "
    "names abuse and cognitive risks of repeated use without a dose figure (clinical.md "
    "section 3). The medical director must set this."
)

define(
    key="surveillance.review_mg_30_days",
    label="Review when ketamine given in any 30 days (all routes) is above",
    kind="decimal",
    default="2000",
    unit="mg",
    minimum=Decimal(1),
    maximum=Decimal(100000),
    source=_NO_PUBLISHED_LIMIT,
    verified=False,
    group=GROUP,
)
define(
    key="surveillance.review_mg_12_months",
    label="Review when ketamine given in any 12 months (all routes) is above",
    kind="decimal",
    default="12000",
    unit="mg",
    minimum=Decimal(1),
    maximum=Decimal(1000000),
    source=_NO_PUBLISHED_LIMIT,
    verified=False,
    group=GROUP,
)
define(
    key="surveillance.liver_test_reminders",
    label="Raise a review task when liver tests are due under the patient's protocol",
    kind="bool",
    default=False,
    source=(
        "Clinic policy. Severe liver disease excludes racemic ketamine (clinical.md section 3) "
        "and Child-Pugh C is not recommended (section 1); no test interval is published there."
    ),
    verified=False,
    group=GROUP,
)
