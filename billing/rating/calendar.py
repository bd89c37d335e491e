"""Local time for TOU: which period an interval falls in, and determinants from an interval
series. Schedules are URDB-style 12 x 24 grids (month x local hour) of period names, one for
weekdays and one for weekends; holidays use the weekend grid.

Interval timestamps are aware instants; they are converted to the utility's zone, so a DST day
has 23 or 25 local hours and each interval is priced by the local hour it starts in. The
per-interval work is vectorised (pandas/numpy): bill runs call this for every account."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from core.money import rate

from .types import Component, IntervalSeries, RatingDeterminants


@dataclass(frozen=True)
class TouSchedule:
    code: str
    weekday: tuple[tuple[str, ...], ...]
    weekend: tuple[tuple[str, ...], ...]

    @cached_property
    def periods(self) -> tuple[str, ...]:
        """Period names in first-seen order (deterministic line ordering). Cached: every bill
        of a run asks its schedule several times (a third of a chunk's rating time)."""
        seen: dict[str, None] = {}
        for grid in (self.weekday, self.weekend):
            for row in grid:
                for name in row:
                    seen.setdefault(name, None)
        return tuple(seen)

    def index_grids(self) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
        """The grids as period indexes into `periods` (the shape mdm.timeutil.TouGrid takes)."""
        index = {name: i for i, name in enumerate(self.periods)}
        return (
            tuple(tuple(index[n] for n in row) for row in self.weekday),
            tuple(tuple(index[n] for n in row) for row in self.weekend),
        )

    def period_at(self, local: dt.datetime, holidays: frozenset[dt.date] = frozenset()) -> str:
        weekend = local.weekday() >= 5 or local.date() in holidays
        return (self.weekend if weekend else self.weekday)[local.month - 1][local.hour]


def local_frame(series: IntervalSeries, time_zone: str) -> pd.DataFrame:
    """One row per interval: local date, month, hour, weekday and the value as float."""
    starts = pd.date_range(
        start=pd.Timestamp(series.start).tz_convert("UTC"),
        periods=len(series.values),
        freq=pd.Timedelta(minutes=series.minutes),
    ).tz_convert(time_zone)
    return pd.DataFrame(
        {
            "date": starts.date,
            "month": starts.month,
            "hour": starts.hour,
            "weekday": starts.weekday,
            "value": np.asarray([float(v) for v in series.values], dtype=float),
        }
    )


def _period_codes(frame: pd.DataFrame, schedule: TouSchedule, holidays: frozenset[dt.date]) -> NDArray[np.intp]:
    names = schedule.periods
    index = {name: i for i, name in enumerate(names)}
    grids = np.array(
        [[[index[n] for n in row] for row in schedule.weekday], [[index[n] for n in row] for row in schedule.weekend]]
    )
    weekend = (frame["weekday"].to_numpy() >= 5) | frame["date"].isin(holidays).to_numpy()
    codes: NDArray[np.intp] = grids[weekend.astype(int), frame["month"].to_numpy() - 1, frame["hour"].to_numpy()]
    return codes


def _dec(value: float) -> Decimal:
    # Sums of kWh with a few decimals come back exact once rounded to 6 places.
    return rate(Decimal(repr(float(value))))


def determinants_from_intervals(
    series: IntervalSeries,
    *,
    start: dt.date,
    end: dt.date,
    time_zone: str,
    schedules: Iterable[TouSchedule] = (),
    holidays: frozenset[dt.date] = frozenset(),
    received: Decimal = Decimal("0"),
) -> RatingDeterminants:
    """Consumption, demand (kW = kWh per interval x 60 / minutes), and both split by the
    periods of every schedule, over the local dates [start, end)."""
    frame = local_frame(series, time_zone)
    frame = frame[(frame["date"] >= start) & (frame["date"] < end)]
    to_kw = 60.0 / series.minutes
    values = frame["value"].to_numpy()
    by_period: dict[str, Decimal] = {}
    demand_by_period: dict[str, Decimal] = {}
    for schedule in schedules:
        codes = _period_codes(frame, schedule, holidays)
        for i, name in enumerate(schedule.periods):
            mask = codes == i
            by_period[name] = _dec(values[mask].sum()) if mask.any() else Decimal("0")
            demand_by_period[name] = _dec(values[mask].max() * to_kw) if mask.any() else Decimal("0")
    return RatingDeterminants(
        consumption=_dec(values.sum()) if len(values) else Decimal("0"),
        consumption_by_period=by_period,
        max_demand_kw=_dec(values.max() * to_kw) if len(values) else Decimal("0"),
        max_demand_kw_by_period=demand_by_period,
        received=received,
        intervals=series,
    )


def schedules_from_components(components: Iterable[Component]) -> list[TouSchedule]:
    return [
        TouSchedule(
            code=c.code,
            weekday=tuple(tuple(str(x) for x in row) for row in c.params["weekday"]),
            weekend=tuple(tuple(str(x) for x in row) for row in c.params["weekend"]),
        )
        for c in components
        if c.kind == "tou_schedule"
    ]


def periods_of(schedules: Iterable[TouSchedule]) -> Mapping[str, str]:
    """period name -> schedule code."""
    return {p: s.code for s in schedules for p in s.periods}
