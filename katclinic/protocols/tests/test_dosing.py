from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katclinic.protocols.dosing import (
    KG_PER_LB,
    DoseOutOfRange,
    DoseStepError,
    ReasonRequired,
    compute_dose,
    cumulative_mg,
    from_kg,
    titrate,
    to_kg,
    weight_is_stale,
)
from katclinic.protocols.schema import Protocol, load_library

LIBRARY = load_library()
IV = LIBRARY["iv_ketamine_elektd"]
ESKETAMINE = LIBRARY["esketamine_trd"]
SUBLINGUAL = LIBRARY["sublingual_titration"]
IM = LIBRARY["im_ketamine"]

# Weights for which 0.5 mg/kg IV stays inside 0.1-0.75 mg/kg (any weight does) and
# which the test treats as realistic adult weights.
weights = st.decimals(min_value=Decimal("30"), max_value=Decimal("200"), places=1)


def test_it_shows_the_weight_arithmetic() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=None)

    assert calc.dose_mg == Decimal("35.0")
    assert any(line.startswith("0.5 mg/kg x 70.0 kg = 35.0 mg") for line in calc.lines)


def test_it_shows_volume_at_the_product_concentration() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=None)

    assert calc.volume_ml == Decimal("0.35")
    assert "Volume: 35.0 mg / 100 mg/mL = 0.35 mL" in calc.lines


def test_it_gives_the_infusion_rate_per_minute_and_hour() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=None)

    assert calc.rate_mg_per_min == Decimal("0.875")
    assert calc.rate_mg_per_h == Decimal("52.5")
    assert "Rate: 35.0 mg x 60 / 40 min = 52.5 mg/h" in calc.lines


def test_it_rounds_the_dose_half_up_and_says_so() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70.3"), age_years=40, requested_mg=None)

    assert calc.dose_mg == Decimal("35.2")
    assert any("= 35.15 mg, rounded to 35.2 mg" in line for line in calc.lines)


def test_it_rounds_the_weight_before_dosing() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70.25"), age_years=40, requested_mg=None)

    assert calc.weight_kg == Decimal("70.3")
    assert calc.lines[0] == "Weight 70.25 kg, rounded half-up to 70.3 kg"


def test_it_refuses_a_dose_above_the_hard_maximum() -> None:
    with pytest.raises(DoseOutOfRange) as caught:
        compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=Decimal("70.1"))

    assert caught.value.limit == "hard_max"
    assert caught.value.bound_mg == Decimal("70.0")
    assert "dose_finding_rct" in str(caught.value)


def test_it_refuses_a_dose_below_the_hard_minimum() -> None:
    with pytest.raises(DoseOutOfRange) as caught:
        compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=Decimal("6.9"))

    assert caught.value.limit == "hard_min"
    assert "below the hard_min limit of 7.0 mg" in str(caught.value)


def test_it_accepts_a_dose_exactly_at_the_hard_maximum() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=Decimal("70"))

    assert calc.dose_mg == Decimal("70.0")
    assert calc.requires_reason


def test_a_dose_past_the_soft_maximum_needs_a_reason() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=Decimal("60"))

    assert calc.requires_reason
    assert calc.soft_limit is not None and "soft maximum of 52.5 mg" in calc.soft_limit
    with pytest.raises(ReasonRequired):
        calc.confirm("   ")
    calc.confirm("Partial response at 0.75 mg/kg after four infusions")


def test_a_dose_within_soft_limits_needs_no_reason() -> None:
    calc = compute_dose(IV, weight_kg=Decimal("70"), age_years=40, requested_mg=Decimal("52.5"))

    assert not calc.requires_reason
    calc.confirm(None)


def test_it_counts_esketamine_devices() -> None:
    calc = compute_dose(ESKETAMINE, weight_kg=Decimal("80"), age_years=40, requested_mg=None)

    assert calc.dose_mg == Decimal("56.0")
    assert calc.devices == 2
    assert any("= 2 devices, 5 min rest between devices" in line for line in calc.lines)


def test_it_refuses_an_esketamine_dose_that_splits_a_device() -> None:
    with pytest.raises(DoseStepError, match="28 mg devices"):
        compute_dose(ESKETAMINE, weight_kg=Decimal("80"), age_years=40, requested_mg=Decimal("70"))


def test_it_refuses_an_esketamine_dose_above_84_mg() -> None:
    with pytest.raises(DoseOutOfRange) as caught:
        compute_dose(ESKETAMINE, weight_kg=Decimal("80"), age_years=40, requested_mg=Decimal("112"))

    assert caught.value.limit == "hard_max"


def test_28_mg_needs_a_reason_under_65_but_not_at_65() -> None:
    young = compute_dose(
        ESKETAMINE, weight_kg=Decimal("80"), age_years=64, requested_mg=Decimal("28")
    )
    older = compute_dose(
        ESKETAMINE, weight_kg=Decimal("80"), age_years=65, requested_mg=Decimal("28")
    )

    assert young.requires_reason
    assert not older.requires_reason


def test_it_has_no_rate_or_volume_without_duration_or_concentration() -> None:
    calc = compute_dose(SUBLINGUAL, weight_kg=Decimal("80"), age_years=40, requested_mg=None)

    assert calc.dose_mg == Decimal("50.0")
    assert calc.volume_ml is None
    assert calc.rate_mg_per_min is None
    assert calc.devices is None


def test_it_refuses_a_weight_of_zero() -> None:
    with pytest.raises(ValueError, match="weight must be positive"):
        compute_dose(IV, weight_kg=Decimal("0"), age_years=40, requested_mg=None)


def test_titration_steps_up_to_the_clinic_maximum() -> None:
    assert titrate(SUBLINGUAL, previous_mg=Decimal("50")) == Decimal("75")
    assert titrate(SUBLINGUAL, previous_mg=Decimal("290")) == Decimal("300")


def test_titration_needs_a_titration_protocol() -> None:
    with pytest.raises(ValueError, match="no titration"):
        titrate(IV, previous_mg=Decimal("35"))


def test_it_converts_pounds_to_kilograms_exactly() -> None:
    assert to_kg(Decimal("1"), "lb") == Decimal("0.45359237")
    assert to_kg(Decimal("154"), "lb") == Decimal("69.85322498")
    assert to_kg(Decimal("70"), "kg") == Decimal("70")


def test_it_refuses_an_unknown_weight_unit() -> None:
    with pytest.raises(ValueError, match="unknown weight unit 'stone'"):
        to_kg(Decimal("11"), "stone")  # type: ignore[arg-type]


def test_weight_is_fresh_up_to_the_limit_and_stale_after() -> None:
    today = date(2026, 3, 10)

    assert not weight_is_stale(date(2026, 2, 8), today, 30)
    assert weight_is_stale(date(2026, 2, 7), today, 30)


def test_a_weight_from_the_future_is_refused() -> None:
    with pytest.raises(ValueError, match="future"):
        weight_is_stale(date(2026, 3, 11), date(2026, 3, 10), 30)


def test_cumulative_dose_counts_a_half_open_window() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    doses = [
        (start - timedelta(minutes=1), Decimal("35.0")),
        (start, Decimal("35.0")),
        (start + timedelta(days=3), Decimal("36.5")),
        (start + timedelta(days=7), Decimal("35.0")),
    ]

    total = cumulative_mg(doses, start, start + timedelta(days=7))

    assert total == Decimal("71.5")


def test_cumulative_dose_refuses_naive_datetimes() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    naive = start.replace(tzinfo=None)

    with pytest.raises(ValueError, match="timezone-aware"):
        cumulative_mg([(naive, Decimal("35"))], start, start + timedelta(days=7))


@given(weights)
def test_dose_is_the_rounded_product_of_rate_and_weight(weight: Decimal) -> None:
    calc = compute_dose(IV, weight_kg=weight, age_years=40, requested_mg=None)

    exact = Decimal("0.5") * weight
    assert abs(calc.dose_mg - exact) <= Decimal("0.05")
    assert calc.dose_mg == calc.dose_mg.quantize(Decimal("0.1"))


@given(weights, st.integers(min_value=2, max_value=4))
def test_dose_scales_linearly_with_weight(weight: Decimal, factor: int) -> None:
    light = compute_dose(IM, weight_kg=weight / factor, age_years=40, requested_mg=None)
    heavy = compute_dose(IM, weight_kg=weight, age_years=40, requested_mg=None)

    # Each side is rounded to 0.1 kg and then to 0.1 mg, so the gap is bounded by rounding.
    assert abs(heavy.dose_mg - factor * light.dose_mg) <= Decimal("0.1") * factor


@given(st.decimals(min_value=Decimal("1"), max_value=Decimal("100"), places=2))
def test_requested_doses_are_rounded_to_a_tenth_of_a_mg(requested: Decimal) -> None:
    try:
        calc = compute_dose(IV, weight_kg=Decimal("100"), age_years=40, requested_mg=requested)
    except DoseOutOfRange:
        assert requested < Decimal("9.95") or requested >= Decimal("100.05")
        return

    assert calc.dose_mg.as_tuple().exponent == -1
    assert abs(calc.dose_mg - requested) <= Decimal("0.05")


@given(st.integers(min_value=1, max_value=120))
def test_esketamine_accepts_only_whole_devices(requested: int) -> None:
    try:
        calc = compute_dose(
            ESKETAMINE, weight_kg=Decimal("80"), age_years=70, requested_mg=Decimal(requested)
        )
    except DoseStepError:
        assert requested % 28 != 0
        return
    except DoseOutOfRange:
        assert requested > 84
        return

    assert calc.devices is not None
    assert calc.devices * 28 == calc.dose_mg
    assert calc.devices in (1, 2, 3)


@given(st.decimals(min_value=Decimal("0.1"), max_value=Decimal("1000"), places=3))
def test_pounds_round_trip_through_kilograms(pounds: Decimal) -> None:
    kilograms = to_kg(pounds, "lb")

    assert from_kg(kilograms, "lb") == pounds
    assert kilograms == pounds * KG_PER_LB


def _protocol_keys(library: dict[str, Protocol]) -> list[str]:
    return sorted(library)


def test_every_shipped_protocol_doses_a_70_kg_adult() -> None:
    for key in _protocol_keys(LIBRARY):
        calc = compute_dose(LIBRARY[key], weight_kg=Decimal("70"), age_years=40)

        assert calc.dose_mg > 0, key
        assert calc.lines[-1].startswith("Rounding:"), key
