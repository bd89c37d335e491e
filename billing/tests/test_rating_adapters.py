"""MDM's determinants, adapted, rate exactly as the engine's own interval derivation does:
the two sides agree on TOU periods (holiday included) and demand."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np

from billing.rating import BillInput, Component, IntervalSeries, RateVersion, RatingDeterminants, rate_bill
from billing.rating.adapters import from_mdm
from billing.rating.calendar import schedules_from_components
from mdm import timeutil
from mdm.determinants.calculate import calculate_determinants
from mdm.determinants.inputs import DayRecord, Segment, Term

PEAK = [["off"] * 7 + ["on"] * 12 + ["off"] * 5 for _ in range(12)]
VERSION = RateVersion("TOU", dt.date(2020, 1, 1), None, (
    Component("tou_schedule", "periods", {"weekday": PEAK, "weekend": [["off"] * 24] * 12}),
    Component("tou", "energy", {"periods": {"off": "0.08", "on": "0.25"}}),
    Component("tou_demand", "kw", {"periods": {"on": "9.00"}}),
))
DAYS = [dt.date(2026, 6, 30), dt.date(2026, 7, 1), dt.date(2026, 7, 2)]  # Tue, Canada Day, Thu
HOLIDAYS = frozenset({dt.date(2026, 7, 1)})


def day_values(i: int) -> np.ndarray:
    return np.round(1.0 + 0.25 * i + 0.1 * np.arange(24), 3)  # kWh per hour, rising through the day


def test_mdm_determinants_adapted_rate_like_the_engines_interval_derivation():
    schedule = schedules_from_components(VERSION.components)[0]
    weekday, weekend = schedule.index_grids()
    records = [DayRecord(day=d, values=day_values(i), flags=np.zeros(24, dtype=np.int64)) for i, d in enumerate(DAYS)]
    mdm_det = calculate_determinants(
        terms=[Term(segments=[Segment(records=records)])], period_start=DAYS[0], period_end=DAYS[-1] + dt.timedelta(days=1),
        as_of=dt.date(2026, 8, 1), tz="America/Toronto", interval_minutes=60,
        tou=timeutil.TouGrid(weekday=weekday, weekend=weekend), holidays=HOLIDAYS, demand_window_minutes=60,
    )
    adapted = from_mdm(mdm_det, schedule=schedule)

    start = dt.datetime(2026, 6, 30, 4, tzinfo=dt.timezone.utc)  # local midnight, EDT
    series = IntervalSeries(start, 60, tuple(D(repr(float(v))) for i in range(3) for v in day_values(i)))
    period = dict(period_start=DAYS[0], period_end=DAYS[-1] + dt.timedelta(days=1), time_zone="America/Toronto",
                  holidays=HOLIDAYS)
    from_intervals = rate_bill(BillInput(determinants=RatingDeterminants(intervals=series), **period), [VERSION])
    from_mdm_result = rate_bill(BillInput(determinants=adapted, **period), [VERSION])

    # Hand check of the on-peak kWh: hours 7..18 of the two working days (Jun 30, Jul 2):
    # day i: sum(1 + 0.25 i + 0.1 h, h = 7..18) = 12 x (1 + 0.25 i) + 0.1 x 150 = 27 + 3 i
    # Jun 30 (i=0) 27 + Jul 2 (i=2) 33 = 60 kWh; Canada Day (i=1) is all off-peak.
    assert adapted.consumption_by_period["on"] == D("60")
    # On-peak demand: Jul 2 18:00 = 1 + 0.5 + 1.8 = 3.3 kW
    assert adapted.max_demand_kw_by_period["on"] == D("3.3")
    assert [(ln.tou_period, ln.quantity, ln.amount) for ln in from_mdm_result.lines] == [
        (ln.tou_period, ln.quantity, ln.amount) for ln in from_intervals.lines]
