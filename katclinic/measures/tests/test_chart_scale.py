"""The chart's value axis: every value is drawn where it is, never clamped to the scale."""

from hypothesis import given, settings
from hypothesis import strategies as st

from katclinic.measures.charting import position, value_axis

# No example database: keeps the working tree free of a .hypothesis folder.
quick = settings(database=None, deadline=None, max_examples=200)
numbers = st.integers(min_value=-1000, max_value=1000)


@quick
@given(low=numbers, high=numbers, values=st.lists(numbers, min_size=1, max_size=30))
def test_every_value_maps_inside_the_drawing_area(low: int, high: int, values: list[int]) -> None:
    axis = value_axis(low=low, high=high, values=values)
    assert all(0 <= position(v, axis=axis) <= 1 for v in values)


@quick
@given(low=numbers, high=numbers, values=st.lists(numbers, min_size=2, max_size=30))
def test_the_mapping_is_monotonic(low: int, high: int, values: list[int]) -> None:
    axis = value_axis(low=low, high=high, values=values)
    ordered = sorted(values)
    placed = [position(v, axis=axis) for v in ordered]
    assert placed == sorted(placed)
    # distinct values stay apart, so two different scores are never drawn on top of each other
    span = axis[1] - axis[0]
    if span <= 1000:
        for a, b in zip(ordered, ordered[1:], strict=False):
            if a < b:
                assert position(a, axis=axis) < position(b, axis=axis)


@quick
@given(low=numbers, high=numbers, values=st.lists(numbers, max_size=30))
def test_the_axis_holds_the_scale_and_every_value(low: int, high: int, values: list[int]) -> None:
    bottom, top = value_axis(low=low, high=high, values=values)
    assert bottom < top
    assert bottom <= min([low, *values]) and max([high, *values]) <= top


def test_a_value_beyond_the_scale_is_drawn_at_its_own_height_not_at_the_edge() -> None:
    axis = value_axis(low=40, high=200, values=[120, 230])
    assert axis == (40, 230)
    assert position(230, axis=axis) == 1
    assert position(200, axis=axis) < 1
