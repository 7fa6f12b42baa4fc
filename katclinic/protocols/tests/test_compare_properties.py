"""A start rule compares a patient fact with its value as Decimal arithmetic does, at the
boundary too, however many decimal places either number is written with."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from katclinic.protocols.schema import StartingDose, StartRule

OPS = (">=", ">", "<=", "<")
# Which signs of (fact - value) make each operator true.
TRUE_WHEN = {">=": {0, 1}, ">": {1}, "<=": {-1, 0}, "<": {-1}}

values = st.decimals(min_value=Decimal("0"), max_value=Decimal("250"), places=1)
nudges = st.sampled_from([Decimal(n) for n in ("0", "0.1", "-0.1", "0.01", "-0.01", "1", "-1")])
extra_places = st.integers(min_value=0, max_value=3)


def sign(difference: Decimal) -> int:
    if difference.is_zero():
        return 0
    return -1 if difference.is_signed() else 1


def rule(op: str, value: Decimal, dose: str = "0.5") -> StartRule:
    return StartRule.model_validate(
        {
            "fact": "age_years",
            "op": op,
            "value": value,
            "dose": Decimal(dose),
            "label": "A start rule",
            "verified": True,
            "source": "test_source",
        }
    )


def written(number: Decimal, places: int) -> Decimal:
    """The same number with more decimal places (65 as 65.000): equal, differently written."""
    return number.quantize(Decimal(10) ** -(2 + places))


@given(values, nudges, extra_places, st.sampled_from(OPS))
def test_a_start_rule_applies_exactly_when_the_difference_has_the_right_sign(
    value: Decimal, nudge: Decimal, places: int, op: str
) -> None:
    fact = written(value + nudge, places)
    applies = rule(op, value).applies({"age_years": fact})
    assert applies == (sign(fact - value) in TRUE_WHEN[op])


@given(values, extra_places)
def test_at_the_boundary_only_the_inclusive_operators_apply(value: Decimal, places: int) -> None:
    facts = {"age_years": written(value, places)}
    assert {op for op in OPS if rule(op, value).applies(facts)} == {">=", "<="}


@given(values, nudges, st.sampled_from([(">=", "<"), (">", "<=")]))
def test_opposite_operators_never_both_apply(
    value: Decimal, nudge: Decimal, pair: tuple[str, str]
) -> None:
    facts = {"age_years": value + nudge}
    first, second = (rule(op, value).applies(facts) for op in pair)
    assert first != second


@given(values, nudges)
def test_the_first_rule_that_applies_sets_the_starting_dose(value: Decimal, nudge: Decimal) -> None:
    older, younger = rule(">=", value, "0.25"), rule("<", value, "0.75")
    starting = StartingDose.model_validate(
        {"dose": Decimal("0.5"), "source": "test_source", "rules": [older, younger]}
    )
    fact = value + nudge
    dose, chosen = starting.for_facts({"age_years": fact})
    expected = older if sign(fact - value) >= 0 else younger
    assert (dose, chosen) == (expected.dose, expected)
