"""A numeric screening rule fires exactly when the answer is beyond the clinic's limit as
Decimal arithmetic says, whether the limit and the answer are ints or Decimals written
with any number of places."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from katclinic.intake.eligibility import Citation, Condition, Rule, ScreeningFacts, evaluate

# Which signs of (answer - limit) make each operator fire.
FIRES_WHEN = {"gt": {1}, "gte": {0, 1}, "lt": {-1}, "lte": {-1, 0}}

limits = st.integers(min_value=60, max_value=220)
nudges = st.sampled_from([Decimal(n) for n in ("0", "1", "-1", "0.5", "-0.5", "0.01", "-0.01")])
extra_places = st.integers(min_value=0, max_value=3)


def rule(op: str) -> Rule:
    return Rule(
        key="systolic_limit",
        title="Systolic limit",
        fact="baseline_systolic_mmhg",
        condition=Condition(op=op, setting="limit"),  # type: ignore[arg-type]
        routes=frozenset({"iv"}),
        severity="needs_review",
        explanation="The baseline systolic pressure against the clinic's limit.",
        source=Citation(label="Test source", url="https://example.org/"),
    )


def sign(difference: Decimal) -> int:
    if difference.is_zero():
        return 0
    return -1 if difference.is_signed() else 1


@given(limits, nudges, extra_places, st.sampled_from(sorted(FIRES_WHEN)), st.booleans())
def test_a_limit_rule_fires_exactly_when_the_answer_is_beyond_it(
    limit: int, nudge: Decimal, places: int, op: str, limit_as_decimal: bool
) -> None:
    answer = (limit + nudge).quantize(Decimal(10) ** -(2 + places))
    setting = Decimal(limit).quantize(Decimal("0.1")) if limit_as_decimal else limit
    result = evaluate(
        [rule(op)], ScreeningFacts(baseline_systolic_mmhg=answer), "iv", {"limit": setting}
    )
    fired = [reason.rule_key for reason in result.reasons]
    assert fired == (["systolic_limit"] if sign(answer - limit) in FIRES_WHEN[op] else [])
    assert result.suggestion == ("needs_review" if fired else "eligible")
