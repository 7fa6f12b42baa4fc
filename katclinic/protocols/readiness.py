"""Is the patient eligible and consented for a route? Asked of the intake app directly.

The intake app answers with `consent_status` and `eligibility_status`; the rule that turns an
eligibility status into a refusal is the intake app's own (`EligibilityStatus.refusal`), so a
plan and the pre-dose gate apply the same one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from katclinic.intake.queries import eligibility_statuses
from katclinic.intake.services import EligibilityStatus, consent_status, eligibility_status
from katclinic.patients.models import Patient

State = Literal["ok", "blocked", "review"]


@dataclass(frozen=True)
class ReadinessItem:
    key: Literal["consent", "eligibility"]
    state: State
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _consent(patient: Patient, route: str | None) -> ReadinessItem:
    status = consent_status(patient, route=route)
    if status.current:
        return ReadinessItem("consent", "ok", "Consent: current.")
    return ReadinessItem("consent", "blocked", f"Consent: {status.reason or 'not current.'}")


def _eligibility(status: EligibilityStatus, review_reason: str) -> ReadinessItem:
    because = f" Reasons: {'; '.join(status.reasons)}" if status.reasons else ""
    refusal = status.refusal(review_reason=review_reason)
    if refusal:
        state: State = "review" if status.state == "needs_review" else "blocked"
        return ReadinessItem("eligibility", state, f"Eligibility: {refusal}{because}")
    if status.state == "none":
        detail = f"{status.summary} This clinic does not require one."
    elif status.state == "needs_review":
        detail = f"{status.summary} Prescriber's reason to proceed: {review_reason.strip()}"
    else:
        detail = status.summary
    return ReadinessItem("eligibility", "ok", f"Eligibility: {detail}{because}")


def check(patient: Patient, *, route: str, review_reason: str = "") -> list[ReadinessItem]:
    """Consent and eligibility for `patient` and `route`, each ok, blocked or in review."""
    status = eligibility_status(patient, route=route)
    return [_consent(patient, route), _eligibility(status, review_reason)]


def blocking(items: list[ReadinessItem]) -> list[str]:
    """What stops a plan: every item that is not ok."""
    return [item.detail for item in items if item.state != "ok"]


def overview(patient: Patient, routes: list[str]) -> list[ReadinessItem]:
    """For a chart page: consent once, and eligibility for each route the clinic offers."""
    items = [_consent(patient, None)]
    statuses = eligibility_statuses(patient, routes=routes)
    for route in routes:
        status = statuses[route]
        item = _eligibility(status, "")
        label = f"{status.route_label}: {item.detail}"
        items.append(ReadinessItem("eligibility", item.state, label))
    return items
