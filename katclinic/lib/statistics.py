"""Outcome statistics for small clinic cohorts, with no database and no numpy.

Everything here is a pure function of plain numbers so the outcomes pages,
reports and exports can share one tested implementation:

- `proportion` and `wilson_interval` for response and remission rates;
- `kaplan_meier` and `median_survival` for time to relapse, or time to
  response, when some patients are still being followed (censored), and
  `kaplan_meier_counted` for the same from counts per time (a grouped query);
- `median_of_counts`, the median of values given as counts per value;
- `percent_change` for the change in a score from baseline.

Percentages are returned as fractions (0.536, not 53.6) except in
`percent_change`, whose name says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True, slots=True)
class Interval:
    """A proportion with its confidence interval.

    `estimate` is None when there were no observations (n == 0); the bounds
    are then the whole range [0, 1], because no data rule nothing out.
    """

    estimate: float | None
    lower: float
    upper: float
    successes: int
    n: int
    confidence: float


@dataclass(frozen=True, slots=True)
class KmStep:
    """One row of a Kaplan-Meier table: the state just after `time`.

    `lower` and `upper` are the pointwise confidence bounds of `survival`
    (95% by default). They are None where the interval is undefined: before
    the first event (survival is exactly 1) and once survival reaches 0.
    """

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    lower: float | None
    upper: float | None


def _z_for(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def proportion(successes: int, n: int) -> float | None:
    """Return successes / n as a fraction, or None when n is 0.

    None rather than 0.0 keeps "nobody measured yet" apart from "nobody
    responded" on a dashboard.
    """
    _check_counts(successes, n)
    if n == 0:
        return None
    return successes / n


def _check_counts(successes: int, n: int) -> None:
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n}), got {successes}")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion.

    Wilson (1927) inverted the score test rather than the Wald test, so the
    interval is centred on (p + z²/2n) / (1 + z²/n) instead of on p:

        centre    = (p + z²/(2n)) / (1 + z²/n)
        halfwidth = z / (1 + z²/n) · sqrt(p(1 − p)/n + z²/(4n²))

    Unlike the familiar p ± z·sqrt(p(1 − p)/n) it never leaves [0, 1] and
    keeps close to its nominal coverage for the small samples and extreme
    rates a single clinic sees; at 0/n it still gives a non-zero upper bound.
    Newcombe (1998) compared seven methods and recommends this one; his worked
    examples are used in the tests. No continuity correction is applied.

    References: E. B. Wilson, J Am Stat Assoc 1927;22:209-212.
    R. G. Newcombe, Stat Med 1998;17:857-872.

    With n == 0 there is nothing to estimate: the result has estimate None
    and bounds [0, 1] rather than raising, so a report can show "no data".
    """
    _check_counts(successes, n)
    z = _z_for(confidence)
    if n == 0:
        return Interval(None, 0.0, 1.0, successes, n, confidence)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    halfwidth = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    # The bounds are exactly 0 and 1 at the extremes; rounding must not
    # produce -1e-17 or a bound that misses the estimate.
    lower = 0.0 if successes == 0 else max(0.0, centre - halfwidth)
    upper = 1.0 if successes == n else min(1.0, centre + halfwidth)
    return Interval(p, lower, upper, successes, n, confidence)


def percent_change(baseline: float, latest: float) -> float | None:
    """Change from baseline as a percentage of baseline; negative is a fall.

    A PHQ-9 going from 20 to 8 gives -60.0. Response is conventionally a fall
    of at least 50% (Rush AJ et al., Neuropsychopharmacology 2006;31:1841-1853),
    i.e. a result <= -50.0. A baseline of 0
    has no relative change, so the result is None.
    """
    if baseline == 0:
        return None
    return (latest - baseline) / baseline * 100.0


def kaplan_meier(
    durations: Sequence[float],
    events: Sequence[bool],
    confidence: float = 0.95,
) -> list[KmStep]:
    """Kaplan-Meier product-limit estimate of the survival function.

    `durations[i]` is the follow-up time of subject i and `events[i]` is True
    if the event (e.g. relapse) happened at that time, False if the subject
    was censored then (still event-free when last seen).

    At each distinct time t with d events among the n subjects still at risk,
    survival is multiplied by (1 − d/n) (Kaplan & Meier 1958). Times where only
    censoring happened get a row too, with survival unchanged. When events and
    censorings share a time, the censored subjects count as at risk for those
    events, the usual convention that they were lost just after t.

    The confidence band uses Greenwood's (1926) variance,
        Var[S(t)] ≈ S(t)² · Σ d/(n(n − d)),
    on the log(−log S) scale (Kalbfleisch & Prentice), which keeps the bounds
    inside [0, 1] without clipping: bounds are S^exp(±z·se), where
    se = sqrt(Σ d/(n(n − d))) / |log S|.

    References: E. L. Kaplan, P. Meier, J Am Stat Assoc 1958;53:457-481.
    M. Greenwood, Reports on Public Health and Medical Subjects no. 33, 1926.
    J. D. Kalbfleisch, R. L. Prentice, The Statistical Analysis of Failure
    Time Data, Wiley 1980.
    """
    _check_survival_input(durations, events)
    z = _z_for(confidence)
    return _product_limit(_tally(durations, events), len(durations), z)


def kaplan_meier_counted(
    groups: Iterable[tuple[float, int, int]], confidence: float = 0.95
) -> list[KmStep]:
    """`kaplan_meier` from (time, events, subjects) counts: `subjects` followed until `time`,
    `events` of whom had the event then and the rest were censored then. The same steps as
    `kaplan_meier` over the subjects listed one by one, for the work of the distinct times."""
    tally: dict[float, list[int]] = {}
    at_risk = 0
    for time, died, subjects in groups:
        if not math.isfinite(time) or time < 0:
            raise ValueError(f"durations must be finite and non-negative, got {time}")
        if not 0 <= died <= subjects:
            raise ValueError(f"events must be within 0..{subjects}, got {died}")
        counts = tally.setdefault(float(time), [0, 0])
        counts[0] += died
        counts[1] += subjects - died
        at_risk += subjects
    return _product_limit(tally, at_risk, _z_for(confidence)) if at_risk else []


def median_of_counts(counts: Mapping[int, int]) -> float | int | None:
    """`statistics.median` of the values with `counts[value]` copies of each (None when
    there are none): the middle value, or the mean of the two middle ones."""
    n = sum(counts.values())
    if not n:
        return None
    middle = sorted(v for v, c in counts.items() if c > 0)
    wanted = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    found: list[int] = []
    seen = 0
    for value in middle:
        seen += counts[value]
        while wanted and wanted[0] < seen:
            found.append(value)
            wanted.pop(0)
    return found[0] if n % 2 else (found[0] + found[1]) / 2


def _tally(durations: Sequence[float], events: Sequence[bool]) -> dict[float, list[int]]:
    """[events, censored] at each distinct time."""
    tally: dict[float, list[int]] = {}
    for duration, event in zip(durations, events, strict=True):
        counts = tally.setdefault(float(duration), [0, 0])
        counts[0 if event else 1] += 1
    return tally


def _product_limit(tally: dict[float, list[int]], at_risk: int, z: float) -> list[KmStep]:
    """The Kaplan-Meier steps from the tally, `at_risk` subjects followed from time 0."""
    steps: list[KmStep] = []
    survival = 1.0
    greenwood_sum = 0.0
    for time in sorted(tally):
        died, censored = tally[time]
        if died:
            survival *= 1.0 - died / at_risk
            greenwood_sum += math.inf if died == at_risk else died / (at_risk * (at_risk - died))
        lower, upper = _loglog_bounds(survival, greenwood_sum, z)
        steps.append(KmStep(time, at_risk, died, censored, survival, lower, upper))
        at_risk -= died + censored
    return steps


def _check_survival_input(durations: Sequence[float], events: Sequence[bool]) -> None:
    if len(durations) != len(events):
        raise ValueError(
            f"durations and events differ in length ({len(durations)} != {len(events)})"
        )
    for duration in durations:
        if not math.isfinite(duration) or duration < 0:
            raise ValueError(f"durations must be finite and non-negative, got {duration}")


def _loglog_bounds(
    survival: float, greenwood_sum: float, z: float
) -> tuple[float | None, float | None]:
    if survival <= 0.0 or survival >= 1.0 or math.isinf(greenwood_sum):
        return None, None
    se = math.sqrt(greenwood_sum) / abs(math.log(survival))
    return survival ** math.exp(z * se), survival ** math.exp(-z * se)


def median_survival(steps: Sequence[KmStep]) -> float | None:
    """The first time at which estimated survival is at or below 0.5.

    None when the curve never gets that low (the median is not reached, as
    with most short follow-ups). Where the curve sits exactly on 0.5 for a
    while, some packages report the midpoint of that flat stretch; this
    returns its start, the plain definition min{t : S(t) <= 0.5}.
    """
    for step in steps:
        if step.survival <= 0.5:
            return step.time
    return None
