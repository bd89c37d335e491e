"""rate_bill keeps each rate version's checked strategies and season-resolved params between
calls (a bill run rates thousands of bills under the same few versions). What it keeps must
never leak between months or between versions that share a code."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.rating import BillInput, Component, ComponentConfigError, RateVersion, RatingDeterminants, rate_bill


def _bill(start: dt.date, end: dt.date, kwh: str) -> BillInput:
    return BillInput(period_start=start, period_end=end, determinants=RatingDeterminants(consumption=D(kwh)))


def _flat(price) -> RateVersion:
    return RateVersion(code="R1", effective_start=dt.date(2020, 1, 1), effective_end=None,
                       components=(Component("flat", "energy", {"price": price}),))


def test_one_seasonal_version_rated_in_two_months_prices_each_month_by_its_own_season():
    version = _flat({"by_month": {str(m): ("0.20" if m in (6, 7, 8) else "0.10") for m in range(1, 13)}})
    january = rate_bill(_bill(dt.date(2026, 1, 1), dt.date(2026, 2, 1), "100"), [version])
    july = rate_bill(_bill(dt.date(2026, 7, 1), dt.date(2026, 8, 1), "100"), [version])
    january_again = rate_bill(_bill(dt.date(2026, 1, 1), dt.date(2026, 2, 1), "100"), [version])
    # 100 kWh x 0.10 = 10.00 in winter; x 0.20 = 20.00 in summer
    assert [ln.amount for ln in january.lines] == [D("10.00")]
    assert [ln.amount for ln in july.lines] == [D("20.00")]
    assert [ln.amount for ln in january_again.lines] == [D("10.00")]


def test_two_versions_with_the_same_code_and_start_each_use_their_own_price():
    bill = _bill(dt.date(2026, 1, 1), dt.date(2026, 2, 1), "100")
    first = rate_bill(bill, [_flat("0.10")])
    second = rate_bill(bill, [_flat("0.13")])
    # 100 x 0.10 = 10.00; 100 x 0.13 = 13.00
    assert [ln.amount for ln in first.lines] == [D("10.00")]
    assert [ln.amount for ln in second.lines] == [D("13.00")]


def test_a_version_with_bad_params_fails_on_every_call_not_only_the_first():
    bad = _flat("not a number")
    bill = _bill(dt.date(2026, 1, 1), dt.date(2026, 2, 1), "100")
    for _ in range(2):
        with pytest.raises(ComponentConfigError, match="price"):
            rate_bill(bill, [bad])
