"""The intake app's answer to "may this patient be treated by this route?".

`eligibility_status` is the one read other apps ask: the signed, current eligibility decision
for a route with its reasons in plain words. `EligibilityStatus.refusal` is the one rule that
turns it into a yes or no, so plans and the pre-dose gate can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from katclinic.intake import eligibility
from katclinic.intake.clinic_settings import SCREENING_REQUIRED
from katclinic.intake.models import ROUTE_CHOICES, EligibilityDecision, Suggestion
from katclinic.patients.models import Patient

EligibilityState = Literal["eligible", "needs_review", "not_eligible", "none"]

# A protocol's route, as written in a protocol file, to the route a screening covers. Both
# apps use the same words today; the table makes that a checked fact, not an accident.
SCREENING_ROUTE_FOR: dict[str, str] = {route: route for route in eligibility.ROUTES}

_STATES: dict[str, EligibilityState] = {
    Suggestion.ELIGIBLE: "eligible",
    Suggestion.NEEDS_REVIEW: "needs_review",
    Suggestion.NOT_ELIGIBLE: "not_eligible",
}


@dataclass(frozen=True)
class EligibilityStatus:
    """The newest signed decision for one route, or `none` when there is no signed one."""

    route: str
    state: EligibilityState
    decision: EligibilityDecision | None
    reasons: tuple[str, ...]
    signed_by: str
    signed_at: datetime | None
    screening_required: bool

    @property
    def route_label(self) -> str:
        return dict(ROUTE_CHOICES).get(self.route, self.route)

    @property
    def summary(self) -> str:
        if self.decision is None or self.signed_at is None:
            return f"No signed screening for {self.route_label.lower()}."
        label = self.decision.get_decision_display().lower()
        return f"Signed {label} by {self.signed_by} on {self.signed_at:%Y-%m-%d}."

    def refusal(self, *, review_reason: str = "") -> str:
        """Why this status stops a plan or a dose; empty when it does not."""
        if self.state == "not_eligible":
            return f"{self.summary} Treatment by this route is not allowed."
        if self.state == "none" and self.screening_required:
            return f"{self.summary} Screen the patient and sign a decision first."
        if self.state == "needs_review" and not review_reason.strip():
            return f"{self.summary} A prescriber must write why treatment may go ahead."
        return ""


def _reasons(decision: EligibilityDecision) -> tuple[str, ...]:
    found = [str(reason.get("title", "")) for reason in decision.reasons if reason.get("title")]
    if not decision.trd_met and not any(r.get("rule") == "trd_not_met" for r in decision.reasons):
        found.append("Treatment-resistance criterion not met.")
    found += [f"Not answered: {fact.replace('_', ' ')}." for fact in decision.missing]
    if decision.differs:
        found.append(f"Prescriber's rationale: {decision.rationale}")
    return tuple(found)


def current_decision(patient: Patient, *, route: str) -> EligibilityDecision | None:
    """The newest signed decision for this route: a later signed version replaces older ones."""
    return (
        EligibilityDecision.objects.filter(
            patient=patient, clinic_id=patient.clinic_id, route=route
        )
        .select_related("decided_by", "screening")
        .order_by("-screening__version", "-decided_at", "-pk")
        .first()
    )


def eligibility_status(patient: Patient, *, route: str) -> EligibilityStatus:
    """This patient's signed eligibility for a protocol route, and why."""
    required = SCREENING_REQUIRED.value(patient.clinic)
    screening_route = SCREENING_ROUTE_FOR.get(route)
    decision = None if screening_route is None else current_decision(patient, route=screening_route)
    return _status(route, decision, required)


def eligibility_statuses(patient: Patient, *, routes: list[str]) -> dict[str, EligibilityStatus]:
    """``eligibility_status`` for each of ``routes``, read together: the setting once and the
    patient's decisions for those routes in one query, the newest per route kept as
    ``current_decision`` orders them."""
    required = SCREENING_REQUIRED.value(patient.clinic)
    wanted = {SCREENING_ROUTE_FOR[r] for r in routes if r in SCREENING_ROUTE_FOR}
    newest: dict[str, EligibilityDecision] = {}
    if wanted:
        decisions = (
            EligibilityDecision.objects.filter(
                patient=patient, clinic_id=patient.clinic_id, route__in=wanted
            )
            .select_related("decided_by", "screening")
            .order_by("-screening__version", "-decided_at", "-pk")
        )
        for decision in decisions:
            newest.setdefault(decision.route, decision)
    return {
        route: _status(
            route,
            newest.get(SCREENING_ROUTE_FOR[route]) if route in SCREENING_ROUTE_FOR else None,
            required,
        )
        for route in routes
    }


def _status(route: str, decision: EligibilityDecision | None, required: bool) -> EligibilityStatus:
    if decision is None:
        return EligibilityStatus(route, "none", None, (), "", None, required)
    return EligibilityStatus(
        route=route,
        state=_STATES[decision.decision],
        decision=decision,
        reasons=_reasons(decision),
        signed_by=str(decision.decided_by),
        signed_at=decision.decided_at,
        screening_required=required,
    )
