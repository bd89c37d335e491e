"""Splitting a bill period: rate changes inside the period, move-in and move-out bills,
per-part determinants, and the engine's guarantees (ordering, rounding once per line)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.rating import (
    BillInput,
    Component,
    ComponentConfigError,
    IntervalSeries,
    NoRateInEffect,
    RateVersion,
    RatingDeterminants,
    rate_bill,
)

CHANGE = dt.date(2026, 3, 16)
OLD = RateVersion("R1-2025", dt.date(2025, 1, 1), CHANGE, (
    Component("fixed", "cust", {"amount": "10"}),
    Component("flat", "energy", {"price": "0.10"}),
))
NEW = RateVersion("R1-2026", CHANGE, None, (
    Component("fixed", "cust", {"amount": "12"}),
    Component("flat", "energy", {"price": "0.12"}),
))
TIERED = RateVersion("T1", dt.date(2020, 1, 1), None, (
    Component("fixed", "cust", {"amount": "10"}),
    Component("tiered", "energy", {"tiers": [{"limit": 600, "price": "0.087"}, {"price": "0.103"}]}),
))


def bill(start, end, **det):
    return BillInput(period_start=start, period_end=end, determinants=RatingDeterminants(**det))


def test_prorates_when_rate_changes_midcycle():
    # March (31 days, standard) with a new rate from Mar 16: 15 days old, 16 days new.
    # old: fixed 10 x 15/31 = 4.838710 -> 4.84; energy 620 x 15/31 = 300 kWh x 0.10 = 30.00
    # new: fixed 12 x 16/31 = 6.193548 -> 6.19; energy 620 x 16/31 = 320 kWh x 0.12 = 38.40
    result = rate_bill(bill(dt.date(2026, 3, 1), dt.date(2026, 4, 1), consumption=D("620")), [NEW, OLD])
    assert [(ln.part_start, ln.component_code, ln.quantity, ln.amount) for ln in result.lines] == [
        (dt.date(2026, 3, 1), "cust", D("1"), D("4.84")),
        (dt.date(2026, 3, 1), "energy", D("300"), D("30.00")),
        (CHANGE, "cust", D("1"), D("6.19")),
        (CHANGE, "energy", D("320"), D("38.40")),
    ]
    assert result.total == D("79.43")
    assert result.versions == ("R1-2025", "R1-2026")
    assert result.lines[0].proration == D("0.483871")


def test_rate_change_uses_per_part_determinants_when_given():
    # Actual split known: 250 kWh before, 370 after. 250 x 0.10 = 25.00; 370 x 0.12 = 44.40
    parts = {dt.date(2026, 3, 1): RatingDeterminants(consumption=D("250")), CHANGE: RatingDeterminants(consumption=D("370"))}
    bill_input = BillInput(period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 4, 1),
                           determinants=RatingDeterminants(consumption=D("620")), part_determinants=parts)
    result = rate_bill(bill_input, [OLD, NEW])
    assert [ln.amount for ln in result.lines if ln.component_code == "energy"] == [D("25.00"), D("44.40")]


def test_rate_change_with_intervals_splits_consumption_exactly():
    # 10 kWh a day for the 15 old days, 20 a day for the 16 new days:
    # 150 x 0.10 = 15.00; 320 x 0.12 = 38.40
    days = [D(10)] * 15 + [D(20)] * 16
    series = IntervalSeries(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), 1440, tuple(days))
    result = rate_bill(bill(dt.date(2026, 3, 1), dt.date(2026, 4, 1), consumption=D("470"), intervals=series), [OLD, NEW])
    assert [(ln.quantity, ln.amount) for ln in result.lines if ln.component_code == "energy"] == [
        (D("150"), D("15.00")), (D("320"), D("38.40"))]


def test_partial_first_bill_after_move_in():
    # Move-in Mar 20: 12 days. fixed 10 x 12/30 = 4.00; block limit 600 x 12/30 = 240 kWh;
    # 240 x 0.087 = 20.88; 60 x 0.103 = 6.18
    result = rate_bill(bill(dt.date(2026, 3, 20), dt.date(2026, 4, 1), consumption=D("300")), [TIERED])
    assert [ln.amount for ln in result.lines] == [D("4.00"), D("20.88"), D("6.18")]
    assert result.total == D("31.06")


def test_partial_final_bill_at_move_out():
    # Move-out Apr 9 (last day Apr 8): 8 days. fixed 10 x 8/30 = 2.666667 -> 2.67; 95 x 0.10 = 9.50
    result = rate_bill(bill(dt.date(2026, 4, 1), dt.date(2026, 4, 9), consumption=D("95")),
                       [RateVersion("R1", dt.date(2026, 1, 1), None, OLD.components)])
    assert [ln.amount for ln in result.lines] == [D("2.67"), D("9.50")]
    assert result.total == D("12.17")


def test_a_day_without_a_rate_is_an_error():
    with pytest.raises(NoRateInEffect, match="2026-03-16"):
        rate_bill(bill(dt.date(2026, 3, 1), dt.date(2026, 4, 1), consumption=D("1")), [OLD])


def test_unknown_kind_and_bad_params_are_config_errors():
    for comp in (Component("nonsense", "x", {}), Component("flat", "x", {}),
                 Component("tiered", "x", {"tiers": [{"price": 1}, {"limit": 5, "price": 2}]})):
        version = RateVersion("V", dt.date(2020, 1, 1), None, (comp,))
        with pytest.raises(ComponentConfigError):
            rate_bill(bill(dt.date(2026, 3, 1), dt.date(2026, 4, 1)), [version])


def test_each_line_is_rounded_once_and_the_total_is_their_sum():
    # Three lines of 0.005 each round to 0.01 each: total 0.03 (not round(0.015) = 0.02).
    version = RateVersion("V", dt.date(2020, 1, 1), None, tuple(
        Component("rider", f"r{i}", {"price": "0.00005"}) for i in range(3)))
    result = rate_bill(bill(dt.date(2026, 3, 1), dt.date(2026, 4, 1), consumption=D("100")), [version])
    assert [ln.amount for ln in result.lines] == [D("0.01")] * 3
    assert result.total == D("0.03")


def test_rating_is_deterministic():
    bill_input = bill(dt.date(2026, 3, 1), dt.date(2026, 4, 1), consumption=D("620"))
    assert rate_bill(bill_input, [NEW, OLD]) == rate_bill(bill_input, [OLD, NEW])


def test_components_round_trip_through_their_stored_json():
    stored = NEW.to_components_json()
    again = RateVersion("R1-2026", CHANGE, None, tuple(Component.from_dict(c) for c in stored))
    bill_input = bill(dt.date(2026, 4, 1), dt.date(2026, 5, 1), consumption=D("100"))
    assert rate_bill(bill_input, [again]).total == rate_bill(bill_input, [NEW]).total == D("24.00")
