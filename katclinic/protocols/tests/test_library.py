import re
from decimal import Decimal
from pathlib import Path

import pytest

from katclinic.protocols.dosing import compute_dose
from katclinic.protocols.schema import Protocol, load_library, load_protocol

LIBRARY_DIR = Path(__file__).resolve().parents[1] / "library"
LIBRARY = load_library()
SHIPPED = sorted(path.stem for path in LIBRARY_DIR.glob("*.json"))


def test_the_library_ships_the_four_protocols() -> None:
    assert sorted(LIBRARY) == [
        "esketamine_trd",
        "im_ketamine",
        "iv_ketamine_elektd",
        "sublingual_titration",
    ]


@pytest.mark.parametrize("key", SHIPPED)
def test_each_shipped_file_loads_on_its_own(key: str) -> None:
    protocol = load_protocol(LIBRARY_DIR / f"{key}.json")

    assert protocol.key == key
    assert protocol == LIBRARY[key]


@pytest.mark.parametrize("key", SHIPPED)
def test_each_published_source_leads_somewhere(key: str) -> None:
    protocol = LIBRARY[key]

    for source in protocol.sources:
        assert "clinical.md" not in source.citation, source.key
        assert "Uncertain" not in source.citation, source.key
        if source.grade in ("V", "unverified"):
            assert source.url or re.search(r"https?://", source.citation), source.key
        if source.grade == "clinic_default":
            assert re.search(r"no published|clinic-set", source.citation.lower()), source.key


@pytest.mark.parametrize("key", SHIPPED)
def test_uncertain_thresholds_are_never_marked_verified(key: str) -> None:
    protocol = LIBRARY[key]

    for name, threshold in protocol.thresholds.items():
        if protocol.source(threshold.source).grade != "V":
            assert not threshold.verified, name
    # The 180/100 stop and HR 110 limits could not be confirmed in the APA consensus paper.
    assert {"stop_above_systolic", "stop_above_diastolic", "stop_above_hr"} <= set(
        protocol.unverified_thresholds()
    )


def test_iv_70_kg_is_35_mg_over_40_minutes_at_0875_mg_per_min() -> None:
    calc = compute_dose(LIBRARY["iv_ketamine_elektd"], weight_kg=Decimal("70"), age_years=45)

    assert calc.dose_mg == Decimal("35.0")
    assert calc.duration_minutes == 40
    assert calc.rate_mg_per_min == Decimal("0.875")
    text = "\n".join(calc.lines)
    assert "0.5 mg/kg x 70.0 kg = 35.0 mg" in text
    assert "35.0 mg / 40 min = 0.875 mg/min" in text


def test_iv_induction_is_six_infusions_twice_weekly() -> None:
    induction = LIBRARY["iv_ketamine_elektd"].phase("induction")

    assert (induction.per_week, induction.planned_sessions) == (2, 6)
    assert induction.source == "elektd"


def test_esketamine_starts_at_28_mg_from_age_65() -> None:
    protocol = LIBRARY["esketamine_trd"]

    older = compute_dose(protocol, weight_kg=Decimal("70"), age_years=65)
    younger = compute_dose(protocol, weight_kg=Decimal("70"), age_years=64)

    assert (older.dose_mg, older.devices) == (Decimal("28.0"), 1)
    assert (younger.dose_mg, younger.devices) == (Decimal("56.0"), 2)
    assert older.start_rule is not None and "HK/EU-style label" in older.start_rule


def test_the_65_plus_rule_is_marked_as_label_specific_and_unverified() -> None:
    rule = LIBRARY["esketamine_trd"].starting_dose.rules[0]

    assert (rule.fact, rule.op, rule.value, rule.dose) == ("age_years", ">=", 65, 28)
    assert not rule.verified
    assert "not re-checked in the US" in rule.label


def test_esketamine_follows_the_label_phases() -> None:
    phases = LIBRARY["esketamine_trd"].phases

    assert [(p.name, p.per_week, p.weeks) for p in phases[:2]] == [
        ("induction", 2, 4),
        ("maintenance", 1, 4),
    ]
    assert (phases[2].interval_days, phases[2].interval_days_max) == (7, 14)
    assert phases[2].open_ended


def test_esketamine_uses_28_mg_devices_five_minutes_apart() -> None:
    protocol = LIBRARY["esketamine_trd"]

    assert protocol.product.device_mg == Decimal("28")
    assert protocol.product.minutes_between_devices == 5
    assert (protocol.limits.hard_min.value, protocol.limits.hard_max.value) == (28, 84)


def test_esketamine_observes_120_minutes_with_bp_at_0_40_and_120() -> None:
    protocol = LIBRARY["esketamine_trd"]
    bp_minutes = [m for m, _, measures in protocol.monitoring.schedule() if "bp" in measures]

    assert protocol.monitoring.min_observation_minutes.value == 120
    assert bp_minutes == [0, 40, 120]


def test_esketamine_requires_rems_enrolment_as_a_hard_stop() -> None:
    checks = {c.key: c.stop for c in LIBRARY["esketamine_trd"].pre_dose_checks}

    assert checks["rems_enrolled"] == "hard"


def test_esketamine_instructions_cover_fasting_and_transport() -> None:
    instructions = LIBRARY["esketamine_trd"].instructions

    assert instructions.fasting is not None
    assert (instructions.fasting.no_food_hours, instructions.fasting.no_liquids_minutes) == (
        2,
        30,
    )
    assert instructions.arrange_transport and instructions.no_driving_until_after_sleep


def test_sublingual_starts_at_50_mg_and_steps_25_mg_every_3_days() -> None:
    protocol = LIBRARY["sublingual_titration"]

    assert protocol.starting_dose.dose == Decimal("50")
    assert protocol.titration is not None
    assert (protocol.titration.step_mg, protocol.titration.every_days) == (25, 3)
    assert protocol.limits.hard_max.source == "clinic_max"
    assert protocol.source("clinic_max").grade == "clinic_default"


def test_im_is_half_a_mg_per_kg_without_an_infusion() -> None:
    calc = compute_dose(LIBRARY["im_ketamine"], weight_kg=Decimal("80"), age_years=45)

    assert calc.dose_mg == Decimal("40.0")
    assert calc.rate_mg_per_min is None
    assert calc.volume_ml == Decimal("0.40")


def _numbers_without_source(protocol: Protocol) -> list[str]:
    """Sub-models holding numbers must name a source; returns offenders' field names."""
    dumped = protocol.model_dump()
    offenders: list[str] = []

    def walk(value: object, path: str) -> None:
        if isinstance(value, dict):
            has_number = any(
                isinstance(v, int | Decimal) and not isinstance(v, bool) for v in value.values()
            )
            cited = any(k.endswith("source") for k in value)
            if has_number and not cited and path != "" and not path.startswith("sources"):
                offenders.append(path)
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, f"{path}[{index}]")

    walk(dumped, "")
    return offenders


@pytest.mark.parametrize("key", SHIPPED)
def test_every_number_sits_next_to_a_source(key: str) -> None:
    assert _numbers_without_source(LIBRARY[key]) == []
