"""Security settings of the clinic's staff administration."""

from decimal import Decimal

from katclinic.clinics.registry import define_int

SECOND_FACTOR_RESET_HOURS = define_int(
    key="security.second_factor_reset_hours",
    label="Hours a second administrator has to confirm an authenticator reset",
    default=24,
    unit="hours",
    source=(
        "Operational default, not a clinical figure; set by the clinic. Two-person approval of "
        "authenticator recovery follows NIST SP 800-63B (2017), section 6.1.2.3, "
        "https://pages.nist.gov/800-63-3/sp800-63b.html."
    ),
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(168),
    group="Security: staff accounts",
    area="security",
)
