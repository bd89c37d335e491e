"""Interval values as blocks: building them from single points, and dropping the intervals a
file repeats.

Shared by every read parser so that "same interval twice in one file" means the same thing
in CMEP, CSV and MultiSpeak: the same value again is dropped silently (head-ends resend),
a different value is a RecordError on the later occurrence, field "Value"."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from mdm.records import IntervalBlock, RecordError

SeriesKey = tuple[str, str, str, str, int]  # meter, unit, direction, channel, interval minutes


class IntervalPoint(NamedTuple):
    """One interval value before it joins a block (a tuple: CSV makes one per row)."""

    end_at: dt.datetime  # UTC
    value: float
    quality: str
    line: int


def blocks_from_points(
    *,
    meter_serial: str,
    unit: str,
    direction: str,
    interval_minutes: int,
    channel_hint: str,
    points: Sequence[IntervalPoint],
) -> list[IntervalBlock]:
    """Consecutive points (each ending one interval after the previous) become one block; any
    other step starts a new block. Points are taken in the order given."""
    blocks: list[IntervalBlock] = []
    step = dt.timedelta(minutes=interval_minutes)
    run: list[IntervalPoint] = []

    def close() -> None:
        if not run:
            return
        qualities = tuple(p.quality for p in run)
        blocks.append(
            IntervalBlock(
                meter_serial=meter_serial,
                unit=unit,
                direction=direction,
                interval_minutes=interval_minutes,
                first_end_at=run[0].end_at,
                values=tuple(p.value for p in run),
                source_line=run[0].line,
                qualities=qualities if any(qualities) else (),
                channel_hint=channel_hint,
            )
        )

    for point in points:
        if run and point.end_at != run[-1].end_at + step:
            close()
            run = []
        run.append(point)
    close()
    return blocks


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


class IntervalDeduplicator:
    """Remembers the intervals already taken from one file, per series.

    The common case (each meter channel once per file) costs one dict lookup and a range
    comparison per block; only overlapping blocks are compared interval by interval."""

    def __init__(self) -> None:
        self._seen: dict[SeriesKey, list[IntervalBlock]] = {}

    def add(
        self, block: IntervalBlock, *, raw: str, lines: Sequence[int] | None = None
    ) -> tuple[list[IntervalBlock], list[RecordError]]:
        """Keep `block`, minus intervals an earlier block of the file already gave.

        `lines[i]` is the file line of value i (default: the block's line for all)."""
        key = (block.meter_serial, block.unit, block.direction, block.channel_hint, block.interval_minutes)
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = [block]
            return [block], []
        step = block.interval_minutes
        start = _minute(block.first_end_at)
        end = start + step * len(block.values)  # exclusive
        overlapping = []
        for other in seen:
            o_start = _minute(other.first_end_at)
            if o_start < end and start < o_start + step * len(other.values):
                overlapping.append((o_start, other))
        if not overlapping:
            seen.append(block)
            return [block], []

        earlier: dict[int, float] = {}
        for o_start, other in overlapping:
            for i, value in enumerate(other.values):
                earlier[o_start + i * step] = value
        keep: list[bool] = []
        errors: list[RecordError] = []
        for i, value in enumerate(block.values):
            minute = start + i * step
            if minute not in earlier:
                keep.append(True)
                continue
            keep.append(False)
            if not _same(earlier[minute], value):
                end_at = block.first_end_at + dt.timedelta(minutes=i * step)
                errors.append(
                    RecordError(
                        line=lines[i] if lines is not None else block.source_line,
                        field="Value",
                        message=(
                            f"meter {block.meter_serial} {block.unit} {block.direction}: interval ending "
                            f"{end_at:%Y-%m-%dT%H:%MZ} appears again in this file with value {value!r}, "
                            f"earlier {earlier[minute]!r}"
                        ),
                        raw=raw,
                    )
                )
        kept = _split_kept(block, keep, lines)
        seen.extend(kept)
        return kept, errors


def _minute(instant: dt.datetime) -> int:
    return int(instant.timestamp()) // 60


def _split_kept(block: IntervalBlock, keep: list[bool], lines: Sequence[int] | None) -> list[IntervalBlock]:
    parts: list[IntervalBlock] = []
    i = 0
    n = len(keep)
    while i < n:
        if not keep[i]:
            i += 1
            continue
        j = i
        while j < n and keep[j]:
            j += 1
        qualities = block.qualities[i:j] if block.qualities else ()
        parts.append(
            replace(
                block,
                first_end_at=block.first_end_at + dt.timedelta(minutes=i * block.interval_minutes),
                values=block.values[i:j],
                qualities=qualities if any(qualities) else (),
                source_line=lines[i] if lines is not None else block.source_line,
            )
        )
        i = j
    return parts
