"""Dosing settings: pre-dose limits, in-session thresholds and checkpoint timing.

Defaults mirror `gate.DEFAULT_PRE_DOSE_LIMITS` and `monitoring.DEFAULT_THRESHOLDS`, with the
same sources; the BP and HR figures are marked unverified, as their source does not confirm them.
"""

from decimal import Decimal

from katclinic.clinics.registry import define_decimal, define_int

PRE = "Dosing: pre-dose limits"
DURING = "Dosing: in-session thresholds"
LEDGER = "Dosing: controlled-substance ledger"
SANACORA = (
    "Suggested default attributed to the APA consensus (Sanacora G et al., JAMA Psychiatry 2017;74(4):399-405, "
    "https://doi.org/10.1001/jamapsychiatry.2016.4513); the figure is not confirmed in the paper. "
    "Confirm with the medical director."
)
NO_FIGURE = (
    "Clinic choice; no published figure. The esketamine label asks for this to be monitored "
    "without a limit (SPRAVATO (esketamine) prescribing information, Janssen, rev. 2025, https://www.janssenlabels.com/package-insert/product-monographs/prescribing-information/SPRAVATO-pi.pdf)."
)
RECHECK = "Clinic choice below the stop limit; no published figure; set by the medical director."


PRE_SYSTOLIC_MAX = define_int(
    key="dosing_pre_systolic_max",
    label="Highest systolic BP to start dosing",
    default=140,
    source=SANACORA + " The Spravato label asks to weigh risk above 140/90.",
    verified=False,
    group=PRE,
    unit="mmHg",
    minimum=Decimal(60),
    maximum=Decimal(250),
)
PRE_DIASTOLIC_MAX = define_int(
    key="dosing_pre_diastolic_max",
    label="Highest diastolic BP to start dosing",
    default=90,
    source=SANACORA,
    verified=False,
    group=PRE,
    unit="mmHg",
    minimum=Decimal(60),
    maximum=Decimal(250),
)
PRE_HEART_RATE_MAX = define_int(
    key="dosing_pre_heart_rate_max",
    label="Highest heart rate to start dosing",
    default=110,
    unit="bpm",
    source=SANACORA,
    verified=False,
    minimum=Decimal(40),
    maximum=Decimal(200),
    group=PRE,
)
PRE_SPO2_MIN = define_int(
    key="dosing_pre_spo2_min",
    label="Lowest SpO2 to start dosing",
    default=92,
    unit="%",
    source=NO_FIGURE,
    verified=False,
    minimum=Decimal(80),
    maximum=Decimal(100),
    group=PRE,
)

RECHECK_SYSTOLIC = define_int(
    key="dosing_recheck_systolic",
    label="Recheck when systolic BP is above",
    default=160,
    source=RECHECK,
    verified=False,
    group=DURING,
    unit="mmHg",
    minimum=Decimal(60),
    maximum=Decimal(250),
)
RECHECK_DIASTOLIC = define_int(
    key="dosing_recheck_diastolic",
    label="Recheck when diastolic BP is above",
    default=100,
    source=RECHECK,
    verified=False,
    group=DURING,
    unit="mmHg",
    minimum=Decimal(60),
    maximum=Decimal(250),
)
STOP_SYSTOLIC = define_int(
    key="dosing_stop_systolic",
    label="Stop dosing when systolic BP is above",
    default=180,
    source=SANACORA,
    verified=False,
    group=DURING,
    unit="mmHg",
    minimum=Decimal(60),
    maximum=Decimal(250),
)
STOP_DIASTOLIC = define_int(
    key="dosing_stop_diastolic",
    label="Stop dosing when diastolic BP is above",
    default=100,
    source=SANACORA,
    verified=False,
    group=DURING,
    unit="mmHg",
    minimum=Decimal(60),
    maximum=Decimal(250),
)
STOP_HEART_RATE = define_int(
    key="dosing_stop_heart_rate",
    label="Stop dosing when heart rate is above",
    default=110,
    unit="bpm",
    source=SANACORA,
    verified=False,
    minimum=Decimal(40),
    maximum=Decimal(220),
    group=DURING,
)
STOP_SPO2 = define_int(
    key="dosing_stop_spo2",
    label="Stop dosing when SpO2 is below",
    default=92,
    unit="%",
    source=NO_FIGURE,
    verified=False,
    minimum=Decimal(70),
    maximum=Decimal(100),
    group=DURING,
)
RR_MIN = define_int(
    key="dosing_rr_min",
    label="Notify the prescriber when respiratory rate is below",
    default=8,
    unit="/min",
    source=NO_FIGURE,
    verified=False,
    minimum=Decimal(4),
    maximum=Decimal(20),
    group=DURING,
)
RR_MAX = define_int(
    key="dosing_rr_max",
    label="Notify the prescriber when respiratory rate is above",
    default=24,
    unit="/min",
    source=NO_FIGURE,
    verified=False,
    minimum=Decimal(12),
    maximum=Decimal(60),
    group=DURING,
)
MOAAS_MIN = define_int(
    key="dosing_moaas_min",
    label="Notify the prescriber when MOAA/S is below",
    default=3,
    source="MOAA/S 0-5 scale (BMC Anesthesiol 2022, https://doi.org/10.1186/s12871-022-01788-1); "
    "the trigger level is clinic choice; no published figure.",
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(5),
    group=DURING,
)
RECHECK_MINUTES = define_int(
    key="dosing_recheck_minutes",
    label="Recheck an out-of-range reading after",
    default=5,
    unit="min",
    source=NO_FIGURE,
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(30),
    group=DURING,
)
CHECKPOINT_GRACE_MINUTES = define_int(
    key="dosing_checkpoint_grace_minutes",
    label="A checkpoint is overdue this long after it falls due",
    default=5,
    unit="min",
    source=NO_FIGURE,
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(30),
    group=DURING,
)
COUNT_TOLERANCE_MG = define_decimal(
    key="dosing_count_tolerance_mg",
    label="Physical count may differ from the ledger by at most",
    default=Decimal("0"),
    unit="mg",
    source="Controlled-substance records must balance exactly; any tolerance is clinic policy.",
    verified=False,
    minimum=Decimal(0),
    maximum=Decimal(10),
    group=LEDGER,
)
FUTURE_TOLERANCE_MINUTES = define_int(
    key="dosing_future_tolerance_minutes",
    label="A dose's start time may be ahead of the server clock by at most",
    default=5,
    unit="minutes",
    source=(
        "Not a clinical threshold: room for a device clock a few minutes fast. A dose cannot be "
        "given in the future, so anything later is refused."
    ),
    verified=True,
    minimum=Decimal(0),
    maximum=Decimal(30),
    group=LEDGER,
)
LATE_ENTRY_MINUTES = define_int(
    key="dosing_late_entry_minutes",
    label="A dose entered later than this after it was given needs a reason",
    default=60,
    unit="minutes",
    source=(
        "Not a clinical threshold: record-keeping policy set by the clinic. A late entry is "
        "allowed with a reason and is shown as late, with who entered it and when."
    ),
    verified=False,
    minimum=Decimal(5),
    maximum=Decimal(24 * 60),
    group=LEDGER,
)
DISCHARGE_MOAAS_MIN = define_int(
    key="dosing_discharge_moaas_min",
    label="Lowest MOAA/S score at which a patient may leave",
    default=5,
    unit="points",
    source=(
        "MOAA/S 5 is 'responds readily to name spoken in normal tone' (Chernik DA et al., "
        "J Clin Psychopharmacol 1990;10(4):244-251, https://doi.org/10.1097/00004714-199008000-00003); "
        "the SPRAVATO REMS asks that patients stay until they are clinically stable and "
        "sedation has resolved, which the default reads as a return to 5."
    ),
    verified=False,
    minimum=Decimal(1),
    maximum=Decimal(5),
    group=DURING,
)
