from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from katclinic.dosing.monitoring import (
    CLINIC_SETTING,
    DEFAULT_THRESHOLDS,
    ESKETAMINE_MIN_OBSERVATION_MINUTES,
    CheckpointSpec,
    CheckpointStatus,
    DischargeResult,
    Limit,
    VitalReading,
    due_checkpoints,
    evaluate_discharge,
    evaluate_reading,
    observation_minutes,
)

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


SPECS = [
    CheckpointSpec("baseline", 0, ("systolic", "diastolic", "heart_rate", "spo2")),
    CheckpointSpec("bp_40", 40, ("systolic", "diastolic")),
    CheckpointSpec("bp_q15", 60, ("systolic", "diastolic"), 15, 90),
]


def by_key(statuses: list[CheckpointStatus]) -> dict[tuple[str, int], str]:
    return {(s.label, s.minutes_after_start): s.status for s in statuses}


def test_a_repeating_checkpoint_expands_until_its_end() -> None:
    assert SPECS[2].offsets() == [60, 75, 90]


def test_statuses_at_a_fixed_moment() -> None:
    recorded = [("baseline", at(1))]
    statuses = due_checkpoints(SPECS, START, recorded, at(44), grace_minutes=5)
    assert by_key(statuses) == {
        ("baseline", 0): "done",
        ("bp_40", 40): "due",
        ("bp_q15", 60): "upcoming",
        ("bp_q15", 75): "upcoming",
        ("bp_q15", 90): "upcoming",
    }
    assert [s.due_at for s in statuses] == [at(0), at(40), at(60), at(75), at(90)]


def test_a_checkpoint_is_overdue_once_grace_has_passed() -> None:
    statuses = due_checkpoints(SPECS, START, [("baseline", at(0))], at(46), grace_minutes=5)
    assert by_key(statuses)[("bp_40", 40)] == "overdue"
    at_edge = due_checkpoints(SPECS, START, [("baseline", at(0))], at(45), grace_minutes=5)
    assert by_key(at_edge)[("bp_40", 40)] == "due"


def test_each_recording_satisfies_one_repeat_only() -> None:
    recorded = [("baseline", at(0)), ("bp_40", at(41)), ("bp_q15", at(62))]
    statuses = due_checkpoints(SPECS, START, recorded, at(100), grace_minutes=5)
    keyed = by_key(statuses)
    assert keyed[("bp_q15", 60)] == "done"
    assert keyed[("bp_q15", 75)] == "overdue"
    assert keyed[("bp_q15", 90)] == "overdue"
    done = next(s for s in statuses if s.minutes_after_start == 60)
    assert done.recorded_at == at(62)


def test_a_reading_a_little_early_still_counts() -> None:
    statuses = due_checkpoints(SPECS, START, [("bp_40", at(37))], at(50), grace_minutes=5)
    assert by_key(statuses)[("bp_40", 40)] == "done"
    too_early = due_checkpoints(SPECS, START, [("bp_40", at(30))], at(50), grace_minutes=5)
    assert by_key(too_early)[("bp_40", 40)] == "overdue"


def test_recordings_under_another_label_do_not_count() -> None:
    statuses = due_checkpoints(SPECS, START, [("bp_q15", at(40))], at(50), grace_minutes=5)
    assert by_key(statuses)[("bp_40", 40)] == "overdue"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_checkpoints(SPECS, START.replace(tzinfo=None), [], at(5), grace_minutes=5)


def test_a_half_configured_repeat_is_refused() -> None:
    with pytest.raises(ValueError, match="repeat_every and repeat_until"):
        CheckpointSpec("bp", 10, ("systolic",), repeat_every_minutes=10)


# --- thresholds ---------------------------------------------------------


def test_bp_165_over_100_at_40_minutes_asks_for_a_recheck() -> None:
    alerts = evaluate_reading(VitalReading(at(40), systolic=165, diastolic=100), DEFAULT_THRESHOLDS)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.measure, alert.value, alert.limit, alert.level) == (
        "systolic",
        165,
        160,
        "recheck",
    )
    assert alert.action == "Recheck systolic blood pressure in 5 minutes."
    assert "clinic choice" in alert.source


def test_a_normal_reading_raises_nothing() -> None:
    reading = VitalReading(
        at(40), systolic=130, diastolic=80, heart_rate=80, spo2=97, respiratory_rate=14, moaas=5
    )
    assert evaluate_reading(reading, DEFAULT_THRESHOLDS) == []


def test_above_the_stop_limit_only_the_stop_is_reported() -> None:
    alerts = evaluate_reading(VitalReading(at(40), systolic=185), DEFAULT_THRESHOLDS)
    assert [(a.measure, a.level, a.limit) for a in alerts] == [("systolic", "stop", 180)]
    assert alerts[0].action.startswith("Stop dosing")
    assert "unverified" in alerts[0].source


@pytest.mark.parametrize(
    ("reading", "measure", "level"),
    [
        (VitalReading(START, diastolic=105), "diastolic", "stop"),
        (VitalReading(START, heart_rate=111), "heart_rate", "stop"),
        (VitalReading(START, spo2=91), "spo2", "stop"),
        (VitalReading(START, respiratory_rate=7), "respiratory_rate", "notify_prescriber"),
        (VitalReading(START, respiratory_rate=25), "respiratory_rate", "notify_prescriber"),
        (VitalReading(START, moaas=2), "moaas", "notify_prescriber"),
    ],
)
def test_each_threshold_alerts(reading: VitalReading, measure: str, level: str) -> None:
    alerts = evaluate_reading(reading, DEFAULT_THRESHOLDS)
    assert [(a.measure, a.level) for a in alerts] == [(measure, level)]


def test_limits_themselves_are_not_breaches() -> None:
    reading = VitalReading(
        START, systolic=160, diastolic=100, heart_rate=110, spo2=92, respiratory_rate=8, moaas=3
    )
    assert evaluate_reading(reading, DEFAULT_THRESHOLDS) == []


def test_alerts_are_ordered_most_severe_first() -> None:
    reading = VitalReading(START, systolic=165, heart_rate=120)
    levels = [a.level for a in evaluate_reading(reading, DEFAULT_THRESHOLDS)]
    assert levels == ["stop", "recheck"]


def test_defaults_mark_what_is_unverified_or_a_clinic_setting() -> None:
    t = DEFAULT_THRESHOLDS
    for limit in (t.systolic_stop, t.diastolic_stop, t.heart_rate_max):
        assert limit is not None and "unverified" in limit.source and not limit.verified
        assert "Sanacora" in limit.source
    for limit in (t.spo2_min, t.respiratory_rate_min, t.respiratory_rate_max, t.moaas_min):
        assert limit is not None and limit.source == CLINIC_SETTING


def test_a_rule_switched_off_does_not_alert() -> None:
    thresholds = replace(DEFAULT_THRESHOLDS, heart_rate_max=None)
    assert evaluate_reading(VitalReading(START, heart_rate=150), thresholds) == []


# --- discharge ----------------------------------------------------------


def discharge(
    now_minutes: int,
    *,
    latest_moaas: int | None = 5,
    latest_vitals_ok: bool = True,
    escort_present: bool = True,
    dissociation_resolved: bool = True,
    respiratory_depression_resolved: bool = True,
) -> DischargeResult:
    """Every criterion met unless a test changes one."""
    return evaluate_discharge(
        dose_start=START,
        now=at(now_minutes),
        min_observation_minutes=ESKETAMINE_MIN_OBSERVATION_MINUTES,
        latest_moaas=latest_moaas,
        latest_vitals_ok=latest_vitals_ok,
        escort_present=escort_present,
        dissociation_resolved=dissociation_resolved,
        respiratory_depression_resolved=respiratory_depression_resolved,
    )


def test_discharge_is_allowed_when_every_criterion_is_met() -> None:
    result = discharge(120)
    assert result.allowed
    assert result.unmet == []
    assert result.ready_at == at(120)


def test_esketamine_observation_is_at_least_two_hours() -> None:
    result = discharge(119)
    assert not result.allowed
    assert result.unmet == ["Observation time not met: 119 of 120 minutes."]
    assert result.ready_at == at(120)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"latest_moaas": 4}, "Sedation not resolved: MOAA/S 4, needs 5."),
        ({"latest_moaas": None}, "No sedation (MOAA/S) score recorded."),
        ({"latest_vitals_ok": False}, "Latest vital signs are not within limits."),
        ({"escort_present": False}, "No escort present to take the patient home."),
        ({"dissociation_resolved": False}, "Dissociation has not resolved."),
        ({"respiratory_depression_resolved": False}, "Respiratory depression has not resolved."),
    ],
)
def test_discharge_is_refused_until_each_criterion_is_met(
    change: dict[str, Any], message: str
) -> None:
    result = discharge(180, **change)
    assert not result.allowed
    assert result.unmet == [message]
    assert result.ready_at is None


def test_all_unmet_criteria_are_listed_together() -> None:
    result = discharge(60, escort_present=False, latest_moaas=3)
    assert len(result.unmet) == 3
    assert result.unmet[0].startswith("Observation time not met: 60 of 120")


def test_clinic_observation_time_cannot_go_below_the_rems_floor() -> None:
    assert observation_minutes(clinic_minutes=90, is_intranasal_esketamine=True) == 120
    assert observation_minutes(clinic_minutes=150, is_intranasal_esketamine=True) == 150
    assert observation_minutes(clinic_minutes=90, is_intranasal_esketamine=False) == 90


def test_discharge_refuses_a_clock_before_the_dose() -> None:
    with pytest.raises(ValueError, match="before dose_start"):
        discharge(-1)


def test_the_most_severe_breach_wins_whatever_the_configuration() -> None:
    thresholds = replace(
        DEFAULT_THRESHOLDS,
        systolic_recheck=Limit(150, "stop", "test"),
        systolic_stop=Limit(140, "recheck", "test"),
    )
    alerts = evaluate_reading(VitalReading(START, systolic=155), thresholds)
    assert [(a.level, a.limit) for a in alerts] == [("stop", 150)]
