from itertools import pairwise

import pytest

from katclinic.dosing.statemachine import (
    ACTIVE_STATES,
    TRANSITIONS,
    InvalidTransition,
    SessionState,
    allowed_targets,
    check_transition,
)

S = SessionState

HAPPY_PATH = [
    S.SCHEDULED,
    S.CHECKED_IN,
    S.PRE_DOSE_CHECKS,
    S.DOSING,
    S.MONITORING,
    S.READY_FOR_DISCHARGE,
    S.DISCHARGED,
]


def test_the_normal_path_is_allowed_step_by_step() -> None:
    steps = list(pairwise(HAPPY_PATH))
    assert [check_transition(now, later) for now, later in steps] == HAPPY_PATH[1:]
    assert all(later in allowed_targets(now) for now, later in steps)


@pytest.mark.parametrize("current", list(SessionState))
@pytest.mark.parametrize("target", list(SessionState))
def test_a_move_is_allowed_exactly_when_the_table_lists_it(current: S, target: S) -> None:
    if target in TRANSITIONS[current]:
        assert check_transition(current, target, reason="Patient asked to stop") is target
    else:
        with pytest.raises(InvalidTransition):
            check_transition(current, target, reason="Patient asked to stop")


def test_every_state_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(SessionState)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SCHEDULED, S.DOSING),
        (S.CHECKED_IN, S.DOSING),
        (S.PRE_DOSE_CHECKS, S.MONITORING),
        (S.DOSING, S.DISCHARGED),
        (S.MONITORING, S.DISCHARGED),
        (S.MONITORING, S.DOSING),
        (S.DOSING, S.DOSING),
    ],
)
def test_it_refuses_skipping_or_going_backwards(current: S, target: S) -> None:
    with pytest.raises(InvalidTransition, match=f"from {current.value} to {target.value}"):
        check_transition(current, target)


def test_the_refusal_names_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition, match="it may move to: checked_in"):
        check_transition(S.SCHEDULED, S.DISCHARGED)


@pytest.mark.parametrize("state", sorted(ACTIVE_STATES))
def test_it_allows_stopping_early_from_each_active_state_with_a_reason(state: S) -> None:
    assert check_transition(state, S.STOPPED_EARLY, reason="Patient asked to stop") is (
        S.STOPPED_EARLY
    )
    assert S.STOPPED_EARLY in allowed_targets(state)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_stopping_early_needs_a_written_reason(reason: str | None) -> None:
    with pytest.raises(InvalidTransition, match="requires a written reason"):
        check_transition(S.DOSING, S.STOPPED_EARLY, reason=reason)


def test_a_scheduled_session_cannot_be_stopped_early() -> None:
    with pytest.raises(InvalidTransition, match="from scheduled to stopped_early"):
        check_transition(S.SCHEDULED, S.STOPPED_EARLY, reason="No show")


@pytest.mark.parametrize("state", [S.DISCHARGED, S.STOPPED_EARLY])
@pytest.mark.parametrize("target", list(SessionState))
def test_finished_sessions_cannot_move(state: S, target: S) -> None:
    with pytest.raises(InvalidTransition, match="is finished"):
        check_transition(state, target, reason="any")


def test_a_patient_judged_ready_can_go_back_to_monitoring() -> None:
    assert check_transition(S.READY_FOR_DISCHARGE, S.MONITORING) is S.MONITORING
    assert allowed_targets(S.READY_FOR_DISCHARGE) == {S.DISCHARGED, S.MONITORING, S.STOPPED_EARLY}


def test_it_accepts_plain_strings_and_rejects_unknown_states() -> None:
    assert check_transition("dosing", "monitoring") is S.MONITORING
    with pytest.raises(InvalidTransition, match="Unknown target state 'finished'"):
        check_transition("monitoring", "finished")
