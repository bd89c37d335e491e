"""From MDM's determinants to RatingDeterminants. Duck-typed (no import of mdm): it reads the
fields of `mdm.determinants.calculate.Determinants` by name.

MDM keys TOU quantities by period index of an integer grid; rating keys them by the period
names of a rate version's `tou_schedule`. Ask MDM with `TouSchedule.index_grids()` and pass
the same schedule here, so index i maps to `schedule.periods[i]`. A URDB rate has separate
energy and demand schedules: ask MDM once per schedule and pass the demand result too."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from .calendar import TouSchedule
from .types import IntervalSeries, RatingDeterminants


class MdmDeterminants(Protocol):
    """The fields of `mdm.determinants.calculate.Determinants` that rating reads."""

    @property
    def total(self) -> Decimal: ...
    @property
    def by_tou(self) -> Mapping[int, Decimal]: ...
    @property
    def max_demand_kw(self) -> Decimal: ...
    @property
    def max_demand_by_tou(self) -> Mapping[int, Decimal]: ...
    @property
    def received_total(self) -> Decimal: ...
    @property
    def interval_minutes(self) -> int: ...
    @property
    def by_interval(self) -> Sequence[tuple[dt.datetime, Decimal | None]]: ...
    @property
    def interval_count(self) -> int: ...
    @property
    def missing_intervals(self) -> int: ...
    @property
    def estimated_intervals(self) -> int: ...


def _names(by_index: Mapping[int, Decimal], schedule: TouSchedule | None) -> dict[str, Decimal]:
    if schedule is None:
        return {}
    names = schedule.periods
    return {names[int(i)]: Decimal(v) for i, v in by_index.items()}


def from_mdm(det: MdmDeterminants, *, schedule: TouSchedule | None = None, demand: MdmDeterminants | None = None,
             demand_schedule: TouSchedule | None = None,
             with_intervals: bool = False) -> RatingDeterminants:
    """`det`: MDM determinants for the period, computed with `schedule`'s grid (if any);
    `demand`: the same period computed with `demand_schedule`'s grid (URDB demand periods)."""
    by_period = _names(det.by_tou, schedule)
    demand_by_period = _names(det.max_demand_by_tou, schedule)
    if demand is not None:
        by_period |= _names(demand.by_tou, demand_schedule)
        demand_by_period |= _names(demand.max_demand_by_tou, demand_schedule)
    intervals = None
    if with_intervals and det.by_interval:
        start = det.by_interval[0][0]
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.timezone.utc)
        intervals = IntervalSeries(start, det.interval_minutes,
                                   tuple(Decimal(0) if v is None else Decimal(v) for _, v in det.by_interval))
    return RatingDeterminants(
        consumption=Decimal(det.total),
        consumption_by_period=by_period,
        max_demand_kw=Decimal(det.max_demand_kw),
        max_demand_kw_by_period=demand_by_period,
        received=Decimal(det.received_total),
        intervals=intervals,
        estimated_count=int(det.estimated_intervals),
        completeness=(Decimal(det.interval_count - det.missing_intervals) / Decimal(det.interval_count)
                      if det.interval_count else Decimal(0)),
    )
