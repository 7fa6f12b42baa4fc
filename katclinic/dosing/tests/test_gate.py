from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from katclinic.dosing.gate import (
    CHECKS,
    DEFAULT_PRE_DOSE_LIMITS,
    GateConfigError,
    GateFacts,
    GateResult,
    Override,
    OverrideRefused,
    PreDoseVitals,
    StopKind,
    apply_override,
    evaluate_gate,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

ALL_HARD: dict[str, StopKind] = {key: "hard" for key in CHECKS}


def good_facts() -> GateFacts:
    """A patient who passes every check; each test breaks one thing."""
    return GateFacts(
        consent_current=True,
        plan_signed=True,
        eligibility_current=True,
        last_dose_at=NOW - timedelta(days=3),
        min_interval_hours=48,
        vitals=PreDoseVitals(systolic=122, diastolic=78, heart_rate=72, spo2=98),
        questionnaires_done=True,
        open_safety_alerts=(),
        last_food_at=NOW - timedelta(hours=3),
        last_liquid_at=NOW - timedelta(hours=1),
        # Pre-dose fasting: 2 h food, 30 min liquids (SPRAVATO prescribing information, 2025).
        fasting_food_hours=2,
        fasting_liquid_hours=0.5,
        escort_confirmed=True,
        pregnancy_status="not_pregnant",
        is_intranasal_esketamine=True,
        rems_enrolled=True,
        concomitant_meds_reviewed=True,
    )


def gate(facts: GateFacts, required: dict[str, StopKind] | None = None) -> GateResult:
    return evaluate_gate(
        facts, required_checks=required or ALL_HARD, limits=DEFAULT_PRE_DOSE_LIMITS, now=NOW
    )


def test_a_patient_meeting_every_check_can_be_dosed() -> None:
    result = gate(good_facts())
    assert result.can_dose
    assert [item.key for item in result.items] == list(CHECKS)
    assert {item.result for item in result.items} == {"pass"}


BREAKERS: dict[str, dict[str, Any]] = {
    "consent_current": {"consent_current": False},
    "plan_signed": {"plan_signed": False},
    "eligibility_current": {"eligibility_current": False},
    "interval_respected": {"last_dose_at": NOW - timedelta(hours=47)},
    "vitals_within_limits": {
        "vitals": PreDoseVitals(systolic=150, diastolic=85, heart_rate=72, spo2=98)
    },
    "questionnaires_done": {"questionnaires_done": False},
    "no_open_safety_alert": {"open_safety_alerts": ("PHQ-9 item 9 answered 2",)},
    "fasting": {"last_food_at": NOW - timedelta(minutes=90)},
    "escort_confirmed": {"escort_confirmed": False},
    "pregnancy_status": {"pregnancy_status": "pregnant"},
    "rems_enrolled": {"rems_enrolled": False},
    "concomitant_meds_reviewed": {"concomitant_meds_reviewed": False},
    "prior_authorization": {"prior_authorization_valid": False},
}


def test_every_check_has_a_breaking_case() -> None:
    assert set(BREAKERS) == set(CHECKS)


@pytest.mark.parametrize("key", list(BREAKERS))
def test_each_failing_check_blocks_dosing_alone(key: str) -> None:
    result = gate(replace(good_facts(), **BREAKERS[key]))
    assert not result.can_dose
    assert [item.key for item in result.blocking] == [key]
    assert result.item(key).result == "fail"
    assert result.item(key).reason


def test_reasons_say_what_is_wrong() -> None:
    result = gate(replace(good_facts(), **BREAKERS["vitals_within_limits"]))
    assert result.item("vitals_within_limits").reason == "BP 150/85 above 140/90."
    interval = gate(replace(good_facts(), **BREAKERS["interval_respected"]))
    assert "47.0 h since the last dose; the protocol needs 48.0 h" in (
        interval.item("interval_respected").reason
    )


@pytest.mark.parametrize(
    ("vitals", "expected"),
    [
        (PreDoseVitals(140, 90, 110, 92), "pass"),
        (PreDoseVitals(141, 80, 70, 98), "fail"),
        (PreDoseVitals(120, 91, 70, 98), "fail"),
        (PreDoseVitals(120, 80, 111, 98), "fail"),
        (PreDoseVitals(120, 80, 70, 91), "fail"),
    ],
)
def test_vitals_limits_are_inclusive(vitals: PreDoseVitals, expected: str) -> None:
    result = gate(replace(good_facts(), vitals=vitals))
    assert result.item("vitals_within_limits").result == expected


def test_missing_vitals_fail() -> None:
    result = gate(replace(good_facts(), vitals=None))
    assert result.item("vitals_within_limits").reason == "No pre-dose vital signs recorded."


def test_liquids_too_recent_fail_fasting() -> None:
    facts = replace(good_facts(), last_liquid_at=NOW - timedelta(minutes=20))
    item = gate(facts).item("fasting")
    assert item.result == "fail"
    assert "liquids 0.3 h ago (needs 0.5 h)" in item.reason


def test_unrecorded_food_time_fails_fasting() -> None:
    item = gate(replace(good_facts(), last_food_at=None)).item("fasting")
    assert item.result == "fail"
    assert "time of last food not recorded" in item.reason


def test_unknown_pregnancy_status_fails() -> None:
    result = gate(replace(good_facts(), pregnancy_status="unknown"))
    assert result.item("pregnancy_status").result == "fail"


def test_rems_does_not_apply_to_iv_ketamine() -> None:
    facts = replace(good_facts(), is_intranasal_esketamine=False, rems_enrolled=False)
    result = gate(facts)
    assert result.item("rems_enrolled").result == "not_applicable"
    assert result.can_dose


def test_rules_the_protocol_does_not_set_are_not_applicable() -> None:
    facts = replace(
        good_facts(),
        min_interval_hours=None,
        fasting_food_hours=None,
        fasting_liquid_hours=None,
        last_dose_at=NOW - timedelta(hours=1),
        last_food_at=None,
    )
    result = gate(facts)
    assert result.item("interval_respected").result == "not_applicable"
    assert result.item("fasting").result == "not_applicable"
    assert result.can_dose


def test_a_first_dose_passes_the_interval_check() -> None:
    result = gate(replace(good_facts(), last_dose_at=None))
    assert result.item("interval_respected").result == "pass"


def test_only_required_checks_are_evaluated() -> None:
    result = gate(replace(good_facts(), escort_confirmed=False), {"consent_current": "hard"})
    assert [item.key for item in result.items] == ["consent_current"]
    assert result.can_dose


SOFT_ESCORT: dict[str, StopKind] = {**ALL_HARD, "escort_confirmed": "soft"}


def blocked_by_soft_escort() -> GateResult:
    return gate(replace(good_facts(), escort_confirmed=False), SOFT_ESCORT)


def test_a_prescriber_can_override_a_soft_stop_with_a_reason() -> None:
    result = blocked_by_soft_escort()
    assert not result.can_dose
    after = apply_override(
        result, "escort_confirmed", by_role="prescriber", reason="Taxi booked; stays 4 h"
    )
    assert after.can_dose
    override = after.item("escort_confirmed").override
    assert override is not None
    assert override.reason == "Taxi booked; stays 4 h"
    assert not result.can_dose, "the original result must not change"


@pytest.mark.parametrize("role", ["nurse", "therapist", "front_desk", "Prescriber", ""])
def test_only_a_prescriber_can_override(role: str) -> None:
    with pytest.raises(OverrideRefused, match="Only a prescriber"):
        apply_override(blocked_by_soft_escort(), "escort_confirmed", by_role=role, reason="ok")


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_an_override_needs_a_written_reason(reason: str) -> None:
    with pytest.raises(OverrideRefused, match="written reason"):
        apply_override(
            blocked_by_soft_escort(), "escort_confirmed", by_role="prescriber", reason=reason
        )


def test_a_hard_stop_cannot_be_overridden() -> None:
    result = gate(replace(good_facts(), plan_signed=False))
    with pytest.raises(OverrideRefused, match="hard stop"):
        apply_override(result, "plan_signed", by_role="prescriber", reason="Signing later")


def test_a_hard_stop_blocks_even_after_a_soft_one_is_overridden() -> None:
    facts = replace(good_facts(), escort_confirmed=False, plan_signed=False)
    result = gate(facts, SOFT_ESCORT)
    after = apply_override(result, "escort_confirmed", by_role="prescriber", reason="Taxi")
    assert not after.can_dose
    assert [item.key for item in after.blocking] == ["plan_signed"]


def test_passing_or_unknown_checks_cannot_be_overridden() -> None:
    result = gate(good_facts(), SOFT_ESCORT)
    with pytest.raises(OverrideRefused, match="did not fail"):
        apply_override(result, "escort_confirmed", by_role="prescriber", reason="x")
    with pytest.raises(OverrideRefused, match="No gate check 'fasting_hours'"):
        apply_override(result, "fasting_hours", by_role="prescriber", reason="x")


def test_an_override_is_given_once() -> None:
    after = apply_override(
        blocked_by_soft_escort(), "escort_confirmed", by_role="prescriber", reason="Taxi"
    )
    with pytest.raises(OverrideRefused, match="already been overridden"):
        apply_override(after, "escort_confirmed", by_role="prescriber", reason="Again")


@pytest.mark.parametrize("key", ["consent_current", "rems_enrolled"])
def test_consent_and_rems_cannot_be_configured_soft(key: str) -> None:
    with pytest.raises(GateConfigError, match="must be a hard stop"):
        gate(good_facts(), {**ALL_HARD, key: "soft"})


def test_unknown_check_names_are_rejected() -> None:
    with pytest.raises(GateConfigError, match="Unknown gate checks: escort"):
        gate(good_facts(), {"escort": "hard"})


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_gate(
            good_facts(),
            required_checks=ALL_HARD,
            limits=DEFAULT_PRE_DOSE_LIMITS,
            now=NOW.replace(tzinfo=None),
        )


def test_default_limits_say_they_are_unverified() -> None:
    assert "unverified" in DEFAULT_PRE_DOSE_LIMITS.source
    assert "https://doi.org/10.1001/jamapsychiatry.2016.4513" in DEFAULT_PRE_DOSE_LIMITS.source
    assert (DEFAULT_PRE_DOSE_LIMITS.systolic_max, DEFAULT_PRE_DOSE_LIMITS.diastolic_max) == (
        140,
        90,
    )


def test_a_hard_stop_blocks_even_if_an_override_was_stored_against_it() -> None:
    result = gate(replace(good_facts(), plan_signed=False))
    tampered = replace(
        result,
        items=tuple(
            replace(item, override=Override(by_role="prescriber", reason="x"))
            for item in result.items
        ),
    )
    assert not tampered.can_dose
