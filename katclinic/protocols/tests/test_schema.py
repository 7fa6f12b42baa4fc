import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from katclinic.protocols.schema import Protocol, ProtocolError, load_library, load_protocol

LIBRARY = Path(__file__).resolve().parents[1] / "library"


def iv_data() -> dict[str, Any]:
    text = (LIBRARY / "iv_ketamine_elektd.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return data


def esketamine_data() -> dict[str, Any]:
    text = (LIBRARY / "esketamine_trd.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return data


def problems_for(data: dict[str, Any]) -> str:
    with pytest.raises(ProtocolError) as caught:
        load_protocol(data)
    return "\n".join(caught.value.problems)


def test_it_loads_a_valid_mapping() -> None:
    protocol = load_protocol(iv_data())

    assert isinstance(protocol, Protocol)
    assert protocol.route == "iv"
    assert protocol.dose_rule.mg_per_kg == Decimal("0.5")


def test_it_computes_the_infusion_rate_per_kg() -> None:
    protocol = load_protocol(iv_data())

    assert protocol.dose_rule.rate_mg_per_kg_per_min == Decimal("0.0125")


def test_it_refuses_an_unknown_field_naming_its_path() -> None:
    data = iv_data()
    data["dose_rule"]["mg_per_kilo"] = "0.5"

    assert "dose_rule.mg_per_kilo: Extra inputs are not permitted" in problems_for(data)


def test_it_refuses_a_negative_dose_naming_its_path() -> None:
    data = iv_data()
    data["dose_rule"]["mg_per_kg"] = "-0.5"

    assert "dose_rule.mg_per_kg: Input should be greater than 0" in problems_for(data)


def test_it_names_list_positions_in_the_path() -> None:
    data = iv_data()
    data["monitoring"]["checkpoints"][1]["measures"] = ["bp", "temperature"]

    assert "monitoring.checkpoints[1].measures[1]" in problems_for(data)


def test_it_refuses_an_unknown_route() -> None:
    data = iv_data()
    data["route"] = "rectal"

    assert problems_for(data).startswith("route:")


def test_it_refuses_a_string_where_a_count_is_expected() -> None:
    data = iv_data()
    data["phases"][0]["sessions"] = "6"

    assert "phases[0].sessions: Input should be a valid integer" in problems_for(data)


def test_it_refuses_true_as_a_number() -> None:
    data = iv_data()
    data["limits"]["hard_max"]["value"] = True

    assert "limits.hard_max.value" in problems_for(data)


def test_it_refuses_a_number_that_is_not_finite() -> None:
    data = iv_data()
    data["dose_rule"]["mg_per_kg"] = "NaN"

    assert "dose_rule.mg_per_kg" in problems_for(data)


def test_it_refuses_an_undeclared_source() -> None:
    data = iv_data()
    data["phases"][0]["source"] = "hearsay"

    assert "phases[0].source: source 'hearsay' is not declared" in problems_for(data)


def test_it_refuses_a_verified_threshold_from_an_unverified_source() -> None:
    data = iv_data()
    data["thresholds"]["stop_above_hr"]["verified"] = True

    assert "thresholds.stop_above_hr: verified=true needs a grade V source" in problems_for(data)


def test_it_refuses_a_soft_limit_above_the_hard_limit() -> None:
    data = iv_data()
    data["limits"]["soft_max"]["value"] = "1.5"

    assert "soft_max <= hard_max" in problems_for(data)


def test_it_refuses_a_standard_dose_outside_the_hard_limits() -> None:
    data = iv_data()
    data["dose_rule"]["mg_per_kg"] = "2"

    assert "dose_rule.mg_per_kg: 2 is outside the hard limits" in problems_for(data)


def test_it_refuses_an_iv_weight_dose_without_duration() -> None:
    data = iv_data()
    del data["dose_rule"]["duration_minutes"]

    assert "an IV weight-based dose needs a duration" in problems_for(data)


def test_it_refuses_undiluted_100_mg_per_ml_for_iv() -> None:
    data = iv_data()
    data["product"]["dilute_before_iv"] = False

    assert "product.dilute_before_iv" in problems_for(data)


def test_it_refuses_fixed_fields_on_a_weight_rule() -> None:
    data = iv_data()
    data["dose_rule"]["step_mg"] = "28"

    assert "step_mg belongs to basis fixed_mg" in problems_for(data)


def test_it_refuses_a_starting_dose_off_the_device_step() -> None:
    data = esketamine_data()
    data["starting_dose"]["dose"] = "50"

    assert "starting_dose.dose: 50 is not a multiple of step_mg 28" in problems_for(data)


def test_it_refuses_steps_that_split_a_device() -> None:
    data = esketamine_data()
    data["dose_rule"]["step_mg"] = "14"

    assert "device products dose in whole devices" in problems_for(data)


def test_it_refuses_repeated_check_keys() -> None:
    data = iv_data()
    data["pre_dose_checks"].append(copy.deepcopy(data["pre_dose_checks"][0]))

    assert "pre_dose_checks: repeated keys ['consent_current']" in problems_for(data)


def test_it_refuses_an_unknown_check_key() -> None:
    data = iv_data()
    data["pre_dose_checks"][0]["key"] = "horoscope_read"

    assert "pre_dose_checks[0].key" in problems_for(data)


def test_it_refuses_a_phase_with_two_frequencies() -> None:
    data = iv_data()
    data["phases"][0]["interval_days"] = 3

    assert "give per_week or interval_days, not both" in problems_for(data)


def test_it_refuses_a_phase_faster_than_the_weekly_cap() -> None:
    data = iv_data()
    data["phases"][0]["per_week"] = 3
    data["phases"][0]["sessions"] = 6

    assert "phases[0].per_week: above max_doses_per_week 2" in problems_for(data)


def test_it_refuses_a_phase_interval_shorter_than_the_minimum() -> None:
    data = iv_data()
    data["phases"][0] = {
        "key": "induction",
        "name": "induction",
        "interval_days": 1,
        "sessions": 6,
        "source": "elektd",
    }

    assert "shorter than min_interval_hours" in problems_for(data)


def test_it_refuses_a_bounded_phase_marked_open_ended() -> None:
    data = iv_data()
    data["phases"][0]["open_ended"] = True

    assert "give sessions or weeks, or mark the phase open_ended" in problems_for(data)


def test_it_refuses_an_inverted_integration_window() -> None:
    data = iv_data()
    data["support"]["integration_window_min_hours"] = 80

    assert "integration window min hours must be below max hours" in problems_for(data)


def test_it_requires_hours_when_measuring_after_a_dose() -> None:
    data = iv_data()
    data["measurements"][0]["after_dose_hours"] = []

    assert "measurements[0]" in problems_for(data)


def test_it_refuses_thresholds_in_the_wrong_order() -> None:
    data = iv_data()
    data["thresholds"]["stop_above_systolic"]["value"] = 130

    assert "systolic: need pre_dose_max < hold_above < stop_above" in problems_for(data)


def test_it_refuses_an_incomplete_repeat() -> None:
    data = iv_data()
    del data["monitoring"]["checkpoints"][1]["repeat_until_minutes"]

    assert "repeat_every_minutes and repeat_until_minutes go together" in problems_for(data)


def test_it_expands_repeated_checkpoints() -> None:
    protocol = load_protocol(iv_data())

    assert protocol.monitoring.checkpoints[1].minutes() == [10, 20, 30, 40]
    times = [minute for minute, _, _ in protocol.monitoring.schedule()]
    assert times == sorted(times)


def test_it_counts_planned_sessions_from_weeks() -> None:
    protocol = load_protocol(esketamine_data())

    assert [p.planned_sessions for p in protocol.phases] == [8, 4, None]


def test_it_lists_thresholds_that_are_not_verified() -> None:
    protocol = load_protocol(esketamine_data())

    assert protocol.unverified_thresholds() == [
        "stop_above_systolic",
        "stop_above_diastolic",
        "stop_above_hr",
    ]


def test_it_reports_bad_json_with_the_file_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"key": ', encoding="utf-8")

    with pytest.raises(ProtocolError) as caught:
        load_protocol(broken)

    assert "broken.json" in str(caught.value)
    assert "not valid JSON" in str(caught.value)


def test_it_reads_json_numbers_without_binary_floats(tmp_path: Path) -> None:
    data = iv_data()
    data["limits"]["soft_max"]["value"] = "0.7"
    path = tmp_path / "iv_ketamine_elektd.json"
    path.write_text(
        json.dumps(data, default=str).replace('"0.7"', "0.7"),
        encoding="utf-8",
    )

    protocol = load_protocol(path)

    assert protocol.limits.soft_max is not None
    assert protocol.limits.soft_max.value == Decimal("0.7")


def test_library_refuses_a_file_named_after_another_key(tmp_path: Path) -> None:
    (tmp_path / "renamed.json").write_text(json.dumps(iv_data(), default=str), encoding="utf-8")

    with pytest.raises(ProtocolError, match="does not match file name"):
        load_library(tmp_path)


def test_a_loaded_protocol_cannot_be_changed() -> None:
    protocol = load_protocol(iv_data())

    with pytest.raises(ValueError, match="frozen"):
        protocol.title = "changed"


def sublingual_data() -> dict[str, Any]:
    text = (LIBRARY / "sublingual_titration.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def test_take_home_is_refused_for_routes_given_in_clinic() -> None:
    data = iv_data()
    home = sublingual_data()
    data["take_home"] = home["take_home"]
    declared = {source["key"] for source in data["sources"]}
    data["sources"] += [s for s in home["sources"] if s["key"] not in declared]

    assert "take_home: not allowed for route 'iv'" in problems_for(data)


def test_take_home_fasting_needs_the_protocols_fasting_instructions() -> None:
    data = sublingual_data()
    data["take_home"]["checkin"].append("fasting")

    assert "'fasting' needs instructions.fasting" in problems_for(data)


def test_surveillance_kinds_are_not_repeated() -> None:
    data = sublingual_data()
    data["surveillance"].append(dict(data["surveillance"][0]))

    assert "surveillance: repeated keys ['bladder']" in problems_for(data)
