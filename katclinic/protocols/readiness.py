"""Is the patient eligible and consented? Asked of the intake app when it can answer.

The intake app is built separately. When it offers `consent_status(patient)` and a query for
the patient's signed eligibility decision, their answers are used; when it does not, the
item says "not checked" so a prescriber never mistakes silence for a pass.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Any, Literal

from katclinic.patients.models import Patient

State = Literal["ok", "blocked", "not_checked"]
# Names the intake services module may use for the signed eligibility decision.
ELIGIBILITY_QUERIES = ("signed_eligibility_decision", "eligibility_decision", "latest_decision")


@dataclass(frozen=True)
class ReadinessItem:
    key: Literal["consent", "eligibility"]
    state: State
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _intake() -> Any:
    try:
        return importlib.import_module("katclinic.intake.services")
    except ModuleNotFoundError:
        return None


def _truthy_state(value: Any) -> tuple[bool, str]:
    """Read an answer that may be a bool, a status string, or an object with a status."""
    if value is None:
        return False, "none on record"
    if isinstance(value, bool):
        return value, "current" if value else "not current"
    for attr in ("current", "is_current", "ok", "is_signed", "eligible"):
        if hasattr(value, attr):
            flag = bool(getattr(value, attr))
            label = (
                getattr(value, "reason", "")
                or getattr(value, "label", "")
                or getattr(value, "state", "")
            )
            return flag, str(label or ("current" if flag else "not current"))
    text = str(getattr(value, "decision", None) or getattr(value, "state", None) or value)
    return text.lower() in {"current", "signed", "eligible", "valid", "ok"}, text


def _item(key: Literal["consent", "eligibility"], query: Any, patient: Patient) -> ReadinessItem:
    if query is None:
        return ReadinessItem(
            key, "not_checked", f"Not checked: the intake app offers no {key} query yet."
        )
    ok, label = _truthy_state(query(patient))
    return ReadinessItem(key, "ok" if ok else "blocked", f"{key.capitalize()}: {label}")


def check(patient: Patient) -> list[ReadinessItem]:
    """Consent and eligibility for `patient`, each ok, blocked, or not checked."""
    intake = _intake()
    consent = getattr(intake, "consent_status", None) if intake else None
    eligibility = None
    if intake is not None:
        eligibility = next(
            (getattr(intake, n) for n in ELIGIBILITY_QUERIES if hasattr(intake, n)), None
        )
    return [_item("consent", consent, patient), _item("eligibility", eligibility, patient)]
