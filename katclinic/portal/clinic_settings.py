"""Portal settings: how long emailed links stay valid. Security policy, not clinical values."""

from decimal import Decimal

from katclinic.clinics.registry import define_int

PORTAL = "Portal: sign-in and accounts"
POLICY = (
    "Clinic security policy: sign-in links expire after 15 minutes. OWASP Application Security "
    "Verification Standard 5.0 (2025), section 6.4, asks that emailed secrets be short-lived "
    "and single use (https://owasp.org/www-project-application-security-verification-standard/)."
)

SIGN_IN_LINK_MINUTES = define_int(
    key="portal_sign_in_link_minutes",
    label="Minutes an emailed sign-in link stays valid",
    default=15,
    unit="minutes",
    source=POLICY,
    minimum=Decimal(5),
    maximum=Decimal(60),
    group=PORTAL,
)
INVITATION_LINK_HOURS = define_int(
    key="portal_invitation_link_hours",
    label="Hours an account invitation link stays valid",
    default=72,
    unit="hours",
    source=POLICY,
    minimum=Decimal(1),
    maximum=Decimal(168),
    group=PORTAL,
)
RESET_LINK_MINUTES = define_int(
    key="portal_reset_link_minutes",
    label="Minutes a password-reset link stays valid",
    default=60,
    unit="minutes",
    source=POLICY,
    minimum=Decimal(10),
    maximum=Decimal(1440),
    group=PORTAL,
)
