"""Lifecycle of a dosing session, as data plus one checking function.

The service layer calls ``check_transition`` before it changes a session's
state, so the rules live in one table that tests and the docs can read.
"""

from collections.abc import Mapping
from enum import StrEnum


class SessionState(StrEnum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked_in"
    PRE_DOSE_CHECKS = "pre_dose_checks"
    DOSING = "dosing"
    MONITORING = "monitoring"
    READY_FOR_DISCHARGE = "ready_for_discharge"
    DISCHARGED = "discharged"
    STOPPED_EARLY = "stopped_early"


class InvalidTransition(ValueError):
    """A requested state change that the lifecycle does not allow."""


S = SessionState

# States in which the patient is in the clinic's care for this session. A
# scheduled session has not started, so it is cancelled by scheduling rather
# than stopped early.
ACTIVE_STATES: frozenset[SessionState] = frozenset(
    {S.CHECKED_IN, S.PRE_DOSE_CHECKS, S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE}
)

TERMINAL_STATES: frozenset[SessionState] = frozenset({S.DISCHARGED, S.STOPPED_EARLY})

# The normal path. STOPPED_EARLY is added below for every active state.
_FORWARD: dict[SessionState, frozenset[SessionState]] = {
    S.SCHEDULED: frozenset({S.CHECKED_IN}),
    S.CHECKED_IN: frozenset({S.PRE_DOSE_CHECKS}),
    S.PRE_DOSE_CHECKS: frozenset({S.DOSING}),
    # Dosing always ends in monitoring, including when a dose is halted for a
    # stop-level reading: a partly dosed patient still has to be observed.
    S.DOSING: frozenset({S.MONITORING}),
    S.MONITORING: frozenset({S.READY_FOR_DISCHARGE}),
    # Back to monitoring if the patient worsens after being judged ready.
    S.READY_FOR_DISCHARGE: frozenset({S.DISCHARGED, S.MONITORING}),
    S.DISCHARGED: frozenset(),
    S.STOPPED_EARLY: frozenset(),
}

TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = {
    state: targets | ({S.STOPPED_EARLY} if state in ACTIVE_STATES else frozenset())
    for state, targets in _FORWARD.items()
}


def _parse(value: SessionState | str, role: str) -> SessionState:
    try:
        return SessionState(value)
    except ValueError:
        known = ", ".join(s.value for s in SessionState)
        raise InvalidTransition(
            f"Unknown {role} state {value!r}; expected one of: {known}."
        ) from None


def allowed_targets(current: SessionState | str) -> frozenset[SessionState]:
    """The states a session in ``current`` may move to next."""
    return TRANSITIONS[_parse(current, "current")]


def check_transition(
    current: SessionState | str, target: SessionState | str, *, reason: str | None = None
) -> SessionState:
    """The target state, parsed; raise ``InvalidTransition`` unless ``current -> target``
    is allowed.

    Moving to ``stopped_early`` also needs a written reason, because the
    session record must say why treatment ended early.
    """
    source = _parse(current, "current")
    destination = _parse(target, "target")
    allowed = TRANSITIONS[source]
    if destination not in allowed:
        if not allowed:
            raise InvalidTransition(
                f"A session that is {source.value} is finished; it cannot move to "
                f"{destination.value}."
            )
        options = ", ".join(sorted(s.value for s in allowed))
        raise InvalidTransition(
            f"A session cannot move from {source.value} to {destination.value}; "
            f"from {source.value} it may move to: {options}."
        )
    if destination is S.STOPPED_EARLY and not (reason and reason.strip()):
        raise InvalidTransition("Stopping a session early requires a written reason.")
    return destination
