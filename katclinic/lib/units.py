"""Unit conversions for values clinicians type in."""

from decimal import ROUND_HALF_UP, Decimal

# The international avoirdupois pound is defined as exactly 0.45359237 kg (1959 agreement).
KG_PER_LB = Decimal("0.45359237")


def to_kg(value: Decimal, unit: str) -> Decimal:
    """Convert a weight to kilograms, rounded half-up to 0.1 kg."""
    if unit == "kg":
        kg = value
    elif unit == "lb":
        kg = value * KG_PER_LB
    else:
        raise ValueError(f"unknown weight unit {unit!r}; use kg or lb")
    return kg.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
