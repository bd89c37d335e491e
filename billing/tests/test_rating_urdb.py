"""URDB import: what each sample becomes, and the keys it refuses rather than ignores."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from billing.rating import BillInput, RatingDeterminants, rate_bill
from billing.rating.urdb import UnsupportedURDBFeature, decode, rate_from_urdb

URDB = Path("/work/shared/standards/urdb")
INDUSTRIAL = "pysam_urdb_rate_539f6a23ec4f024411ec8beb.json"
RESIDENTIAL = "pysam_urdb_rate_618940545457a35a1c4097ec.json"
V7 = "pysam_urdbv7.json"


def doc(name: str) -> dict:
    return decode((URDB / name).read_text())


def by_code(version):
    return {c.code: c for c in version.components}


def test_decode_accepts_json_stored_as_a_json_string():
    text = (URDB / RESIDENTIAL).read_text()
    assert isinstance(json.loads(text), str)
    assert decode(text)["label"] == "618940545457a35a1c4097ec"


def test_residential_tou_sample_imports_periods_adjustments_fixed_charge_and_dates():
    version = rate_from_urdb(doc(RESIDENTIAL))
    comps = by_code(version)
    assert version.code == "618940545457a35a1c4097ec"
    # startdate 1633068000 = 2021-10-01 06:00 UTC; enddate 1656572400 = 2022-06-30 07:00 UTC
    assert (version.effective_start, version.effective_end) == (dt.date(2021, 10, 1), dt.date(2022, 6, 30))
    assert comps["fixed"].params == {"amount": "5.71"}
    # rate + adj: 0.06387 + 0.035187 = 0.099057
    assert comps["energy"].params["periods"]["E1"] == [{"price": "0.099057"}]
    assert comps["energy"].params["mode"] == "month_total"
    schedule = comps["energy-periods"].params
    assert schedule["weekday"][6][15] == "E5" and schedule["weekend"][6][15] == "E4"  # July 15:00
    assert comps["net-metering"].kind == "net_metering"


def test_industrial_sample_has_kwh_per_kw_blocks_and_monthly_flat_demand():
    comps = by_code(rate_from_urdb(doc(INDUSTRIAL)))
    assert comps["energy"].params["limit_basis"] == "kw"
    # URDB period 0 (E1) is summer (Jun-Sep in the schedule), period 1 (E2) the rest of the year
    assert comps["energy"].params["periods"]["E1"] == [{"price": "0.049", "limit": "300"}, {"price": "0.033"}]
    assert comps["energy"].params["periods"]["E2"] == [{"price": "0.042", "limit": "300"}, {"price": "0.029"}]
    tiers = comps["demand"].params["tiers"]["by_month"]
    assert tiers["1"] == [{"price": "13.5", "limit": "100"}, {"price": "12.1"}]
    assert tiers["7"] == [{"price": "16.3", "limit": "100"}, {"price": "14.9"}]


def test_industrial_sample_bills_a_summer_month_by_hand():
    # July, 400 kW peak, 150,000 kWh, all period E1 (summer): block limit 300 kWh/kW x 400 kW = 120,000.
    # energy 120,000 x 0.049 = 5880.00; 30,000 x 0.033 = 990.00
    # demand (summer): 100 kW x 16.30 = 1630.00 + 300 kW x 14.90 = 4470.00 -> 6100.00
    version = rate_from_urdb(doc(INDUSTRIAL))
    det = RatingDeterminants(consumption=D("150000"), consumption_by_period={"E1": D("150000")}, max_demand_kw=D("400"))
    result = rate_bill(BillInput(period_start=dt.date(2014, 7, 1), period_end=dt.date(2014, 8, 1), determinants=det), [version])
    assert [(ln.component_code, ln.amount) for ln in result.lines if ln.amount] == [
        ("energy", D("5880.00")), ("energy", D("990.00")), ("demand", D("6100.00"))]


def test_v7_sample_reads_the_old_keys():
    version = rate_from_urdb(doc(V7), effective_start=dt.date(2024, 1, 1))
    comps = by_code(version)
    assert comps["fixed"].params == {"amount": "35.28"}
    assert comps["minimum"].params == {"amount": "1.0"}
    assert comps["annual-minimum"].params == {"amount": "12.0"}
    # flatdemandmonths: Jan -> period 0, Feb -> 1, May -> 2 (13.87)
    assert comps["demand"].params["tiers"]["by_month"]["5"] == [{"price": "13.87"}]
    # 9.999999680285692e+37 means no limit
    assert comps["tou-demand"].params["periods"]["D1"][1] == {"price": "13.093000411987305"}
    assert version.effective_start == dt.date(2024, 1, 1) and version.effective_end is None


@pytest.mark.parametrize(("key", "value", "match"), [
    ("lookbackpercent", 0.8, "lookbackpercent"),
    ("coincidentratestructure", [[{"rate": 1}]], "coincident"),
    ("fixedchargeeaaddl", 3.0, "additional meter"),
    ("somethingnew", 1, "somethingnew"),
    ("dgrules", "Net Billing Hourly", "dgrules"),
    ("flatdemandunit", "kVA", "kVA"),
])
def test_money_changing_keys_it_cannot_represent_are_refused(key, value, match):
    tariff = doc(RESIDENTIAL)
    tariff[key] = value
    with pytest.raises(UnsupportedURDBFeature, match=match):
        rate_from_urdb(tariff)


def test_a_sell_rate_is_refused():
    tariff = doc(V7)
    tariff["energyratestructure"][0][0]["sell"] = 0.03
    with pytest.raises(UnsupportedURDBFeature, match="sell"):
        rate_from_urdb(tariff)


def test_fixed_charge_units_per_day_and_per_year():
    tariff = doc(RESIDENTIAL)
    tariff["fixedchargeunits"] = "$/day"
    assert by_code(rate_from_urdb(tariff))["fixed"].params == {"amount": "5.71", "per": "day"}
    tariff["fixedchargefirstmeter"], tariff["fixedchargeunits"] = 120, "$/year"
    assert by_code(rate_from_urdb(tariff))["fixed"].params == {"amount": "10"}


def test_imported_version_survives_its_stored_json():
    from billing.rating import Component, RateVersion

    version = rate_from_urdb(doc(V7), effective_start=dt.date(2024, 1, 1))
    stored = json.loads(json.dumps(version.to_components_json()))
    again = RateVersion(version.code, version.effective_start, None, tuple(Component.from_dict(c) for c in stored))
    det = RatingDeterminants(consumption=D("9000"), consumption_by_period={"E1": D("7000"), "E2": D("2000")},
                             max_demand_kw=D("60"), max_demand_kw_by_period={"D1": D("60"), "D2": D("45")})
    bill_input = BillInput(period_start=dt.date(2024, 6, 1), period_end=dt.date(2024, 7, 1), determinants=det)
    assert rate_bill(bill_input, [again]) == rate_bill(bill_input, [version])
