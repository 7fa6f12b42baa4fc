"""The clinic's surveillance screens: any yes is positive, all no is negative."""

import pytest

from katclinic.measures.scoring import InvalidAnswers, load_builtin_instruments, score
from katclinic.surveillance.schedule import SCREEN_INSTRUMENTS

INSTRUMENTS = load_builtin_instruments()
SCREENS = sorted(SCREEN_INSTRUMENTS.values())


@pytest.mark.parametrize("key", SCREENS)
def test_every_screen_ships_and_says_it_is_not_a_validated_scale(key: str) -> None:
    definition = INSTRUMENTS[key]
    assert "not a validated scale" in definition.licence
    assert "any yes" in definition.licence
    assert definition.total_range is None
    assert {flag.item for flag in definition.flags} == {item.link_id for item in definition.items}


@pytest.mark.parametrize("key", SCREENS)
def test_all_no_is_negative(key: str) -> None:
    definition = INSTRUMENTS[key]
    result = score(definition, {item.link_id: 0 for item in definition.items})
    assert (result.complete, result.flags, result.total) == (True, (), None)


@pytest.mark.parametrize("key", SCREENS)
def test_each_single_yes_is_positive(key: str) -> None:
    definition = INSTRUMENTS[key]
    for item in definition.items:
        answers = {other.link_id: int(other.link_id == item.link_id) for other in definition.items}
        assert len(score(definition, answers).flags) == 1, item.link_id


def test_bladder_screen_names_each_symptom_found() -> None:
    answers = {"q1": 1, "q2": 0, "q3": 1, "q4": 1, "q5": 0}
    flags = score(INSTRUMENTS["bladder_screen"], answers).flags
    assert flags == ("bladder_frequency", "bladder_pain", "bladder_blood")


def test_a_yes_flag_is_raised_even_before_every_item_is_answered() -> None:
    result = score(INSTRUMENTS["misuse_screen"], {"q1": 1})
    assert result.complete is False and result.flags == ("misuse_craving",)


def test_answers_other_than_yes_or_no_are_refused() -> None:
    with pytest.raises(InvalidAnswers):
        score(INSTRUMENTS["cognition_screen"], {"q1": 2, "q2": 0, "q3": 0, "q4": 0})
