"""A batch of channel-days as padded 2-D arrays, the unit VEE works on.

Row r is one channel's local day; columns are slots. Days have 92/96/100 quarter hours around
DST, so rows are padded to the widest day with NaN / MISSING and `valid` says which cells are
real. One interval length per batch: the caller groups channels by interval length."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from mdm import timeutil
from mdm.vee.flags import Flag


def _per_row(value: ArrayLike | None, n: int, dtype: DTypeLike, default: object) -> NDArray[Any]:
    if value is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(value, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"expected {n} per-row values, got shape {arr.shape}")
    return arr


def elapsed_slots_at(days: np.ndarray | Sequence[dt.date], tz: str | dt.tzinfo, interval_minutes: int,
                     as_of: dt.datetime, n_slots: np.ndarray) -> NDArray[np.int64]:
    """(N,) slots of each local day that had ended by `as_of` (0 for a day that starts after
    it, n_slots for a day wholly before it). Slot i of a local day covers
    [day start + i x interval, + interval) in real time, whatever DST does to the clock."""
    unique, inverse = np.unique(np.asarray(days, dtype="datetime64[D]"), return_inverse=True)
    # One zone lookup per distinct date, not per row.
    starts = np.array([timeutil.day_start_utc(d.astype(dt.date), tz).timestamp() for d in unique],
                      dtype=np.float64)[inverse.reshape(-1)]
    ended = np.floor((as_of.timestamp() - starts) / (interval_minutes * 60)).astype(np.int64)
    out: NDArray[np.int64] = np.clip(ended, 0, np.asarray(n_slots, dtype=np.int64))
    return out


@dataclass(frozen=True, eq=False)
class ChannelDays:
    channel_ids: np.ndarray  # (N,) int64
    days: np.ndarray  # (N,) datetime64[D], local dates
    interval_minutes: int
    values: np.ndarray  # (N, S) float64, NaN = no value (and padding)
    flags: np.ndarray  # (N, S) int16
    n_slots: np.ndarray  # (N,) slots in each row's local day
    clock_slot: np.ndarray  # (N, S) slot on the nominal 24 h clock grid, -1 in padding
    # Per-row facts some rules need; defaults make the rule skip the row.
    active: np.ndarray  # (N,) bool: service active (zero-usage rule only judges active ones)
    profile_keys: np.ndarray  # (N,) object: rate class for the class-profile estimate
    register_start: np.ndarray  # (N,) float: register read at the day's start (NaN = none)
    register_end: np.ndarray  # (N,) float: register read at the day's end
    register_dials: np.ndarray  # (N,) int: dials, for rollover (0 = unknown)
    register_multiplier: np.ndarray  # (N,) float
    interval_multiplier: np.ndarray  # (N,) float
    units: np.ndarray  # (N,) object: unit the data arrived in ("" = unknown)
    expected_units: np.ndarray  # (N,) object: unit the channel is configured for
    source_interval_minutes: np.ndarray  # (N,) int: interval length the data arrived with (0 = unknown)
    edge_before: np.ndarray  # (N,) float: last actual value of the previous day (linear anchor)
    edge_after: np.ndarray  # (N,) float: first actual value of the next day
    outage: np.ndarray  # (N,) bool: a known outage that day (like-day skips it)
    # Slots of the day that had ended by the run's as_of (the rest had not happened yet: never
    # judged, estimated or put on the worklist). n_slots for a day wholly in the past.
    elapsed_slots: np.ndarray  # (N,) int
    # A received (generation / export) channel: usage rules (zero consumption, high/low usage)
    # do not judge it; a solar customer exporting nothing at night or on a cloudy day is normal.
    received: np.ndarray  # (N,) bool
    timestamp_offset_s: np.ndarray | None = field(default=None)  # (N, S) seconds off the boundary

    @property
    def size(self) -> int:
        return len(self.channel_ids)

    @property
    def width(self) -> int:
        return int(self.values.shape[1])

    @cached_property
    def valid(self) -> np.ndarray:
        out = np.arange(self.width)[None, :] < self.n_slots[:, None]
        out.setflags(write=False)  # cached: callers must not change it in place
        return out

    @cached_property
    def clean_days(self) -> np.ndarray:
        """(N,) bool: every slot an ACTUAL value and no outage: the only days fit to be a
        usage baseline or a like day. Padding is MISSING/NaN, so counts against n_slots
        need no mask."""
        all_actual = (self.flags == Flag.ACTUAL).sum(axis=1) == self.n_slots
        no_nan = np.isnan(self.values).sum(axis=1) == self.width - self.n_slots
        out: NDArray[np.bool_] = all_actual & no_nan & ~self.outage
        out.setflags(write=False)  # cached: callers must not change it in place
        return out

    @property
    def slots_per_clock_day(self) -> int:
        return timeutil.slots_per_clock_day(self.interval_minutes)

    def take(self, rows: np.ndarray) -> ChannelDays:
        """The same batch restricted to `rows` (estimations only look at rows with work to do)."""
        picked = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                picked[name] = value[rows]
            else:
                picked[name] = value
        return ChannelDays(**picked)

    def row_of(self) -> dict[tuple[int, dt.date], int]:
        return {(int(c), d.astype(dt.date)): i for i, (c, d) in enumerate(zip(self.channel_ids, self.days))}

    @classmethod
    def build(
        cls,
        *,
        channel_ids: Sequence[int] | np.ndarray,
        days: Sequence[dt.date] | np.ndarray,
        values: Sequence[ArrayLike] | np.ndarray,
        flags: Sequence[ArrayLike] | np.ndarray | None = None,
        tz: str | dt.tzinfo,
        interval_minutes: int,
        active: ArrayLike | None = None,
        profile_keys: ArrayLike | None = None,
        register_start: ArrayLike | None = None,
        register_end: ArrayLike | None = None,
        register_dials: ArrayLike | None = None,
        register_multiplier: ArrayLike | None = None,
        interval_multiplier: ArrayLike | None = None,
        units: ArrayLike | None = None,
        expected_units: ArrayLike | None = None,
        source_interval_minutes: ArrayLike | None = None,
        edge_before: ArrayLike | None = None,
        edge_after: ArrayLike | None = None,
        outage: ArrayLike | None = None,
        elapsed_slots: ArrayLike | None = None,
        received: ArrayLike | None = None,
        timestamp_offset_s: Sequence[ArrayLike] | np.ndarray | None = None,
    ) -> ChannelDays:
        """Rows may be a list of 1-D arrays (ragged around DST) or an already padded 2-D array.
        `elapsed_slots` (default: every slot) is how many of each day's slots had ended by the
        run's as_of (`elapsed_slots_at`).

        Raises ValueError when a row's length is not its local day's slot count: a 96-value
        row on a 92-slot day means the loader lost track of DST, and VEE must not guess."""
        ids = np.asarray(channel_ids, dtype=np.int64)
        n = len(ids)
        day_arr = np.asarray(days, dtype="datetime64[D]")
        n_slots, clock = timeutil.stack_layouts(day_arr, tz, interval_minutes) if n else (
            np.zeros(0, np.int64),
            np.zeros((0, 0), np.int64),
        )
        width = clock.shape[1]
        if isinstance(values, np.ndarray) and values.ndim == 2:
            # Already padded (the loader's fast path): trust the padding, but the width must be
            # the batch's widest local day.
            if values.shape != (n, width):
                raise ValueError(f"padded values must have shape {(n, width)}, got {values.shape}")
            vals = np.array(values, dtype=np.float64)
            lengths = n_slots
        else:
            vals = np.full((n, width), np.nan)
            lengths = np.empty(n, dtype=np.int64)
            for i, row in enumerate(values):
                row = np.asarray(row, dtype=np.float64)
                lengths[i] = len(row)
                if len(row) <= width:
                    vals[i, : len(row)] = row
        bad = np.nonzero(lengths != n_slots)[0]
        if len(bad):
            i = int(bad[0])
            raise ValueError(
                f"channel {ids[i]} on {day_arr[i]}: {lengths[i]} values for a {n_slots[i]}-slot local day"
            )
        valid = np.arange(width)[None, :] < n_slots[:, None]
        if flags is None:
            flg = np.where(np.isnan(vals), Flag.MISSING, Flag.ACTUAL).astype(np.int16)
        elif isinstance(flags, np.ndarray) and flags.ndim == 2:
            flg = np.full((n, width), Flag.MISSING, dtype=np.int16)
            w = min(width, flags.shape[1])
            flg[:, :w] = flags[:, :w]
        else:
            flg = np.full((n, width), Flag.MISSING, dtype=np.int16)
            for i, row in enumerate(flags):
                flg[i, : len(row)] = np.asarray(row, dtype=np.int16)
        flg[~valid] = Flag.MISSING
        vals[~valid] = np.nan
        offsets = None
        if timestamp_offset_s is not None:
            offsets = np.full((n, width), np.nan)
            for i, row in enumerate(timestamp_offset_s):
                row = np.asarray(row, dtype=np.float64)
                offsets[i, : len(row)] = row
        return cls(
            channel_ids=ids,
            days=day_arr,
            interval_minutes=interval_minutes,
            values=vals,
            flags=flg,
            n_slots=n_slots,
            clock_slot=clock,
            active=_per_row(active, n, bool, True),
            profile_keys=_per_row(profile_keys, n, object, ""),
            register_start=_per_row(register_start, n, np.float64, np.nan),
            register_end=_per_row(register_end, n, np.float64, np.nan),
            register_dials=_per_row(register_dials, n, np.int64, 0),
            register_multiplier=_per_row(register_multiplier, n, np.float64, 1.0),
            interval_multiplier=_per_row(interval_multiplier, n, np.float64, 1.0),
            units=_per_row(units, n, object, ""),
            expected_units=_per_row(expected_units, n, object, ""),
            source_interval_minutes=_per_row(source_interval_minutes, n, np.int64, 0),
            edge_before=_per_row(edge_before, n, np.float64, np.nan),
            edge_after=_per_row(edge_after, n, np.float64, np.nan),
            outage=_per_row(outage, n, bool, False),
            elapsed_slots=(n_slots.copy() if elapsed_slots is None
                           else np.clip(_per_row(elapsed_slots, n, np.int64, 0), 0, n_slots)),
            received=_per_row(received, n, bool, False),
            timestamp_offset_s=offsets,
        )
