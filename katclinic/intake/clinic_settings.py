"""Intake settings: screening thresholds, the TRD rule, consent witnessing, form limits."""

from decimal import Decimal

from katclinic.clinics.registry import define_bool, define_int
from katclinic.intake import eligibility

SCREENING = "Intake: suitability screening"
CONSENT = "Intake: consent"
PUBLIC_FORM = "Intake: public consultation form"

BP_SOURCE = (
    "Spravato label: weigh the risk when baseline BP is above 140/90 "
    "(https://www.rxreasoner.com/indications/I-339763). For racemic ketamine, 140/90 is a "
    "suggested default only: it is attributed to the APA consensus (Sanacora G et al., JAMA Psychiatry 2017;74(4):399-405, "
    "https://doi.org/10.1001/jamapsychiatry.2016.4513) but not confirmed in the paper."
)

BASELINE_SYSTOLIC_LIMIT_MMHG = define_int(
    key="intake_baseline_systolic_limit_mmhg",
    label="Baseline systolic BP above which a screening needs review",
    default=140,
    unit="mmHg",
    source=BP_SOURCE,
    verified=False,
    minimum=Decimal(90),
    maximum=Decimal(220),
    group=SCREENING,
)
BASELINE_DIASTOLIC_LIMIT_MMHG = define_int(
    key="intake_baseline_diastolic_limit_mmhg",
    label="Baseline diastolic BP above which a screening needs review",
    default=90,
    unit="mmHg",
    source=BP_SOURCE,
    verified=False,
    minimum=Decimal(50),
    maximum=Decimal(140),
    group=SCREENING,
)
TRD_REQUIRED_FAILURES = define_int(
    key="intake_trd_required_failures",
    label="Failed adequate antidepressant trials needed for TRD",
    default=eligibility.TRD_REQUIRED_FAILURES,
    unit="trials",
    source=f"{eligibility.TRD_PHASE3_SOURCE.label} ({eligibility.TRD_PHASE3_SOURCE.url})",
    minimum=Decimal(1),
    maximum=Decimal(5),
    group=SCREENING,
)
TRD_MIN_WEEKS = define_int(
    key="intake_trd_min_weeks",
    label="Weeks at an adequate dose for a trial to count",
    default=eligibility.TRD_MIN_WEEKS,
    unit="weeks",
    source=f"{eligibility.TRD_PHASE3_SOURCE.label} ({eligibility.TRD_PHASE3_SOURCE.url})",
    minimum=Decimal(2),
    maximum=Decimal(16),
    group=SCREENING,
)
TRD_MAX_IMPROVEMENT_PERCENT = define_int(
    key="intake_trd_max_improvement_percent",
    label="A trial counts as failed below this improvement",
    default=eligibility.TRD_MAX_IMPROVEMENT_PERCENT,
    unit="%",
    source=f"{eligibility.TRD_STAGING_SOURCE.label} ({eligibility.TRD_STAGING_SOURCE.url})",
    minimum=Decimal(0),
    maximum=Decimal(50),
    group=SCREENING,
)
CONSENT_REQUIRES_WITNESS = define_bool(
    key="intake_consent_requires_witness",
    label="Consent must be signed with a staff witness present",
    default=False,
    source="Clinic policy: no clinical source sets this.",
    group=CONSENT,
)
REQUESTS_PER_IP_PER_HOUR = define_int(
    key="intake_requests_per_ip_per_hour",
    label="Consultation requests accepted per network address per hour",
    default=10,
    unit="requests",
    source="Operational limit against abuse, not a clinical figure; "
    "a shared waiting-room network sends several honest requests.",
    minimum=Decimal(1),
    maximum=Decimal(1000),
    group=PUBLIC_FORM,
)
REQUESTS_PER_CONTACT_PER_DAY = define_int(
    key="intake_requests_per_contact_per_day",
    label="Consultation requests accepted per email or phone per day",
    default=3,
    unit="requests",
    source="Operational limit against abuse, not a clinical figure.",
    minimum=Decimal(1),
    maximum=Decimal(100),
    group=PUBLIC_FORM,
)

# The rules file names its thresholds generically; these are the clinic settings behind them.
RULE_SETTINGS = {
    "predose_systolic_limit_mmhg": BASELINE_SYSTOLIC_LIMIT_MMHG,
    "predose_diastolic_limit_mmhg": BASELINE_DIASTOLIC_LIMIT_MMHG,
}
SCREENING_REQUIRED = define_bool(
    key="intake_screening_required",
    label="A signed suitability screening is needed before a plan or a dose",
    default=True,
    source=(
        "Pre-treatment assessment of every patient before ketamine or esketamine: McIntyre RS "
        "et al., Synthesizing the evidence for ketamine and esketamine in treatment-resistant "
        "depression, Am J Psychiatry 2021;178:383-399 "
        "(https://doi.org/10.1176/appi.ajp.2020.20081251); Spravato prescribing information, "
        "FDA 2019, contraindications and assessment before use "
        "(https://www.accessdata.fda.gov/drugsatfda_docs/label/2019/211243lbl.pdf)."
    ),
    verified=False,
    group=SCREENING,
)
