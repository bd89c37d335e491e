"""core.money: the one rounding helper. Amounts to 2 places and rates to 6, half-up (away from
zero on a tie, negatives too), floats through their repr."""
from __future__ import annotations

from decimal import Decimal as D
from decimal import InvalidOperation

import pytest

from core.money import CENT, RATE_PLACES, money, rate, to_decimal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("value", "expected"), [
    ("2.345", "2.35"),      # a tie goes up
    ("2.344999", "2.34"),
    ("2.355", "2.36"),      # not banker's rounding (that would give 2.36 here and 2.34 above)
    ("2.325", "2.33"),
    ("-2.345", "-2.35"),    # half-up is away from zero for negatives
    ("-2.344", "-2.34"),
    ("-0.005", "-0.01"),
    ("0.004", "0.00"),
    ("5", "5.00"),
    (7, "7.00"),
    ("1234567.895", "1234567.90"),
])
def test_money_rounds_to_cents_half_up(value, expected):
    result = money(value)
    assert result == D(expected)
    assert str(result) == expected  # always 2 places
    assert result.as_tuple().exponent == -2


def test_money_of_a_float_goes_through_its_repr():
    # Decimal(2.675) is 2.67499999...; repr gives "2.675", which rounds up as written.
    assert money(2.675) == D("2.68")
    assert money(0.1 + 0.2) == D("0.30")
    assert money(-1.005) == D("-1.01")


@pytest.mark.parametrize(("value", "expected"), [
    ("0.1234565", "0.123457"),
    ("0.1234564999", "0.123456"),
    ("-0.0000005", "-0.000001"),
    ("0.0000004", "0.000000"),
    ("12", "12.000000"),
    (0.0825, "0.082500"),
])
def test_rate_keeps_six_places_half_up(value, expected):
    result = rate(value)
    assert str(result) == expected
    assert result.as_tuple().exponent == -6


def test_a_rate_keeps_what_money_would_round_away():
    quantity, price = D("333.333"), rate("0.1066665")
    assert price == D("0.106667")
    assert money(quantity * price) == D("35.56")  # rounded once, on the line amount


def test_to_decimal_passes_decimals_through_and_refuses_garbage():
    value = D("1.10")
    assert to_decimal(value) is value
    assert to_decimal("1.10") == D("1.10") and to_decimal(3) == D(3)
    assert to_decimal(0.1) == D("0.1")
    with pytest.raises(InvalidOperation):
        to_decimal("ten")
    with pytest.raises(TypeError):
        to_decimal(None)


def test_constants():
    assert (CENT, RATE_PLACES) == (D("0.01"), D("0.000001"))
