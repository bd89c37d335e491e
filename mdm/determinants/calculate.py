"""Billing determinants from interval data: pure numpy over one service point's period.

All terms are laid on one timeline of the period's local days (each day 92/96/100 slots), so
every determinant below is one array operation over that timeline. A slot with no value in
any term counts as missing (it adds 0 to the sums and makes the period incomplete)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from core.money import rate
from mdm import timeutil
from mdm.determinants.inputs import DayRecord, DayRows, DeterminantError, Segment, Term
from mdm.flags import Flag, is_estimated


def q(value: float) -> Decimal:
    """6-place Decimal of a float quantity; +0 so a -0.0 sum does not print as -0.000000."""
    return rate(float(value)) + Decimal(0)


@dataclass(frozen=True, eq=False)
class Determinants:
    period_start: dt.date
    period_end: dt.date  # exclusive; min(requested end, as_of)
    interval_minutes: int
    total: Decimal
    by_tou: dict[int, Decimal]
    # The hourly and interval series stay arrays (a month is ~3,000 intervals); `by_hour` and
    # `by_interval` turn them into Decimals only when interval pricing asks for them.
    hour_starts_utc: np.ndarray  # datetime64[s]: each local day's elapsed hours (25 on a fall day)
    hour_values: np.ndarray
    interval_starts_utc: np.ndarray  # datetime64[s]
    interval_values: np.ndarray  # NaN = missing
    demand_window_minutes: int
    demand_rolling: bool
    max_demand_kw: Decimal
    max_demand_at: dt.datetime | None  # UTC start of the window that set the maximum
    max_demand_by_tou: dict[int, Decimal]
    received_total: Decimal
    received_by_tou: dict[int, Decimal]
    interval_count: int
    missing_intervals: int
    estimated_intervals: int
    edited_intervals: int
    failed_intervals: int

    @property
    def complete(self) -> bool:
        return self.missing_intervals == 0

    @cached_property
    def by_hour(self) -> tuple[tuple[dt.datetime, Decimal], ...]:
        return tuple((_instant(t), q(v)) for t, v in zip(self.hour_starts_utc, self.hour_values))

    @cached_property
    def by_interval(self) -> tuple[tuple[dt.datetime, Decimal | None], ...]:
        """(UTC slot start, quantity or None where missing)."""
        return tuple(
            (_instant(t), None if np.isnan(v) else q(v)) for t, v in zip(self.interval_starts_utc, self.interval_values)
        )


@dataclass(frozen=True, eq=False)
class Timeline:
    days: tuple[dt.date, ...]
    day_offsets: np.ndarray  # (D+1,) first slot of each day
    starts_utc: np.ndarray  # (T,) datetime64[s]
    hour_index: np.ndarray  # (T,) global elapsed-hour bucket
    hour_starts_utc: np.ndarray  # (H,) datetime64[s]
    tou: np.ndarray | None  # (T,) period index
    day_index: dict[dt.date, int]  # local date -> position in `days`
    day_slots: tuple[np.ndarray, ...]  # each day's slot numbers on the timeline


@lru_cache(maxsize=64)
def build_timeline(
    start: dt.date, end: dt.date, tz: str | dt.tzinfo, interval_minutes: int, tou: timeutil.TouGrid | None,
    holidays: frozenset[dt.date],
) -> Timeline:
    """Cached: every service point of a bill cycle shares the same period, zone and schedule."""
    days = tuple(start + dt.timedelta(days=i) for i in range(max((end - start).days, 0)))
    layouts = [timeutil.day_layout(d, tz, interval_minutes) for d in days]
    offsets = np.concatenate([[0], np.cumsum([lay.n_slots for lay in layouts], dtype=np.int64)]).astype(np.int64)
    starts = np.concatenate([lay.slot_starts_utc for lay in layouts]) if layouts else np.zeros(0, "datetime64[s]")
    hours_per_day = [lay.n_slots * interval_minutes // 60 for lay in layouts]
    hour_offsets = np.concatenate([[0], np.cumsum(hours_per_day, dtype=np.int64)]).astype(np.int64)
    hour_index = (
        np.concatenate(
            [hour_offsets[i] + np.arange(lay.n_slots) * interval_minutes // 60 for i, lay in enumerate(layouts)]
        )
        if layouts
        else np.zeros(0, np.int64)
    )
    hour_starts = (
        np.concatenate(
            [np.datetime64(lay.start_utc.replace(tzinfo=None), "s") + np.arange(h) * np.timedelta64(3600, "s")
             for lay, h in zip(layouts, hours_per_day)]
        )
        if layouts
        else np.zeros(0, "datetime64[s]")
    )
    periods = None
    if tou is not None:
        periods = (
            np.concatenate([timeutil.tou_periods_for_day(d, tz, interval_minutes, tou, holidays) for d in days])
            if days
            else np.zeros(0, np.int64)
        )
    for arr in (offsets, starts, hour_index, hour_starts, periods):
        if arr is not None:
            arr.setflags(write=False)
    day_slots = tuple(np.arange(offsets[i], offsets[i + 1]) for i in range(len(days)))
    for arr in day_slots:
        arr.setflags(write=False)
    return Timeline(days, offsets, starts, hour_index, hour_starts, periods, {d: i for i, d in enumerate(days)},
                    day_slots)


def _lay_out(term: Term, line: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """One term's values (multiplied) and flags on the timeline; NaN/MISSING where no segment
    covers a slot or the store has no value.

    Each segment's days go onto the timeline in one scatter (slot numbers of all its days
    concatenated): a step per day cost ~1.2 ms a service point, more than the determinants."""
    total = len(line.starts_utc)
    values = np.full(total, np.nan)
    flags = np.full(total, Flag.MISSING, dtype=np.int16)
    covered = np.zeros(total, dtype=bool)
    for seg in term.segments:
        if isinstance(seg.records, DayRows):
            laid = _rows_on_line(seg, seg.records, line)
            if laid is not None:
                slots, rec_values, rec_flags, unique_days = laid
                if len(slots):
                    if (not unique_days and len(np.unique(slots)) != len(slots)) or covered[slots].any():
                        _raise_first_problem([(line.day_index[r.day], r) for r in seg.records.records()
                                              if r.day in line.day_index], _inside(seg, line), covered, line)
                    covered[slots] = True
                    values[slots] = rec_values
                    flags[slots] = rec_flags
                continue
        records = seg.records.records() if isinstance(seg.records, DayRows) else seg.records
        placed = [(line.day_index[rec.day], rec) for rec in records if rec.day in line.day_index]
        if not placed:
            continue
        inside_line = _inside(seg, line)
        if any(len(rec.values) != len(line.day_slots[i]) or len(rec.flags) != len(line.day_slots[i])
               for i, rec in placed):
            _raise_first_problem(placed, inside_line, covered, line)
        slots = np.concatenate([line.day_slots[i] for i, _ in placed])
        rec_values = np.concatenate([np.asarray(rec.values, dtype=np.float64) for _, rec in placed])
        rec_flags = np.concatenate([np.asarray(rec.flags, dtype=np.int16) for _, rec in placed])
        if seg.multipliers:
            rec_values = rec_values * np.repeat([seg.factor_on(rec.day) for _, rec in placed],
                                                [len(line.day_slots[i]) for i, _ in placed])
        if inside_line is not None:
            keep = inside_line[slots]
            slots, rec_values, rec_flags = slots[keep], rec_values[keep], rec_flags[keep]
        # Overlap: a slot already covered by an earlier segment, or claimed twice here (the
        # same day twice in one segment's records).
        twice = len({i for i, _ in placed}) != len(placed) and len(np.unique(slots)) != len(slots)
        if twice or covered[slots].any():
            _raise_first_problem(placed, inside_line, covered, line)
        covered[slots] = True
        values[slots] = rec_values
        flags[slots] = rec_flags
    flags[np.isnan(values)] = Flag.MISSING
    return values, flags


def _rows_on_line(seg: Segment, rows: DayRows, line: Timeline
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None:
    """A segment's days given as arrays, on the timeline in one vectorised step: (slot numbers,
    values (multiplied), flags, whether every day is there once). None when a day's slot count
    is wrong for its local date: the per-day path then names it."""
    empty = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int16), True)
    if not line.days or not len(rows):
        return empty
    index = (rows.dates - np.datetime64(line.days[0], "D")).astype(np.int64)
    keep = (index >= 0) & (index < len(line.days))
    n = np.asarray(rows.n_slots, dtype=np.int64)
    values, flags = rows.values, rows.flags
    if not keep.all():
        index, n, values, flags = index[keep], n[keep], values[keep], flags[keep]
    if not len(index):
        return empty
    if np.any(n != np.diff(line.day_offsets)[index]):
        return None
    columns = np.arange(values.shape[1])
    real = columns[None, :] < n[:, None]
    slots = (line.day_offsets[index][:, None] + columns[None, :])[real]
    rec_values = np.asarray(values, dtype=np.float64)[real]
    rec_flags = np.asarray(flags, dtype=np.int16)[real]
    if seg.multipliers:
        days = (np.datetime64(line.days[0], "D") + index).astype(object).tolist()
        rec_values = rec_values * np.repeat([seg.factor_on(d) for d in days], n)
    inside_line = _inside(seg, line)
    if inside_line is not None:
        inside = inside_line[slots]
        slots, rec_values, rec_flags = slots[inside], rec_values[inside], rec_flags[inside]
    return slots, rec_values, rec_flags, len(np.unique(index)) == len(index)


def _inside(seg: Segment, line: Timeline) -> np.ndarray | None:
    """Which timeline slots start inside the segment's [start_at, end_at); None = all."""
    if seg.start_at is None and seg.end_at is None:
        return None
    inside = np.ones(len(line.starts_utc), dtype=bool)
    if seg.start_at is not None:
        inside &= line.starts_utc >= np.datetime64(seg.start_at.astimezone(dt.timezone.utc).replace(tzinfo=None), "s")
    if seg.end_at is not None:
        inside &= line.starts_utc < np.datetime64(seg.end_at.astimezone(dt.timezone.utc).replace(tzinfo=None), "s")
    return inside


def _raise_first_problem(placed: Sequence[tuple[int, DayRecord]], inside_line: np.ndarray | None, covered: np.ndarray, line: Timeline) -> None:
    """Walk a bad segment's days in order and raise for the first wrong slot count or overlap,
    so the error names the same day as a day-by-day check would."""
    covered = covered.copy()
    for i, rec in placed:
        slots = line.day_slots[i]
        if len(rec.values) != len(slots) or len(rec.flags) != len(slots):
            raise DeterminantError(f"{rec.day}: {len(rec.values)} values for a {len(slots)}-slot local day")
        claimed = slots if inside_line is None else slots[inside_line[slots]]
        if covered[claimed].any():
            raise DeterminantError(f"{rec.day}: two segments of one term cover the same interval")
        covered[claimed] = True
    raise AssertionError("a segment was reported bad but no day of it is")


def combine(terms: Sequence[Term], line: Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slot-by-slot signed sum of the terms: (values with missing parts as 0, missing mask,
    stacked flags (terms, T))."""
    total = len(line.starts_utc)
    if not terms:
        return np.zeros(total), np.zeros(total, bool), np.zeros((0, total), np.int16)
    laid = [_lay_out(t, line) for t in terms]
    stacked = np.stack([v for v, _ in laid])
    flags = np.stack([f for _, f in laid])
    signs = np.array([t.sign for t in terms], dtype=np.float64)[:, None]
    missing = np.isnan(stacked).any(axis=0)
    return (np.nan_to_num(stacked) * signs).sum(axis=0), missing, flags


def _by_period(values: np.ndarray, periods: np.ndarray | None, names: Sequence[int]) -> dict[int, Decimal]:
    if periods is None:
        return {}
    return {int(p): q(values[periods == p].sum()) for p in names}


def window_demand(
    values: np.ndarray, interval_minutes: int, window_minutes: int, rolling: bool
) -> tuple[np.ndarray, np.ndarray]:
    """kW of every demand window: (kW per window, first slot of each window).

    Fixed windows are consecutive blocks from local midnight (so clock-aligned); rolling windows
    start at every slot and must fit inside the period."""
    if window_minutes % interval_minutes:
        raise DeterminantError(f"a {window_minutes}-minute window does not fit {interval_minutes}-minute data")
    k = window_minutes // interval_minutes
    if len(values) < k:
        return np.zeros(0), np.zeros(0, np.int64)
    if rolling:
        c = np.concatenate([[0.0], np.cumsum(values)])
        energy = c[k:] - c[:-k]
        first = np.arange(len(values) - k + 1)
    else:
        if len(values) % k:
            raise DeterminantError(f"{window_minutes}-minute blocks do not tile the period's slots")
        energy = values.reshape(-1, k).sum(axis=1)
        first = np.arange(0, len(values), k)
    return energy * 60.0 / window_minutes, first


def _instant(x: np.datetime64) -> dt.datetime:
    naive: dt.datetime = x.astype("datetime64[s]").astype(dt.datetime)
    return naive.replace(tzinfo=dt.timezone.utc)


def calculate_determinants(
    *,
    terms: Sequence[Term],
    period_start: dt.date,
    period_end: dt.date,
    as_of: dt.date,
    tz: str | dt.tzinfo,
    interval_minutes: int,
    tou: timeutil.TouGrid | None = None,
    holidays: frozenset[dt.date] | set[dt.date] = frozenset(),
    demand_window_minutes: int = 15,
    demand_rolling: bool = False,
    received: Sequence[Term] = (),
) -> Determinants:
    """Determinants of the local days [period_start, min(period_end, as_of)).

    `as_of` cuts the period for unbilled consumption: the days before as_of that exist so far.
    Statutory `holidays` use the weekend TOU grid.

    Raises DeterminantError for a day whose slot count is wrong for its local date, segments of
    one term that overlap, or a demand window that does not fit the interval length."""
    end = max(period_start, min(period_end, as_of))
    line = build_timeline(period_start, end, tz, interval_minutes, tou, frozenset(holidays))
    values, missing, flags = combine(terms, line)
    rec_values, _, _ = combine(received, line)
    periods = tou.periods if tou is not None else ()

    kw, first = window_demand(values, interval_minutes, demand_window_minutes, demand_rolling)
    if len(kw):
        peak = int(np.argmax(kw))
        max_kw, max_at = q(kw[peak]), _instant(line.starts_utc[first[peak]])
    else:
        max_kw, max_at = q(0), None
    demand_by_tou: dict[int, Decimal] = {}
    if line.tou is not None and len(kw):
        k = demand_window_minutes // interval_minutes
        changes = np.concatenate([[0], np.cumsum(line.tou[1:] != line.tou[:-1])])
        # A window belongs to a TOU period only if it lies wholly inside it.
        whole = changes[first + k - 1] == changes[first]
        window_period = line.tou[first]
        for p in periods:
            sel = whole & (window_period == p)
            demand_by_tou[int(p)] = q(kw[sel].max()) if sel.any() else q(0)

    hourly = np.bincount(line.hour_index, weights=values, minlength=len(line.hour_starts_utc))

    def any_flag(pred: NDArray[np.bool_]) -> int:
        return int(pred.any(axis=0).sum()) if flags.size else 0

    return Determinants(
        period_start=period_start,
        period_end=end,
        interval_minutes=interval_minutes,
        total=q(values.sum()),
        by_tou=_by_period(values, line.tou, periods),
        hour_starts_utc=line.hour_starts_utc,
        hour_values=hourly,
        interval_starts_utc=line.starts_utc,
        interval_values=np.where(missing, np.nan, values),
        demand_window_minutes=demand_window_minutes,
        demand_rolling=demand_rolling,
        max_demand_kw=max_kw,
        max_demand_at=max_at,
        max_demand_by_tou=demand_by_tou,
        received_total=q(rec_values.sum()),
        received_by_tou=_by_period(rec_values, line.tou, periods) if received else {},
        interval_count=len(values),
        missing_intervals=int(missing.sum()),
        estimated_intervals=any_flag(is_estimated(flags)),
        edited_intervals=any_flag(flags == Flag.EDITED),
        failed_intervals=any_flag(flags == Flag.FAILED_VALIDATION),
    )


def calculate_determinants_many(
    *,
    values: np.ndarray,
    flags: np.ndarray,
    received: np.ndarray | None,
    has_received: np.ndarray | None,
    line: Timeline,
    period_start: dt.date,
    period_end: dt.date,
    interval_minutes: int,
    tou: timeutil.TouGrid | None,
    demand_window_minutes: int,
    demand_rolling: bool,
) -> list[Determinants]:
    """`calculate_determinants` of many service points of one period at once, each one plain
    term (one channel, sign +1, already on `line`): row i of `values` (NaN = no value) and
    `flags` is service point i's timeline, of `received` its received channel (rows where
    `has_received` is False have none). One numpy step per determinant for all the rows instead
    of ~50 per service point; every reduction runs over the same elements in the same order as
    the one-service-point path (row sums over the last axis, the hourly sums from 0.0 in slot
    order, maxima), so each result is the same float, bit for bit.

    `period_end` is the already cut end (min(end, as_of)); `line` its cached timeline. Raises
    DeterminantError as `calculate_determinants` does for a window that does not fit."""
    n, total = values.shape
    missing = np.isnan(values)
    vals = np.nan_to_num(values)
    flags = np.where(missing, np.int16(Flag.MISSING), flags)
    with_received = has_received if has_received is not None else np.zeros(n, bool)
    rec = None
    if received is not None and with_received.any():
        rec = np.zeros((n, total))
        rec[with_received] = np.nan_to_num(received[with_received])
    periods = tou.periods if tou is not None else ()

    if demand_window_minutes % interval_minutes:
        raise DeterminantError(f"a {demand_window_minutes}-minute window does not fit {interval_minutes}-minute data")
    k = demand_window_minutes // interval_minutes
    if total < k:
        kw, first = np.zeros((n, 0)), np.zeros(0, np.int64)
    elif demand_rolling:
        c = np.concatenate([np.zeros((n, 1)), np.cumsum(vals, axis=1)], axis=1)
        kw = (c[:, k:] - c[:, :-k]) * 60.0 / demand_window_minutes
        first = np.arange(total - k + 1)
    else:
        if total % k:
            raise DeterminantError(f"{demand_window_minutes}-minute blocks do not tile the period's slots")
        kw = vals.reshape(n, -1, k).sum(axis=2) * 60.0 / demand_window_minutes
        first = np.arange(0, total, k)
    if kw.shape[1]:
        peak = np.argmax(kw, axis=1)
        peak_kw = kw[np.arange(n), peak].tolist()
        peak_at = line.starts_utc[first[peak]].astype("datetime64[s]").astype(dt.datetime).tolist()
    demand_by_tou: dict[int, list[float] | None] = {}
    if line.tou is not None and kw.shape[1]:
        changes = np.concatenate([[0], np.cumsum(line.tou[1:] != line.tou[:-1])])
        whole = changes[first + k - 1] == changes[first]
        window_period = line.tou[first]
        for p in periods:
            sel = whole & (window_period == p)
            demand_by_tou[int(p)] = kw[:, sel].max(axis=1).tolist() if sel.any() else None

    hours = len(line.hour_starts_utc)
    per_hour = 60 // interval_minutes if interval_minutes and 60 % interval_minutes == 0 else 0
    if per_hour and hours * per_hour == total and np.array_equal(line.hour_index, np.arange(total) // per_hour):
        # bincount adds each hour's slots to 0.0 in slot order: the same additions, as columns.
        by_slot = vals.reshape(n, hours, per_hour)
        hourly = by_slot[:, :, 0] + 0.0  # 0.0 + the first slot, as bincount starts (-0.0 -> +0.0)
        for j in range(1, per_hour):
            hourly += by_slot[:, :, j]
    else:
        hourly = np.stack([np.bincount(line.hour_index, weights=v, minlength=hours) for v in vals]) if n else \
            np.zeros((0, hours))

    totals = vals.sum(axis=1).tolist()
    rec_totals = rec.sum(axis=1).tolist() if rec is not None else [0.0] * n
    by_tou: dict[int, list[float]] = {}
    rec_by_tou: dict[int, list[float]] = {}
    if line.tou is not None:
        for p in periods:
            mask = line.tou == p
            by_tou[int(p)] = vals[:, mask].sum(axis=1).tolist()
            rec_by_tou[int(p)] = rec[:, mask].sum(axis=1).tolist() if rec is not None else [0.0] * n
    interval_values = np.where(missing, np.nan, vals)
    missing_n = missing.sum(axis=1).tolist()
    # Flags other than actual / missing are few: count them from their positions.
    row_of, col_of = np.nonzero(flags > Flag.MISSING)
    codes = flags[row_of, col_of]
    estimated_n = np.bincount(row_of[is_estimated(codes)], minlength=n).tolist()
    edited_n = np.bincount(row_of[codes == Flag.EDITED], minlength=n).tolist()
    failed_n = np.bincount(row_of[codes == Flag.FAILED_VALIDATION], minlength=n).tolist()
    received_rows = with_received.tolist()
    zero = q(0)
    # Each distinct float rounded once (zeros repeat: received energy, empty TOU periods).
    rounded: dict[float, Decimal] = {}

    def decimals(column: list[float]) -> list[Decimal]:
        out = []
        for v in column:
            d = rounded.get(v)
            if d is None:
                d = rounded[v] = q(v)
            out.append(d)
        return out

    total_d = decimals(totals)
    rec_d = decimals(rec_totals)
    by_tou_d = {p: decimals(v) for p, v in by_tou.items()}
    rec_by_tou_d = {p: decimals(v) for p, v in rec_by_tou.items()}
    demand_d = {p: [zero] * n if v is None else decimals(v) for p, v in demand_by_tou.items()}
    if kw.shape[1]:
        max_kw_d = decimals(peak_kw)
        max_at_d = [t.replace(tzinfo=dt.timezone.utc) for t in peak_at]
    else:
        max_kw_d, max_at_d = [zero] * n, [None] * n
    out = []
    for i in range(n):
        out.append(Determinants(
            period_start=period_start,
            period_end=period_end,
            interval_minutes=interval_minutes,
            total=total_d[i],
            by_tou={p: v[i] for p, v in by_tou_d.items()},
            hour_starts_utc=line.hour_starts_utc,
            hour_values=hourly[i],
            interval_starts_utc=line.starts_utc,
            interval_values=interval_values[i],
            demand_window_minutes=demand_window_minutes,
            demand_rolling=demand_rolling,
            max_demand_kw=max_kw_d[i],
            max_demand_at=max_at_d[i],
            max_demand_by_tou={p: v[i] for p, v in demand_d.items()},
            received_total=rec_d[i],
            received_by_tou={p: v[i] for p, v in rec_by_tou_d.items()} if received_rows[i] else {},
            interval_count=total,
            missing_intervals=missing_n[i],
            estimated_intervals=estimated_n[i],
            edited_intervals=edited_n[i],
            failed_intervals=failed_n[i],
        ))
    return out
