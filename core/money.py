"""The one place that owns money rounding. Amounts are Decimal, stored with 2 places;
rates and intermediates keep 6 or more. Rounding is half-up, applied per bill line."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ROUNDING = ROUND_HALF_UP
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")


def to_decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # Go through repr so 0.1 stays 0.1 and not 0.1000000000000000055...
        return Decimal(repr(value))
    return Decimal(value)


def money(value) -> Decimal:
    """Round an amount to cents, half-up."""
    return to_decimal(value).quantize(CENT, rounding=ROUNDING)


def rate(value) -> Decimal:
    """Round a rate or intermediate quantity to 6 places, half-up."""
    return to_decimal(value).quantize(RATE_PLACES, rounding=ROUNDING)
