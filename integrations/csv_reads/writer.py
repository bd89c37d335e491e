"""Write interval blocks and register reads in the Utilis CSV read layout."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable

from integrations.csv_reads import layout
from integrations.local_time import UTC
from mdm.records import IntervalBlock, ParsedRegisterRead


def write_csv(
    *,
    blocks: Iterable[IntervalBlock] = (),
    registers: Iterable[ParsedRegisterRead] = (),
    tz: dt.tzinfo = UTC,
) -> str:
    """Header plus one row per interval, then one per register read. Times are ISO 8601
    with the offset of `tz` at that instant, so the file is unambiguous across DST."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(layout.COLUMNS)
    for block in blocks:
        step = dt.timedelta(minutes=block.interval_minutes)
        qualities = block.qualities or ("",) * len(block.values)
        for i, (value, quality) in enumerate(zip(block.values, qualities)):
            writer.writerow(
                (
                    block.meter_serial,
                    block.channel_hint,
                    block.unit,
                    block.direction,
                    block.interval_minutes,
                    (block.first_end_at + i * step).astimezone(tz).isoformat(),
                    "" if math.isnan(value) else repr(float(value)),
                    quality,
                    "",
                )
            )
    for read in registers:
        writer.writerow(
            (
                read.meter_serial,
                read.channel_hint,
                read.unit,
                read.direction,
                "",
                read.read_at.astimezone(tz).isoformat(),
                repr(float(read.value)),
                "",
                read.read_type,
            )
        )
    return out.getvalue()
