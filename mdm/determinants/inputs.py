"""What the determinant calculation is given: plain data that `mdm` loads from the interval
store, installation history and multipliers, so the calculation itself never touches the ORM."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np


class DeterminantError(ValueError):
    """Inputs that cannot give a correct answer (a day with the wrong slot count, overlapping
    segments, a demand window that does not fit the interval length)."""


@dataclass(frozen=True, eq=False)
class DayRecord:
    """One channel's local day from the interval store: as many values/flags as the day has
    slots (92/96/100 quarter hours around DST)."""

    day: dt.date
    values: np.ndarray
    flags: np.ndarray


@dataclass(frozen=True, eq=False)
class DayRows:
    """Several local days of one channel as arrays, as the store's reader decodes them (a
    slice of an `mdm.interval_store.IntervalBatch`, no copy): row i is local date `dates[i]`
    with `n_slots[i]` real slots, `values` / `flags` padded to the widest row. What a segment
    of a bill run's service point is given, so no Python object is made per day."""

    dates: np.ndarray  # (N,) datetime64[D]
    n_slots: np.ndarray  # (N,) int
    values: np.ndarray  # (N, W) float64
    flags: np.ndarray  # (N, W) int16

    def __len__(self) -> int:
        return len(self.dates)

    def records(self) -> list[DayRecord]:
        """The same days as DayRecords (the per-day path, for its precise error messages)."""
        return [DayRecord(day=d, values=self.values[i, : int(n)], flags=self.flags[i, : int(n)])
                for i, (d, n) in enumerate(zip(self.dates.astype(object).tolist(), self.n_slots.tolist()))]


@dataclass(frozen=True)
class MultiplierPeriod:
    """CT ratio x PT ratio x register constant, effective for local days in [start, end)."""

    start: dt.date
    end: dt.date | None
    factor: Decimal


@dataclass(frozen=True, eq=False)
class Segment:
    """One meter channel's part of a service point's usage: its intervals whose UTC start lies
    in [start_at, end_at). A meter exchange is two segments: the old channel until the removal
    instant, the new channel from the installation instant."""

    records: Sequence[DayRecord] | DayRows
    start_at: dt.datetime | None = None  # None = since before the period
    end_at: dt.datetime | None = None  # None = still installed
    multipliers: Sequence[MultiplierPeriod] = field(default_factory=tuple)

    def factor_on(self, day: dt.date) -> float:
        for m in self.multipliers:
            if m.start <= day and (m.end is None or day < m.end):
                return float(m.factor)
        return 1.0


@dataclass(frozen=True, eq=False)
class Term:
    """A signed term of a (virtual) meter formula: net = delivered(+1) + received(-1); a building
    master(+1) and each suite(-1). A plain service point is one term with sign +1."""

    segments: Sequence[Segment]
    sign: int = 1
