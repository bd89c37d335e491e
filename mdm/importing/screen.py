"""What may reach the store: the plausibility screen every parsed file passes before staging.

Parsers say what a file holds; this says what Utilis will store. A record is quarantined
(a RecordError with its line and field) when
- a timestamp lies outside the window `now - UTILIS_IMPORT_MAX_PAST_DAYS` ..
  `now + UTILIS_IMPORT_MAX_FUTURE_HOURS` (interval ends and register read times alike: a
  register dated in the future is not a read yet);
- a value is not finite (`inf`, `1e400`), or its magnitude is above the unit's maximum
  (UTILIS_IMPORT_MAX_VALUES), or, for a register read, does not fit the column
  (`numeric(16,4)`: below 10^12).
A block with bad intervals keeps its good ones: it is cut into the runs between them, and one
error names the record. Nothing here touches the database."""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from mdm.records import IntervalBlock, ParsedRegisterRead, ParseResult, RecordError

# mdm_registerread.value is numeric(16,4): 12 digits before the point.
REGISTER_COLUMN_LIMIT = 10.0**12
# Field names the formats use for a record's time and value (the quarantine names them).
_FIELDS: dict[str, tuple[str, str]] = {
    "cmep": ("DateTime", "Value"),
    "csv": ("interval_end", "value"),
    "multispeak": ("timeStamp", "value"),
}
_DEFAULT_MAX = 1e11


def value_field(fmt: str) -> str:
    """The format's name of a record's value field (the quarantine names it)."""
    return _FIELDS.get(fmt, ("DateTime", "Value"))[1]


@dataclass(frozen=True)
class ReadLimits:
    earliest: dt.datetime
    latest: dt.datetime
    max_values: Mapping[str, float]

    def max_for(self, unit: str, *, register: bool = False) -> float:
        limit = float(self.max_values.get(unit, _DEFAULT_MAX))
        return min(limit, REGISTER_COLUMN_LIMIT) if register else limit

    def time_problem(self, instant: dt.datetime) -> str | None:
        if instant < self.earliest:
            return f"{instant:%Y-%m-%d %H:%M}Z is before {self.earliest:%Y-%m-%d} (more than " \
                   f"{settings.UTILIS_IMPORT_MAX_PAST_DAYS} days before the import)"
        if instant > self.latest:
            return f"{instant:%Y-%m-%d %H:%M}Z is after {self.latest:%Y-%m-%d %H:%M}Z (in the future)"
        return None


def read_limits(now: dt.datetime) -> ReadLimits:
    """The window and maxima in force for an import at `now` (settings read at each call)."""
    return ReadLimits(
        earliest=now - dt.timedelta(days=int(settings.UTILIS_IMPORT_MAX_PAST_DAYS)),
        latest=now + dt.timedelta(hours=int(settings.UTILIS_IMPORT_MAX_FUTURE_HOURS)),
        max_values=dict(settings.UTILIS_IMPORT_MAX_VALUES),
    )


def screen_result(result: ParseResult, limits: ReadLimits, raw=lambda line: "") -> ParseResult:
    """A copy of `result` holding only what the store can take; the rest become its errors."""
    time_field, value_field = _FIELDS.get(result.format, ("DateTime", "Value"))
    out = ParseResult(source_name=result.source_name, format=result.format, errors=list(result.errors))
    # One vectorised pass over every interval of the file finds the blocks with anything to
    # refuse; only those go through the per-block step that cuts them and words the error (a
    # numpy step per block cost 46 us, 4.6 s for a day of 100,000 meters).
    suspect = _blocks_with_problems(result.intervals, limits)
    for block, check in zip(result.intervals, suspect):
        if not check:
            out.intervals.append(block)
        elif len(block.values):
            out.intervals.extend(_screen_block(block, limits, out.errors, time_field, value_field, raw))
    for read in result.registers:
        problem = _register_problem(read, limits, time_field, value_field)
        if problem is None:
            out.registers.append(read)
        else:
            out.errors.append(RecordError(read.source_line, problem[0], problem[1], raw(read.source_line)))
    return out


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICRO = dt.timedelta(microseconds=1)


def _micros(at: dt.datetime) -> int:
    return (at - _EPOCH) // _MICRO


def _blocks_with_problems(blocks: Sequence[IntervalBlock], limits: ReadLimits) -> list[bool]:
    """For each block: True when it is empty or any of its intervals ends outside the window or
    has a value that is infinite or above its unit's maximum (what `_screen_block` refuses);
    exact (times in integer microseconds), over all blocks at once."""
    if not blocks:
        return []
    n = len(blocks)
    counts = np.fromiter((len(b.values) for b in blocks), dtype=np.int64, count=n)
    total = int(counts.sum())
    if total == 0:
        return [True] * n
    values = np.fromiter(itertools.chain.from_iterable(b.values for b in blocks), dtype=np.float64, count=total)
    first = np.fromiter((_micros(b.first_end_at) for b in blocks), dtype=np.int64, count=n)
    step = np.fromiter((b.interval_minutes for b in blocks), dtype=np.int64, count=n) * 60_000_000
    units: dict[str, float] = {}
    limit = np.fromiter((units.setdefault(b.unit, limits.max_for(b.unit)) for b in blocks), dtype=np.float64, count=n)
    blk = np.repeat(np.arange(n), counts)
    pos = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    ends = first[blk] + pos * step[blk]
    with np.errstate(invalid="ignore"):
        bad = (ends < _micros(limits.earliest)) | (ends > _micros(limits.latest))
        bad |= np.isinf(values) | (np.abs(values) > limit[blk])  # NaN (no value) compares False: kept
    flagged = np.bincount(blk[bad], minlength=n) > 0
    flagged |= counts == 0
    return flagged.tolist()


def _register_problem(read: ParsedRegisterRead, limits: ReadLimits, time_field: str,
                      value_field: str) -> tuple[str, str] | None:
    when = limits.time_problem(read.read_at)
    if when:
        return time_field, f"Register read time {when}."
    value = read.value
    if not math.isfinite(value):
        return value_field, f"Register value {value!r} is not a finite number."
    limit = limits.max_for(read.unit, register=True)
    if abs(value) >= limit:
        return value_field, f"Register value {value:g} {read.unit} is beyond the largest accepted ({limit:g})."
    return None


def _screen_block(block: IntervalBlock, limits: ReadLimits, errors: list[RecordError], time_field: str,
                  value_field: str, raw) -> list[IntervalBlock]:
    n = len(block.values)
    if n == 0:
        return []
    step = block.interval_minutes
    # minutes of each interval's end relative to the first, and the window in the same terms
    ends = np.arange(n, dtype=np.int64) * step
    try:
        lo = (limits.earliest - block.first_end_at) / dt.timedelta(minutes=1)
        hi = (limits.latest - block.first_end_at) / dt.timedelta(minutes=1)
    except OverflowError:  # pragma: no cover - aware datetimes subtract without overflow
        lo, hi = math.inf, -math.inf
    bad_time = (ends < lo) | (ends > hi)
    values = np.asarray(block.values, dtype=np.float64)
    limit = limits.max_for(block.unit)
    with np.errstate(invalid="ignore"):
        bad_value = np.isinf(values) | (np.abs(np.nan_to_num(values, nan=0.0)) > limit)
    bad = bad_time | bad_value
    if not bad.any():
        return [block]
    first = int(np.flatnonzero(bad)[0])
    if bad_time[first]:
        end = block.first_end_at + dt.timedelta(minutes=first * step) if -10**7 < first * step < 10**7 else None
        what = limits.time_problem(end) if end is not None else None
        message = f"Interval end {what or 'out of range'}"
        field = time_field
    else:
        message = f"Interval value {values[first]:g} {block.unit} is not finite or beyond the largest accepted ({limit:g})"
        field = value_field
    count = int(bad.sum())
    errors.append(RecordError(block.source_line, field,
                              f"{message}; {count} of {n} intervals of this record not loaded.", raw(block.source_line)))
    kept: list[IntervalBlock] = []
    good = np.flatnonzero(~bad)
    if not len(good):
        return kept
    # runs of consecutive good positions
    breaks = np.flatnonzero(np.diff(good) != 1) + 1
    for run in np.split(good, breaks):
        a, b = int(run[0]), int(run[-1]) + 1
        kept.append(dataclasses.replace(
            block, first_end_at=block.first_end_at + dt.timedelta(minutes=a * step), values=tuple(block.values[a:b]),
            qualities=tuple(block.qualities[a:b]) if block.qualities else (),
        ))
    return kept
