"""TOU periods come from local time: DST days have 23 or 25 hours, holidays use the weekend
schedule. Determinants are derived from the interval series by the engine."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import holidays

from billing.rating import (
    BillInput,
    Component,
    IntervalSeries,
    RateVersion,
    RatingDeterminants,
    determinants_from_intervals,
    rate_bill,
)
from billing.rating.calendar import schedules_from_components

TORONTO = ZoneInfo("America/Toronto")


def hourly_from_local_midnight(day: dt.date, values) -> IntervalSeries:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=TORONTO).astimezone(dt.timezone.utc)
    return IntervalSeries(start, 60, tuple(D(v) for v in values))


def one_day(day, series, version, **kwargs):
    bill_input = BillInput(period_start=day, period_end=day + dt.timedelta(days=1),
                           determinants=RatingDeterminants(intervals=series), time_zone="America/Toronto", **kwargs)
    return rate_bill(bill_input, [version])


# Weekend grid that singles out local 01:00 and 03:00, to see which hours a DST day has.
NIGHT = [["off", "p1", "off", "p3"] + ["off"] * 20 for _ in range(12)]
DST_VERSION = RateVersion("TOU-N", dt.date(2020, 1, 1), None, (
    Component("tou_schedule", "periods", {"weekday": NIGHT, "weekend": NIGHT}),
    Component("tou", "energy", {"periods": {"p1": "0.30", "p3": "0.50", "off": "0.10"}}),
))


def test_tou_on_the_spring_forward_day_has_no_2am_and_23_hours():
    # 2026-03-08: clocks jump 02:00 -> 03:00. 23 hourly intervals of 1 kWh.
    # p1 (01:00) 1 x 0.30 = 0.30; p3 (03:00) 1 x 0.50 = 0.50; off: 21 x 0.10 = 2.10
    day = dt.date(2026, 3, 8)
    result = one_day(day, hourly_from_local_midnight(day, [1] * 23), DST_VERSION)
    assert [(ln.tou_period, ln.quantity, ln.amount) for ln in result.lines] == [
        ("p1", D("1"), D("0.30")), ("p3", D("1"), D("0.50")), ("off", D("21"), D("2.10"))]
    assert result.total == D("2.90")


def test_tou_on_the_fall_back_day_counts_1am_twice():
    # 2026-11-01: 01:00-02:00 happens twice; 25 intervals. p1 2 x 0.30 = 0.60; p3 0.50; off 22 x 0.10 = 2.20
    day = dt.date(2026, 11, 1)
    result = one_day(day, hourly_from_local_midnight(day, [1] * 25), DST_VERSION)
    assert [(ln.tou_period, ln.quantity, ln.amount) for ln in result.lines] == [
        ("p1", D("2"), D("0.60")), ("p3", D("1"), D("0.50")), ("off", D("22"), D("2.20"))]


# Weekdays: on-peak 07:00-19:00; weekends and holidays: off-peak all day.
PEAK = [["off"] * 7 + ["on"] * 12 + ["off"] * 5 for _ in range(12)]
WEEKDAY_VERSION = RateVersion("TOU-D", dt.date(2020, 1, 1), None, (
    Component("tou_schedule", "periods", {"weekday": PEAK, "weekend": [["off"] * 24] * 12}),
    Component("tou", "energy", {"periods": {"off": "0.08", "on": "0.25"}}),
))
CANADA_DAY = dt.date(2026, 7, 1)  # a Wednesday


def test_tou_on_a_working_weekday_uses_the_weekday_schedule():
    # 2 kWh every hour: on 12 h x 2 = 24 kWh x 0.25 = 6.00; off 24 kWh x 0.08 = 1.92
    result = one_day(CANADA_DAY, hourly_from_local_midnight(CANADA_DAY, [2] * 24), WEEKDAY_VERSION)
    assert [(ln.tou_period, ln.amount) for ln in result.lines] == [("off", D("1.92")), ("on", D("6.00"))]


def test_tou_on_a_holiday_is_priced_as_a_weekend():
    # Canada Day from the holiday calendar: all 48 kWh off-peak x 0.08 = 3.84
    calendar = frozenset(holidays.Canada(years=2026, subdiv="ON"))
    assert CANADA_DAY in calendar
    result = one_day(CANADA_DAY, hourly_from_local_midnight(CANADA_DAY, [2] * 24), WEEKDAY_VERSION, holidays=calendar)
    assert [(ln.tou_period, ln.quantity, ln.amount) for ln in result.lines] == [("off", D("48"), D("3.84"))]


def test_demand_from_quarter_hours_is_kwh_times_four_per_period():
    # 15-minute kWh 0.5 all day except one on-peak quarter at 2.5 kWh (10 kW).
    day = dt.date(2026, 7, 2)
    values = [D("0.5")] * 96
    values[40] = D("2.5")  # 10:00 local
    start = dt.datetime(2026, 7, 2, tzinfo=TORONTO).astimezone(dt.timezone.utc)
    det = determinants_from_intervals(
        IntervalSeries(start, 15, tuple(values)), start=day, end=day + dt.timedelta(days=1), time_zone="America/Toronto",
        schedules=schedules_from_components(WEEKDAY_VERSION.components))
    # 95 x 0.5 + 2.5 = 50 kWh; on-peak 48 quarters: 47 x 0.5 + 2.5 = 26 kWh
    assert det.consumption == D("50")
    assert det.consumption_by_period == {"off": D("24"), "on": D("26")}
    assert det.max_demand_kw == D("10")
    assert det.max_demand_kw_by_period == {"off": D("2"), "on": D("10")}
