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


# ---- display -------------------------------------------------------------------------------
# The one way money and prices are written for people (bills, e-bills, hubs). The utility's
# locale writes "$1,234.56", a negative amount "-$12.00"; the templates use these through the
# `money` / `price` filters of core/templatetags/formats.py.
CURRENCY_SYMBOL = "$"
THOUSANDS_SEPARATOR = ","
DECIMAL_SEPARATOR = "."


def _group(text: str) -> str:
    whole, _, frac = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", THOUSANDS_SEPARATOR) if whole else "0"
    return grouped + (DECIMAL_SEPARATOR + frac if frac else "")


def format_money(value) -> str:
    """An amount as "$1,234.56" (rounded half-up to cents), a negative one as "-$12.00";
    None or "" as ""."""
    if value is None or value == "":
        return ""
    amount = money(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}{CURRENCY_SYMBOL}{_group(f'{abs(amount):f}')}"


def format_price(value, *, max_places: int = 6) -> str:
    """A unit price: at least cents, at most `max_places` places, trailing zeros dropped
    ("$0.10", "$0.0825", "-$1.00")."""
    if value is None or value == "":
        return ""
    price = to_decimal(value).quantize(Decimal(1).scaleb(-max_places), rounding=ROUNDING)
    sign = "-" if price < 0 else ""
    whole, _, frac = f"{abs(price):f}".partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{sign}{CURRENCY_SYMBOL}{_group(whole + '.' + frac)}"


def format_number(value, *, max_places: int = 3) -> str:
    """A quantity for people: grouped thousands, at most `max_places` places, no trailing zeros
    ("1,234.5", "500")."""
    if value is None or value == "":
        return ""
    number = to_decimal(value).quantize(Decimal(1).scaleb(-max_places), rounding=ROUNDING)
    sign = "-" if number < 0 else ""
    text = f"{abs(number):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return sign + _group(text)
