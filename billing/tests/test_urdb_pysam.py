"""The three URDB sample tariffs, imported and rated by Utilis, agree with NREL SAM's
Utilityrate5 (PyPI nrel-pysam) for every month of a year of hourly load.

SAM's year is 365 days from a Monday, with no holidays and no DST: 2018 in UTC is the same
calendar. Loads are kW per hour (= kWh per hour). Bills are whole calendar months, so nothing
is prorated.

Utilis rounds each bill line to the cent; SAM does not round. So the comparison is made at
the granularity SAM reports: every energy line (TOU period x tier) against SAM's
charge_w_sys_ec_<month>_tp cell, the fixed charge, the flat demand charge per month and the TOU
demand charge per month and period, each rounded half-up to cents and required to be equal."""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from billing.rating import BillInput, IntervalSeries, RatingDeterminants, rate_bill
from billing.rating.urdb import decode, rate_from_urdb
from core.money import money, to_decimal

ur = pytest.importorskip("PySAM.Utilityrate5")
from PySAM.UtilityRateTools import URDBv8_to_ElectricityRates  # noqa: E402

URDB = Path("/work/shared/standards/urdb")
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

# (file, load scale in kW, round-the-clock base share): an industrial, a residential and a
# commercial customer. The scales put the industrial and commercial peaks over the 100 kW
# demand blocks; the industrial base load gives it the load factor that reaches the second
# "kWh per kW" energy block.
SAMPLES = [
    ("pysam_urdb_rate_539f6a23ec4f024411ec8beb.json", 60, 1.5),
    ("pysam_urdb_rate_618940545457a35a1c4097ec.json", 1.2, 0.0),
    ("pysam_urdbv7.json", 45, 0.0),
]


def hourly_load(scale: float, base: float = 0.0, seed: int = 7) -> np.ndarray:
    """A residential-shaped year: morning and evening peaks, higher in summer and winter,
    weekends a little higher, hour-to-hour noise, plus an optional constant base load;
    kWh with meter resolution (3 places)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(8760)
    day, hour = hours // 24, hours % 24
    season = 1 + 0.35 * np.cos(2 * np.pi * (day - 200) / 365) ** 2
    daily = base + 0.5 + 0.4 * np.exp(-(((hour - 8) / 2.0) ** 2)) + 0.9 * np.exp(-(((hour - 19) / 3.0) ** 2))
    weekend = np.where(day % 7 >= 5, 1.1, 1.0)  # day 0 is a Monday in SAM and in 2018
    noise = 1 + 0.15 * rng.standard_normal(8760).clip(-2, 2)
    return np.round((scale * season * daily * weekend * noise).clip(0.05), 3)


def run_sam(doc: dict, load: np.ndarray) -> dict:
    model = ur.new()
    rates = URDBv8_to_ElectricityRates(copy.deepcopy(doc))
    # PySAM's converter reads URDB v8 keys; the v7 sample has the old fixed-charge key.
    if "fixedmonthlycharge" in doc:
        rates["ur_monthly_fixed_charge"] = doc["fixedmonthlycharge"]
    model.ElectricityRates.assign(rates)
    settings = {
        "load": [float(x) for x in load],
        "gen": [0.0] * 8760,
        "analysis_period": 1,
        "inflation_rate": 0,
        "degradation": [0],
        "load_escalation": [0],
        "rate_escalation": [0],
        "system_use_lifetime_output": 0,
        "ur_nm_yearend_sell_rate": 0,
        "ur_sell_eq_buy": 0,
        # Minimum charges are not part of the comparison (SAM applies them after the fact).
        "ur_monthly_min_charge": 0,
        "ur_annual_min_charge": 0,
        "ur_en_ts_sell_rate": 0,
        "ur_en_ts_buy_rate": 0,
        "ur_yearzero_usage_peaks": [0] * 12,
    }
    settings.setdefault("ur_metering_option", rates.get("ur_metering_option", 0))
    for name, value in settings.items():
        model.value(name, value)
    model.execute(0)
    return model.Outputs.export()


def sam_cents(value) -> Decimal:
    return money(to_decimal(float(value)))


def energy_cells(outputs: dict, month: int) -> dict[tuple[str, int | None], Decimal]:
    """SAM's energy charge by (period, tier) for a month, keyed like Utilis lines."""
    matrix = outputs[f"charge_w_sys_ec_{MONTHS[month - 1]}_tp"]
    tiers = [int(t) for t in matrix[0][1:-1]]
    cells = {}
    for row in matrix[1:-1]:
        period = f"E{int(row[0])}"
        for tier, value in zip(tiers, row[1:-1]):
            if value:
                cells[(period, tier if len(tiers) > 1 else None)] = sam_cents(value)
    return cells


def month_range(month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(2018, month, 1)
    return start, dt.date(2018 + month // 12, month % 12 + 1, 1)


@pytest.mark.parametrize(("filename", "scale", "base"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_urdb_tariff_agrees_with_sam_to_the_cent_every_month(filename, scale, base):
    doc = decode((URDB / filename).read_text())
    load = hourly_load(scale, base)
    sam = run_sam(doc, load)
    version = rate_from_urdb(doc, effective_start=dt.date(2018, 1, 1), effective_end=None)
    series = IntervalSeries(
        start=dt.datetime(2018, 1, 1, tzinfo=dt.timezone.utc),
        minutes=60,
        values=tuple(Decimal(repr(float(x))) for x in load),
    )
    checked = 0
    for month in range(1, 13):
        start, end = month_range(month)
        bill = BillInput(period_start=start, period_end=end, determinants=RatingDeterminants(intervals=series),
                         time_zone="UTC")
        result = rate_bill(bill, [version])
        assert all(line.proration == 1 for line in result.lines if line.component_kind != "net_metering")

        # Energy: one Utilis line per SAM (period, tier) cell, equal to the cent.
        mine = {(ln.tou_period, ln.tier): ln.amount for ln in result.lines if ln.component_kind == "tou" and ln.amount}
        cells = energy_cells(sam, month)
        assert mine == cells, f"{filename} month {month} energy"
        # The month's energy charge is the sum of those lines; SAM's unrounded month total is
        # within half a cent per line of it (the only difference is rounding per line).
        energy = result.subtotal("tou")
        assert energy == sum(cells.values(), Decimal(0))
        assert abs(energy - to_decimal(sam["charge_w_sys_ec_ym"][1][month - 1])) <= Decimal("0.005") * len(cells)

        fixed = result.subtotal("fixed")
        assert fixed == sam_cents(sam["charge_w_sys_fixed_ym"][1][month - 1]), f"{filename} month {month} fixed"

        flat_demand = sum((ln.amount for ln in result.lines if ln.component_kind == "demand"), Decimal(0))
        assert flat_demand == sam_cents(sam["charge_w_sys_dc_fixed_ym"][1][month - 1]), f"{filename} month {month} demand"

        tou_demand = {ln.tou_period: ln.amount for ln in result.lines if ln.component_kind == "tou_demand"}
        if "demandratestructure" in doc:
            header, row = sam["monthly_tou_demand_charge_w_sys"][0], sam["monthly_tou_demand_charge_w_sys"][month]
            expected = {f"D{int(p)}": sam_cents(v) for p, v in zip(header, row) if v}
            assert tou_demand == expected, f"{filename} month {month} TOU demand"
        else:
            assert not tou_demand
            assert sam["charge_w_sys_dc_tou_ym"][1][month - 1] == 0
        checked += 1
    assert checked == 12
    # The comparison is not vacuous: the tariff really charges energy in every month.
    assert all(v > 0 for v in sam["charge_w_sys_ec_ym"][1])


def test_samples_exercise_tiers_kw_blocks_and_tou():
    """Guard the comparison above: the chosen loads reach the second energy and demand blocks
    and several TOU periods, so a mistake in any of them would show."""
    industrial_doc = decode((URDB / SAMPLES[0][0]).read_text())
    industrial = rate_from_urdb(industrial_doc)
    commercial = rate_from_urdb(decode((URDB / SAMPLES[2][0]).read_text()))
    residential = rate_from_urdb(decode((URDB / SAMPLES[1][0]).read_text()))
    assert max(hourly_load(*SAMPLES[0][1:])) > 100  # past the 100 kW flat-demand block
    assert max(hourly_load(*SAMPLES[2][1:])) > 100  # past the 100 kW TOU-demand block
    sam = run_sam(industrial_doc, hourly_load(*SAMPLES[0][1:]))
    assert any((period, 2) in energy_cells(sam, m) for m in range(1, 13) for period in ("E1", "E2"))
    assert {c.kind for c in industrial.components} >= {"tou", "demand"}
    assert {c.kind for c in commercial.components} >= {"tou", "tou_demand", "demand", "fixed", "minimum", "annual_minimum"}
    assert len(residential.components[-1].params["periods"]) == 5
