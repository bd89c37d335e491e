"""Each component kind, rated on its own with hand-computed amounts (arithmetic in comments)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.rating import (
    BillInput,
    Component,
    Fixture,
    IntervalSeries,
    MonthlyDemand,
    RateVersion,
    RatingDeterminants,
    RatingError,
    rate_bill,
)

JAN = (dt.date(2026, 1, 1), dt.date(2026, 2, 1))


def version(*components: Component, start=dt.date(2020, 1, 1), end=None, code="R1") -> RateVersion:
    return RateVersion(code=code, effective_start=start, effective_end=end, components=components)


def rate(components, period=JAN, **kwargs):
    det_fields = {k: kwargs.pop(k) for k in list(kwargs) if k in RatingDeterminants.__dataclass_fields__}
    bill = BillInput(period_start=period[0], period_end=period[1], determinants=RatingDeterminants(**det_fields), **kwargs)
    return rate_bill(bill, [version(*components)])


def amounts(result):
    return [line.amount for line in result.lines]


# --- fixed -------------------------------------------------------------------------------

def test_fixed_charge_is_whole_for_a_calendar_month():
    result = rate([Component("fixed", "cust", {"amount": "12.50"})])
    assert amounts(result) == [D("12.50")]
    assert result.lines[0].proration == 1


def test_fixed_charge_is_prorated_for_a_partial_first_bill():
    # Move-in on Jan 21: 11 days. 12.50 x 11/30 = 4.583333 -> 4.58
    result = rate([Component("fixed", "cust", {"amount": "12.50"})], period=(dt.date(2026, 1, 21), dt.date(2026, 2, 1)))
    assert amounts(result) == [D("4.58")]
    assert result.lines[0].proration == D("0.366667")


def test_fixed_charge_per_day_counts_the_days():
    # 0.41 x 31 days = 12.71
    result = rate([Component("fixed", "cust", {"amount": "0.41", "per": "day"})])
    assert amounts(result) == [D("12.71")]
    assert result.lines[0].quantity == 31


# --- flat, tiers, seasons ------------------------------------------------------------------

def test_flat_energy_is_consumption_times_price_rounded_once():
    # 523.4 kWh x 0.1187 = 62.12758 -> 62.13
    result = rate([Component("flat", "energy", {"price": "0.1187"})], consumption=D("523.4"))
    assert amounts(result) == [D("62.13")]
    assert (result.lines[0].quantity, result.lines[0].price, result.lines[0].unit) == (D("523.4"), D("0.1187"), "kWh")


def test_inclining_blocks_split_consumption_at_the_limit():
    # 600 x 0.087 = 52.20; 350 x 0.103 = 36.05
    tiers = [{"limit": 600, "price": "0.087"}, {"price": "0.103"}]
    result = rate([Component("tiered", "energy", {"tiers": tiers})], consumption=D("950"))
    assert amounts(result) == [D("52.20"), D("36.05")]
    assert [ln.tier for ln in result.lines] == [1, 2]
    assert [ln.quantity for ln in result.lines] == [D("600"), D("350")]


def test_block_limits_are_scaled_for_a_35_day_period():
    # 35 days is not a standard month: the 600 kWh block becomes 600 x 35/30 = 700 kWh.
    # 700 x 0.087 = 60.90; 250 x 0.103 = 25.75
    tiers = [{"limit": 600, "price": "0.087"}, {"price": "0.103"}]
    result = rate([Component("tiered", "energy", {"tiers": tiers})], consumption=D("950"),
                  period=(dt.date(2026, 1, 5), dt.date(2026, 2, 9)))
    assert amounts(result) == [D("60.90"), D("25.75")]
    assert [ln.quantity for ln in result.lines] == [D("700"), D("250")]
    assert result.lines[0].proration == D("1.166667")


def test_declining_blocks():
    # 1000 x 0.12 = 120.00; 4000 x 0.09 = 360.00; 1200 x 0.07 = 84.00
    tiers = [{"limit": 1000, "price": "0.12"}, {"limit": 5000, "price": "0.09"}, {"price": "0.07"}]
    result = rate([Component("tiered", "energy", {"tiers": tiers})], consumption=D("6200"))
    assert amounts(result) == [D("120.00"), D("360.00"), D("84.00")]
    assert result.total == D("564.00")


def test_usage_inside_the_first_block_makes_one_line():
    tiers = [{"limit": 600, "price": "0.087"}, {"price": "0.103"}]
    result = rate([Component("tiered", "energy", {"tiers": tiers})], consumption=D("100"))
    assert amounts(result) == [D("8.70")]


SUMMER = {"by_month": {str(m): ("0.13" if 6 <= m <= 9 else "0.10") for m in range(1, 13)}}


def test_seasonal_price_follows_the_month():
    # June: 400 x 0.13 = 52.00
    result = rate([Component("flat", "energy", {"price": SUMMER})], consumption=D("400"),
                  period=(dt.date(2026, 6, 1), dt.date(2026, 7, 1)))
    assert amounts(result) == [D("52.00")]


def test_seasonal_bill_across_the_season_change_is_split_by_days():
    # May 17 - Jun 16: 15 days in May, 15 in June; 600 kWh split 300/300.
    # 300 x 0.10 = 30.00; 300 x 0.13 = 39.00
    result = rate([Component("flat", "energy", {"price": SUMMER})], consumption=D("600"),
                  period=(dt.date(2026, 5, 17), dt.date(2026, 6, 16)))
    assert amounts(result) == [D("30.00"), D("39.00")]
    assert [(ln.part_start, ln.part_end) for ln in result.lines] == [
        (dt.date(2026, 5, 17), dt.date(2026, 6, 1)), (dt.date(2026, 6, 1), dt.date(2026, 6, 16))]


# --- TOU -----------------------------------------------------------------------------------

GRID_ON_OFF = [["off"] * 7 + ["on"] * 12 + ["off"] * 5 for _ in range(12)]
SCHEDULE = Component("tou_schedule", "periods", {"weekday": GRID_ON_OFF, "weekend": [["off"] * 24] * 12})


def test_tou_prices_each_period_and_tiers_on_top_per_period():
    # on: 200 x 0.20 = 40.00; off: 500 x 0.08 = 40.00, 200 x 0.10 = 20.00
    tou = Component("tou", "energy", {"periods": {
        "on": "0.20", "off": [{"limit": 500, "price": "0.08"}, {"price": "0.10"}]}})
    result = rate([SCHEDULE, tou], consumption=D("900"), consumption_by_period={"on": D("200"), "off": D("700")})
    assert [(ln.tou_period, ln.tier, ln.amount) for ln in result.lines] == [
        ("on", None, D("40.00")), ("off", 1, D("40.00")), ("off", 2, D("20.00"))]


def test_tou_month_total_mode_puts_tiers_on_the_total_and_splits_by_share():
    # SAM's reading: total 900 kWh -> block 1 500, block 2 400; on has 2/9, off 7/9.
    # on  b1: 500 x 2/9 = 111.111111 x 0.20 = 22.22;  on  b2: 400 x 2/9 = 88.888889 x 0.25 = 22.22
    # off b1: 500 x 7/9 = 388.888889 x 0.08 = 31.11;  off b2: 400 x 7/9 = 311.111111 x 0.10 = 31.11
    tou = Component("tou", "energy", {"mode": "month_total", "periods": {
        "on": [{"limit": 500, "price": "0.20"}, {"price": "0.25"}],
        "off": [{"limit": 500, "price": "0.08"}, {"price": "0.10"}]}})
    result = rate([SCHEDULE, tou], consumption=D("900"), consumption_by_period={"on": D("200"), "off": D("700")})
    assert [(ln.tou_period, ln.tier, ln.quantity, ln.amount) for ln in result.lines] == [
        ("on", 1, D("111.111111"), D("22.22")), ("on", 2, D("88.888889"), D("22.22")),
        ("off", 1, D("388.888889"), D("31.11")), ("off", 2, D("311.111111"), D("31.11"))]


def test_tou_without_period_determinants_or_intervals_is_an_error():
    tou = Component("tou", "energy", {"periods": {"on": "0.2", "off": "0.1"}})
    with pytest.raises(RatingError):
        rate([SCHEDULE, tou], consumption=D("900"))


# --- demand --------------------------------------------------------------------------------

def test_demand_charge_rounds_half_up():
    # 42.5 kW x 11.75 = 499.375 -> 499.38
    result = rate([Component("demand", "kw", {"price": "11.75"})], max_demand_kw=D("42.5"))
    assert amounts(result) == [D("499.38")]


def test_demand_blocks_make_one_line_that_names_them():
    # 100 x 13.50 = 1350.00 + 30 x 12.10 = 363.00 -> 1713.00
    tiers = [{"limit": 100, "price": "13.50"}, {"price": "12.10"}]
    result = rate([Component("demand", "kw", {"tiers": tiers})], max_demand_kw=D("130"))
    assert amounts(result) == [D("1713.00")]
    assert "100 kW at 13.50 + 30 kW at 12.10" in result.lines[0].description
    assert result.lines[0].price == D("13.176923")


RATCHET = Component("demand", "kw", {"price": "10", "ratchet": {"percent": 80, "months": 11}})
HISTORY = (
    MonthlyDemand(dt.date(2025, 2, 1), D("300")),  # 12 months back: outside the 11-month window
    MonthlyDemand(dt.date(2025, 8, 1), D("200")),
    MonthlyDemand(dt.date(2026, 1, 1), D("110")),
)
FEB = (dt.date(2026, 2, 1), dt.date(2026, 3, 1))


def test_ratchet_bills_the_percentage_of_the_highest_recent_demand_when_greater():
    # Highest of Mar 2025..Jan 2026 is 200 kW; 80% = 160 kW > 120 kW actual; 160 x 10 = 1600.00
    result = rate([RATCHET], period=FEB, max_demand_kw=D("120"), demand_history=HISTORY)
    line = result.lines[0]
    assert (line.quantity, line.amount) == (D("160"), D("1600.00"))
    assert "ratchet: 80% of 200 kW in 2025-08" in line.description
    assert line.details["actual_kw"] == "120"


def test_ratchet_bills_actual_demand_when_it_is_higher():
    # 175 kW > 160 kW ratchet: 175 x 10 = 1750.00
    result = rate([RATCHET], period=FEB, max_demand_kw=D("175"), demand_history=HISTORY)
    assert (result.lines[0].quantity, result.lines[0].amount) == (D("175"), D("1750.00"))
    assert "ratchet" not in result.lines[0].description


def test_tou_demand_charges_each_periods_maximum():
    # on 40 kW x 15.00 = 600.00; off 55 kW x 3.00 = 165.00
    comp = Component("tou_demand", "kw", {"periods": {"on": "15.00", "off": "3.00"}})
    result = rate([SCHEDULE, comp], max_demand_kw=D("55"), max_demand_kw_by_period={"on": D("40"), "off": D("55")})
    assert [(ln.tou_period, ln.amount) for ln in result.lines] == [("on", D("600.00")), ("off", D("165.00"))]


# --- interval pricing ----------------------------------------------------------------------

def test_interval_pricing_multiplies_each_interval_by_its_hours_price():
    # 15-minute kWh: four of 1.0 in hour 0, four of 2.0 in hour 1; hourly prices 0.05 and 0.20,
    # plus a 0.01 adder: 4 x 0.06 + 8 x 0.21 = 0.24 + 1.68 = 1.92
    start = dt.datetime(2026, 1, 10, 5, tzinfo=dt.timezone.utc)  # midnight in Toronto
    usage = IntervalSeries(start, 15, (D(1),) * 4 + (D(2),) * 4)
    prices = IntervalSeries(start, 60, (D("0.05"), D("0.20")))
    result = rate([Component("interval_price", "spot", {"series": "hoep", "adder": "0.01"})],
                  period=(dt.date(2026, 1, 10), dt.date(2026, 1, 11)), intervals=usage,
                  price_series={"hoep": prices}, time_zone="America/Toronto")
    line = result.lines[0]
    assert (line.quantity, line.amount, line.price) == (D("12"), D("1.92"), D("0.16"))


def test_interval_pricing_without_a_price_for_an_interval_is_an_error():
    start = dt.datetime(2026, 1, 10, 5, tzinfo=dt.timezone.utc)
    usage = IntervalSeries(start, 60, (D(1), D(1)))
    with pytest.raises(RatingError, match="no price"):
        rate([Component("interval_price", "spot", {"series": "hoep"})], period=(dt.date(2026, 1, 10), dt.date(2026, 1, 11)),
             intervals=usage, price_series={"hoep": IntervalSeries(start, 60, (D("0.05"),))}, time_zone="America/Toronto")


# --- riders, percentages, taxes, minimums -------------------------------------------------

def test_per_kwh_rider_rounds_half_up():
    # 850 x 0.0041 = 3.485 -> 3.49
    result = rate([Component("rider", "rrrp", {"price": "0.0041"})], consumption=D("850"))
    assert amounts(result) == [D("3.49")]


def test_percentage_charge_applies_to_tagged_subtotal_only():
    # 3% of the delivery lines (10.00) = 0.30; energy (50.00) is not delivery.
    result = rate([
        Component("fixed", "cust", {"amount": "10"}, tags={"delivery"}),
        Component("flat", "energy", {"price": "0.10"}),
        Component("percentage", "franchise", {"percent": 3, "applies_to": ["delivery"]}),
    ], consumption=D("500"))
    assert amounts(result) == [D("10.00"), D("50.00"), D("0.30")]


def test_tax_on_a_subtotal():
    # taxable: 12.50 + 523.4 x 0.1187 = 62.13 -> 74.63; 13% = 9.7019 -> 9.70; the 5.00 fee is not taxable
    result = rate([
        Component("tax", "hst", {"percent": 13, "applies_to": ["taxable"]}),
        Component("fixed", "cust", {"amount": "12.50"}, tags={"taxable"}),
        Component("fixed", "fee", {"amount": "5.00"}),
        Component("flat", "energy", {"price": "0.1187"}, tags={"taxable"}),
    ], consumption=D("523.4"))
    # Taxes come last whatever their place in the version.
    assert [(ln.component_code, ln.amount) for ln in result.lines] == [
        ("cust", D("12.50")), ("fee", D("5.00")), ("energy", D("62.13")), ("hst", D("9.70"))]
    assert result.total == D("89.33")


def test_minimum_charge_tops_up_the_bill_and_tax_applies_after():
    # charges: 5.00 + 134 x 0.10 = 18.40 < 25.00 -> adjustment 6.60; 5% tax on 25.00 = 1.25
    result = rate([
        Component("fixed", "cust", {"amount": "5"}),
        Component("flat", "energy", {"price": "0.10"}),
        Component("minimum", "min", {"amount": "25"}),
        Component("tax", "gst", {"percent": 5}),
    ], consumption=D("134"))
    assert amounts(result) == [D("5.00"), D("13.40"), D("6.60"), D("1.25")]
    assert result.total == D("26.25")


def test_minimum_charge_is_prorated_and_silent_when_met():
    # 15-day bill: minimum 25 x 15/30 = 12.50; charges 5 x 15/30 = 2.50 + 40 x 0.10 = 4.00 -> 6.50; top-up 6.00
    comps = [Component("fixed", "cust", {"amount": "5"}), Component("flat", "energy", {"price": "0.10"}),
             Component("minimum", "min", {"amount": "25"})]
    result = rate(comps, consumption=D("40"), period=(dt.date(2026, 1, 17), dt.date(2026, 2, 1)))
    assert amounts(result) == [D("2.50"), D("4.00"), D("6.00")]
    assert rate(comps, consumption=D("400")).total == D("45.00")  # 5 + 40, no minimum line


def test_annual_minimum_settles_on_the_closing_bill_only():
    # year so far 5.00 + this bill 3.00 = 8.00 < 12.00 -> 4.00
    comps = [Component("flat", "energy", {"price": "0.10"}), Component("annual_minimum", "amin", {"amount": "12"})]
    closing = rate(comps, consumption=D("30"), closes_annual_period=True, annual_charges_to_date=D("5"))
    assert amounts(closing) == [D("3.00"), D("4.00")]
    assert amounts(rate(comps, consumption=D("30"), annual_charges_to_date=D("5"))) == [D("3.00")]


# --- discounts and credits ----------------------------------------------------------------

def test_transformer_allowance_credits_per_kw():
    # 250 kW x 0.60 = -150.00
    result = rate([Component("transformer_allowance", "xfmr", {"price": "0.60"})], max_demand_kw=D("250"))
    assert amounts(result) == [D("-150.00")]


def test_primary_metering_discount_is_a_percentage_off_the_chosen_lines():
    # demand 250 x 10 = 2500.00; energy 100000 x 0.05 = 5000.00; 2% of 7500.00 = -150.00; fixed not discounted
    result = rate([
        Component("fixed", "cust", {"amount": "100"}),
        Component("demand", "kw", {"price": "10"}, tags={"distribution"}),
        Component("flat", "energy", {"price": "0.05"}, tags={"distribution"}),
        Component("primary_metering_discount", "primary", {"percent": 2, "applies_to": ["distribution"]}),
    ], consumption=D("100000"), max_demand_kw=D("250"))
    assert amounts(result) == [D("100.00"), D("2500.00"), D("5000.00"), D("-150.00")]


def test_generation_contract_pays_received_energy_as_a_credit():
    # microFIT: 640 kWh x 0.288 = -184.32
    result = rate([Component("generation_credit", "microfit", {"price": "0.288"})], received=D("640"))
    assert amounts(result) == [D("-184.32")]
    assert result.lines[0].price == D("-0.288")


# --- unmetered (streetlights) --------------------------------------------------------------

BURN = {str(m): h for m, h in zip(range(1, 13), [400, 340, 320, 270, 240, 220, 230, 260, 290, 340, 370, 410])}


def test_streetlights_are_fixtures_times_watts_times_burn_hours():
    # 12 x 100 W x 400 h = 480 kWh x 0.09 = 43.20; 8 x 250 W x 400 h = 800 kWh x 0.09 = 72.00
    comp = Component("unmetered", "lights", {"price": "0.09", "burn_hours": BURN})
    fixtures = (Fixture("LED100", 12, D("100")), Fixture("HPS250", 8, D("250")))
    result = rate([comp], fixtures=fixtures)
    assert [(ln.quantity, ln.amount) for ln in result.lines] == [(D("800"), D("72.00")), (D("480"), D("43.20"))]


def test_streetlights_for_part_of_a_month_take_that_share_of_burn_hours():
    # Jan 17 - Feb 1: 15 of 31 days -> 400 x 15/31 = 193.548387 h;
    # 12 x 0.1 kW x 193.548387 h = 232.258065 kWh x 0.09 = 20.903226 -> 20.90
    comp = Component("unmetered", "lights", {"price": "0.09", "burn_hours": BURN})
    result = rate([comp], fixtures=(Fixture("LED100", 12, D("100")),), period=(dt.date(2026, 1, 17), dt.date(2026, 2, 1)))
    assert [(ln.quantity, ln.amount) for ln in result.lines] == [(D("232.258065"), D("20.90"))]


# --- water and gas -------------------------------------------------------------------------

WATER = [
    Component("meter_size_fixed", "service", {"charges": {"5/8": "14.25", "1": "23.80"}}),
    Component("tiered", "volume", {"unit": "m3", "tiers": [{"limit": 15, "price": "1.92"}, {"price": "2.40"}]}),
]


def test_water_bill_has_the_meter_size_charge_and_volume_blocks():
    # 1" meter 23.80; 15 m3 x 1.92 = 28.80; 7 m3 x 2.40 = 16.80 -> 69.40
    result = rate(WATER, consumption=D("22"), meter_size="1")
    assert amounts(result) == [D("23.80"), D("28.80"), D("16.80")]
    assert result.lines[1].unit == "m3"
    assert result.total == D("69.40")
    # the same water on a 5/8" meter: 14.25 + 28.80 + 16.80 = 59.85
    assert rate(WATER, consumption=D("22"), meter_size="5/8").total == D("59.85")


def test_water_bill_for_an_unknown_meter_size_is_an_error():
    with pytest.raises(RatingError, match="meter size"):
        rate(WATER, consumption=D("22"), meter_size="2")
