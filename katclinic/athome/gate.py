"""The at-home check-in gate: pure rules over what the patient reports, tested without a
database. Every item the protocol lists must pass before a take-home dose opens."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# CNS depressants add to ketamine's sedation (SPRAVATO (esketamine) prescribing
# information, Janssen, rev. 2025, drug interactions).
SUBSTANCES = (
    "alcohol",
    "benzodiazepines (such as lorazepam or diazepam)",
    "sleeping tablets or other sedatives",
    "opioid pain medicines",
    "cannabis",
)

LABELS = {
    "home_bp": "Blood pressure within your plan's limits",
    "sober_monitor": "A sober adult monitor is with you",
    "no_substances": "No alcohol, sedatives or listed substances",
    "no_driving": "No driving until tomorrow after sleep",
    "safe_setting": "A safe, quiet place",
    "fasting": "Fasting as your plan asks",
}


@dataclass(frozen=True)
class BpLimits:
    systolic_max: int
    diastolic_max: int
    source: str


@dataclass(frozen=True)
class Answers:
    systolic: int | None = None
    diastolic: int | None = None
    monitor_present: bool = False
    monitor_name: str = ""
    substances_taken: bool = True
    will_not_drive: bool = False
    safe_setting: bool = False
    fasted: bool = False


@dataclass(frozen=True)
class ItemResult:
    key: str
    label: str
    passed: bool
    reason: str
    todo: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


CALL = "Do not take a dose now; the clinic has been told."


def _bp(a: Answers, limits: BpLimits) -> tuple[bool, str, str]:
    if a.systolic is None or a.diastolic is None:
        return (
            False,
            "No blood pressure reading was entered.",
            "Measure with your home cuff and check in again.",
        )
    reading = f"{a.systolic}/{a.diastolic} mmHg"
    if a.systolic > limits.systolic_max or a.diastolic > limits.diastolic_max:
        return (
            False,
            f"{reading} is above your limit of {limits.systolic_max}/{limits.diastolic_max}.",
            f"{CALL} Rest, and if it stays high or you feel unwell, call the clinic.",
        )
    return True, f"{reading} is within {limits.systolic_max}/{limits.diastolic_max}.", ""


def _monitor(a: Answers) -> tuple[bool, str, str]:
    name = a.monitor_name.strip()
    if a.monitor_present and name:
        return True, f"{name} is with you.", ""
    reason = "No monitor named." if a.monitor_present else "No sober monitor is with you."
    return (
        False,
        reason,
        f"{CALL} Wait until a sober adult you trust can stay with you for the session.",
    )


def _substances(a: Answers, hours: int) -> tuple[bool, str, str]:
    if a.substances_taken:
        return (
            False,
            f"You had one of the listed substances in the last {hours} hours.",
            f"{CALL} Wait until {hours} hours have passed since the last one.",
        )
    return True, f"None in the last {hours} hours.", ""


def _driving(a: Answers) -> tuple[bool, str, str]:
    if a.will_not_drive:
        return True, "You will not drive.", ""
    return (
        False,
        "You may need to drive before tomorrow.",
        f"{CALL} Choose a day when you do not need to drive until the next morning.",
    )


def _setting(a: Answers) -> tuple[bool, str, str]:
    if a.safe_setting:
        return True, "You are somewhere safe and quiet.", ""
    return (
        False,
        "You are not in a safe, quiet place.",
        f"{CALL} Move to a quiet room where you can lie down undisturbed.",
    )


def _fasting(a: Answers, fasting_text: str) -> tuple[bool, str, str]:
    if a.fasted:
        return True, f"Fasted: {fasting_text}.", ""
    return (
        False,
        f"Not fasted: {fasting_text}.",
        f"{CALL} Wait until you have fasted as your plan asks.",
    )


def _item(
    key: str, answers: Answers, limits: BpLimits, substance_free_hours: int, fasting_text: str
) -> tuple[bool, str, str]:
    """(passed, reason, what to do) for one check-in item."""
    if key == "home_bp":
        return _bp(answers, limits)
    if key == "sober_monitor":
        return _monitor(answers)
    if key == "no_substances":
        return _substances(answers, substance_free_hours)
    if key == "no_driving":
        return _driving(answers)
    if key == "safe_setting":
        return _setting(answers)
    if key == "fasting":
        return _fasting(answers, fasting_text)
    raise ValueError(f"unknown check-in item {key!r}")


def evaluate(
    required: list[str],
    answers: Answers,
    *,
    limits: BpLimits,
    substance_free_hours: int,
    fasting_text: str = "",
) -> list[ItemResult]:
    """One result per required item, in the protocol's order."""
    results = []
    for key in required:
        passed, reason, todo = _item(key, answers, limits, substance_free_hours, fasting_text)
        results.append(ItemResult(key, LABELS[key], passed, reason, todo))
    return results
