"""Net metering over consecutive bills: the excess is carried forward (as kWh or dollars) and
used up on the next bill."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from billing.rating import BillInput, CarriedCredit, Component, RateVersion, RatingDeterminants, rate_bill

MAY = (dt.date(2026, 5, 1), dt.date(2026, 6, 1))
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 7, 1))


def version(carry: dict) -> RateVersion:
    return RateVersion("NM", dt.date(2020, 1, 1), None, (
        Component("net_metering", "nm", carry),
        Component("fixed", "cust", {"amount": "10"}),
        Component("flat", "energy", {"price": "0.12"}),
    ))


def bill(period, delivered, received, carried=CarriedCredit()):
    return BillInput(period_start=period[0], period_end=period[1],
                     determinants=RatingDeterminants(consumption=D(delivered), received=D(received)),
                     carried_credit=carried)


def charged(result):
    return [(ln.component_code, ln.quantity, ln.amount) for ln in result.lines if ln.amount or ln.component_code != "nm"]


def test_net_metering_carries_excess_kwh_to_the_next_bill():
    rates = version({"carry": "kwh"})
    # May: delivered 300, received 450 -> billed 0 kWh, 150 kWh carried. Fixed 10.00 only.
    may = rate_bill(bill(MAY, 300, 450), [rates])
    assert charged(may) == [("cust", D("1"), D("10.00")), ("energy", D("0"), D("0.00"))]
    assert may.total == D("10.00")
    assert may.carried_credit == CarriedCredit(kwh=D("150"))
    assert any("carried forward: 150 kWh" in ln.description for ln in may.lines)
    # June: delivered 500 - received 200 - carried 150 = 150 kWh x 0.12 = 18.00; + 10.00
    june = rate_bill(bill(JUNE, 500, 200, may.carried_credit), [rates])
    assert charged(june) == [("cust", D("1"), D("10.00")), ("energy", D("150"), D("18.00"))]
    assert june.total == D("28.00")
    assert june.carried_credit == CarriedCredit(kwh=D("0"))


def test_net_metering_carries_a_dollar_credit_to_the_next_bill():
    rates = version({"carry": "dollars", "credit_price": "0.10"})
    # May: excess 150 kWh x 0.10 = 15.00 earned; charges 10.00 (energy 0) -> 10.00 applied, 5.00 left.
    may = rate_bill(bill(MAY, 300, 450), [rates])
    assert may.total == D("0.00")
    assert [ln.amount for ln in may.lines if ln.description == "Net metering credit applied"] == [D("-10.00")]
    assert may.carried_credit == CarriedCredit(dollars=D("5.00"))
    # June: 500 - 200 = 300 kWh x 0.12 = 36.00 + 10.00 = 46.00; 5.00 credit applied -> 41.00
    june = rate_bill(bill(JUNE, 500, 200, may.carried_credit), [rates])
    assert june.total == D("41.00")
    assert june.carried_credit == CarriedCredit(dollars=D("0.00"))


def test_net_metering_nets_tou_periods_in_proportion():
    # delivered 400 (on 100, off 300), received 100 -> billed 300: on 75 x 0.20 = 15.00, off 225 x 0.10 = 22.50
    grid = [["off"] * 12 + ["on"] * 6 + ["off"] * 6 for _ in range(12)]
    rates = RateVersion("NM-TOU", dt.date(2020, 1, 1), None, (
        Component("net_metering", "nm", {}),
        Component("tou_schedule", "periods", {"weekday": grid, "weekend": grid}),
        Component("tou", "energy", {"periods": {"on": "0.20", "off": "0.10"}}),
    ))
    det = RatingDeterminants(consumption=D("400"), consumption_by_period={"on": D("100"), "off": D("300")}, received=D("100"))
    result = rate_bill(BillInput(period_start=MAY[0], period_end=MAY[1], determinants=det), [rates])
    assert [(ln.tou_period, ln.quantity, ln.amount) for ln in result.lines if ln.component_kind == "tou"] == [
        ("on", D("75"), D("15.00")), ("off", D("225"), D("22.50"))]
