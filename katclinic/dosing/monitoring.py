"""Post-dose monitoring: checkpoint schedule, threshold alerts, discharge.

Pure functions over plain values. Thresholds come from the caller (the
clinic's settings); ``DEFAULT_THRESHOLDS`` is only the shipped starting point
and says where each number comes from and whether it was verified.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

AlertLevel = Literal["recheck", "notify_prescriber", "stop"]
CheckpointState = Literal["done", "due", "overdue", "upcoming"]
Direction = Literal["above", "below"]

CLINIC_SETTING = "clinic choice; no published figure"

# Spravato REMS: observe for at least 2 hours after dosing (SPRAVATO REMS, FDA,
# https://www.accessdata.fda.gov/scripts/cder/rems/index.cfm?event=IndvRemsDetails.page&REMS=386).
# The REMS counts from the first nasal device.
ESKETAMINE_MIN_OBSERVATION_MINUTES = 120

# MOAA/S 5 is the scale's "responds readily to name in a normal tone" anchor
# (MOAA/S table, BMC Anesthesiol 2022, https://doi.org/10.1186/s12871-022-01788-1); the
# REMS asks that sedation has resolved before the patient leaves, which we read as a
# return to 5.
MOAAS_FULLY_ALERT = 5

_SEVERITY: dict[AlertLevel, int] = {"recheck": 1, "notify_prescriber": 2, "stop": 3}

_MEASURE_LABELS: dict[str, str] = {
    "systolic": "systolic blood pressure",
    "diastolic": "diastolic blood pressure",
    "heart_rate": "heart rate",
    "spo2": "oxygen saturation",
    "respiratory_rate": "respiratory rate",
    "moaas": "sedation (MOAA/S)",
}


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime.")


# --- Checkpoint schedule -------------------------------------------------


@dataclass(frozen=True)
class CheckpointSpec:
    """A planned observation, optionally repeated every N minutes until M."""

    label: str
    minutes_after_start: int
    measures: tuple[str, ...]
    repeat_every_minutes: int | None = None
    repeat_until_minutes: int | None = None

    def __post_init__(self) -> None:
        if self.minutes_after_start < 0:
            raise ValueError(f"{self.label}: minutes_after_start cannot be negative.")
        every, until = self.repeat_every_minutes, self.repeat_until_minutes
        if (every is None) != (until is None):
            raise ValueError(f"{self.label}: give both repeat_every and repeat_until, or neither.")
        if every is not None and every <= 0:
            raise ValueError(f"{self.label}: repeat_every_minutes must be positive.")
        if until is not None and until < self.minutes_after_start:
            raise ValueError(f"{self.label}: repeat_until_minutes is before the first checkpoint.")

    def offsets(self) -> list[int]:
        """Minutes after dose start at which this checkpoint falls due."""
        if self.repeat_every_minutes is None or self.repeat_until_minutes is None:
            return [self.minutes_after_start]
        stop = self.repeat_until_minutes + 1
        return list(range(self.minutes_after_start, stop, self.repeat_every_minutes))


@dataclass(frozen=True)
class CheckpointStatus:
    label: str
    minutes_after_start: int
    measures: tuple[str, ...]
    due_at: datetime
    status: CheckpointState
    recorded_at: datetime | None = None


def _status(due_at: datetime, now: datetime, grace: timedelta) -> CheckpointState:
    if now < due_at:
        return "upcoming"
    return "due" if now <= due_at + grace else "overdue"


def _spec_statuses(
    spec: CheckpointSpec,
    dose_start: datetime,
    times: Sequence[datetime],
    now: datetime,
    grace: timedelta,
) -> list[CheckpointStatus]:
    """Match recordings to occurrences by time window.

    An occurrence accepts a recording from ``grace`` before it falls due until
    ``grace`` before the next occurrence, so each reading counts once.
    """
    due_times = [dose_start + timedelta(minutes=m) for m in spec.offsets()]
    statuses = []
    for index, due_at in enumerate(due_times):
        opens = due_at - grace
        closes = due_times[index + 1] - grace if index + 1 < len(due_times) else None
        match = next((t for t in times if t >= opens and (closes is None or t < closes)), None)
        state = "done" if match is not None else _status(due_at, now, grace)
        statuses.append(
            CheckpointStatus(
                label=spec.label,
                minutes_after_start=int((due_at - dose_start).total_seconds() // 60),
                measures=spec.measures,
                due_at=due_at,
                status=state,
                recorded_at=match,
            )
        )
    return statuses


def due_checkpoints(
    specs: Iterable[CheckpointSpec],
    dose_start: datetime,
    recorded: Iterable[tuple[str, datetime]],
    now: datetime,
    *,
    grace_minutes: int,
) -> list[CheckpointStatus]:
    """Every scheduled checkpoint with its due time and state, earliest first.

    ``recorded`` holds (checkpoint label, time recorded). A checkpoint is
    ``due`` from its due time until ``grace_minutes`` later, then ``overdue``.
    """
    _require_aware(dose_start, "dose_start")
    _require_aware(now, "now")
    if grace_minutes < 0:
        raise ValueError("grace_minutes cannot be negative.")
    by_label: dict[str, list[datetime]] = {}
    for label, when in recorded:
        _require_aware(when, f"recorded time for {label!r}")
        by_label.setdefault(label, []).append(when)
    grace = timedelta(minutes=grace_minutes)
    statuses: list[CheckpointStatus] = []
    for spec in specs:
        times = sorted(by_label.get(spec.label, []))
        statuses.extend(_spec_statuses(spec, dose_start, times, now, grace))
    return sorted(statuses, key=lambda s: (s.due_at, s.label))


# --- Threshold alerts ----------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """One configurable threshold with the level it triggers and its origin."""

    value: int
    level: AlertLevel
    source: str
    verified: bool = False


@dataclass(frozen=True)
class Thresholds:
    """Monitoring limits. Max limits alert when a value is above them, min
    limits when below. ``None`` switches a rule off for the clinic."""

    systolic_recheck: Limit | None
    diastolic_recheck: Limit | None
    systolic_stop: Limit | None
    diastolic_stop: Limit | None
    heart_rate_max: Limit | None
    spo2_min: Limit | None
    respiratory_rate_min: Limit | None
    respiratory_rate_max: Limit | None
    moaas_min: Limit | None
    recheck_after_minutes: int


_UNVERIFIED_STOP = (
    "Suggested default attributed to the APA consensus (Sanacora G et al., JAMA Psychiatry 2017;74(4):399-405, "
    "https://doi.org/10.1001/jamapsychiatry.2016.4513); not confirmed in the paper, so unverified"
)
_RECHECK_CHOICE = "clinic choice; no published figure; set by the medical director"

DEFAULT_THRESHOLDS = Thresholds(
    systolic_recheck=Limit(160, "recheck", _RECHECK_CHOICE),
    diastolic_recheck=Limit(100, "recheck", _RECHECK_CHOICE),
    # Stop above 180/100 and above HR 110: suggested defaults not confirmed in Sanacora 2017.
    systolic_stop=Limit(180, "stop", _UNVERIFIED_STOP),
    diastolic_stop=Limit(100, "stop", _UNVERIFIED_STOP),
    heart_rate_max=Limit(110, "stop", _UNVERIFIED_STOP),
    # The esketamine label asks for SpO2 and respiration to be monitored but gives no limits.
    spo2_min=Limit(92, "stop", CLINIC_SETTING),
    respiratory_rate_min=Limit(8, "notify_prescriber", CLINIC_SETTING),
    respiratory_rate_max=Limit(24, "notify_prescriber", CLINIC_SETTING),
    moaas_min=Limit(3, "notify_prescriber", CLINIC_SETTING),
    recheck_after_minutes=5,  # clinic choice; no published figure
)

# (Thresholds field, measure, direction). Data, so a new rule is one line.
_RULES: tuple[tuple[str, str, Direction], ...] = (
    ("systolic_recheck", "systolic", "above"),
    ("systolic_stop", "systolic", "above"),
    ("diastolic_recheck", "diastolic", "above"),
    ("diastolic_stop", "diastolic", "above"),
    ("heart_rate_max", "heart_rate", "above"),
    ("spo2_min", "spo2", "below"),
    ("respiratory_rate_min", "respiratory_rate", "below"),
    ("respiratory_rate_max", "respiratory_rate", "above"),
    ("moaas_min", "moaas", "below"),
)


@dataclass(frozen=True)
class VitalReading:
    """One set of observations; measures not taken are ``None``."""

    taken_at: datetime
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    respiratory_rate: int | None = None
    moaas: int | None = None


@dataclass(frozen=True)
class ThresholdAlert:
    measure: str
    value: int
    limit: int
    level: AlertLevel
    action: str
    source: str


def _action(level: AlertLevel, measure: str, recheck_after_minutes: int) -> str:
    label = _MEASURE_LABELS[measure]
    if level == "recheck":
        return f"Recheck {label} in {recheck_after_minutes} minutes."
    if level == "notify_prescriber":
        return f"Notify the prescriber of the {label} reading now."
    return "Stop dosing (halt the infusion or give no further device) and notify the prescriber."


def _breached(value: int, limit: Limit, direction: Direction) -> bool:
    return value > limit.value if direction == "above" else value < limit.value


def evaluate_reading(reading: VitalReading, thresholds: Thresholds) -> list[ThresholdAlert]:
    """Alerts for one reading: at most one per measure, the most severe."""
    _require_aware(reading.taken_at, "reading.taken_at")
    worst: dict[str, ThresholdAlert] = {}
    for field, measure, direction in _RULES:
        limit: Limit | None = getattr(thresholds, field)
        value: int | None = getattr(reading, measure)
        if limit is None or value is None or not _breached(value, limit, direction):
            continue
        current = worst.get(measure)
        if current is not None and _SEVERITY[current.level] >= _SEVERITY[limit.level]:
            continue
        worst[measure] = ThresholdAlert(
            measure=measure,
            value=value,
            limit=limit.value,
            level=limit.level,
            action=_action(limit.level, measure, thresholds.recheck_after_minutes),
            source=limit.source,
        )
    return sorted(worst.values(), key=lambda a: (-_SEVERITY[a.level], a.measure))


# --- Discharge -----------------------------------------------------------


@dataclass(frozen=True)
class DischargeResult:
    """``ready_at`` is when the observation time will be met, given only when
    nothing else is outstanding; it is ``None`` if another criterion is unmet."""

    allowed: bool
    unmet: list[str]
    ready_at: datetime | None


def observation_minutes(*, clinic_minutes: int, is_intranasal_esketamine: bool) -> int:
    """The clinic's observation time, never below the REMS floor for esketamine."""
    if is_intranasal_esketamine:
        return max(clinic_minutes, ESKETAMINE_MIN_OBSERVATION_MINUTES)
    return clinic_minutes


def _clinical_unmet(
    *,
    latest_moaas: int | None,
    required_moaas: int,
    dissociation_resolved: bool,
    respiratory_depression_resolved: bool,
    latest_vitals_ok: bool,
    escort_present: bool,
) -> list[str]:
    unmet: list[str] = []
    if latest_moaas is None:
        unmet.append("No sedation (MOAA/S) score recorded.")
    elif latest_moaas < required_moaas:
        unmet.append(f"Sedation not resolved: MOAA/S {latest_moaas}, needs {required_moaas}.")
    if not dissociation_resolved:
        unmet.append("Dissociation has not resolved.")
    if not respiratory_depression_resolved:
        unmet.append("Respiratory depression has not resolved.")
    if not latest_vitals_ok:
        unmet.append("Latest vital signs are not within limits.")
    if not escort_present:
        unmet.append("No escort present to take the patient home.")
    return unmet


def evaluate_discharge(
    *,
    dose_start: datetime,
    now: datetime,
    min_observation_minutes: int,
    latest_moaas: int | None,
    latest_vitals_ok: bool,
    escort_present: bool,
    dissociation_resolved: bool,
    respiratory_depression_resolved: bool,
    required_moaas: int = MOAAS_FULLY_ALERT,
) -> DischargeResult:
    """Whether the patient may leave now, and what is still outstanding.

    ``dose_start`` is when dosing began (the first device for esketamine).
    The clinician judges dissociation and respiratory depression; the REMS
    asks for both to have resolved.
    """
    _require_aware(dose_start, "dose_start")
    _require_aware(now, "now")
    if now < dose_start:
        raise ValueError("now is before dose_start.")
    others = _clinical_unmet(
        latest_moaas=latest_moaas,
        required_moaas=required_moaas,
        dissociation_resolved=dissociation_resolved,
        respiratory_depression_resolved=respiratory_depression_resolved,
        latest_vitals_ok=latest_vitals_ok,
        escort_present=escort_present,
    )
    observed_until = dose_start + timedelta(minutes=min_observation_minutes)
    unmet = list(others)
    if now < observed_until:
        elapsed = int((now - dose_start).total_seconds() // 60)
        unmet.insert(
            0, f"Observation time not met: {elapsed} of {min_observation_minutes} minutes."
        )
    return DischargeResult(
        allowed=not unmet, unmet=unmet, ready_at=None if others else observed_until
    )
