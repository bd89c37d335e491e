"""Write interval blocks and register reads as CMEP MEPMD01 records: for tests, the
benchmark and demo data, and as the reference for what parse_cmep reads."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from integrations.cmep import codes
from integrations.local_time import UTC
from mdm.records import IntervalBlock, ParsedRegisterRead

COMMODITY_OF_UNIT = {"m3": "W", "USgal": "W", "ft3": "G"}


def _stamp(instant: dt.datetime, tz: dt.tzinfo) -> str:
    return instant.astimezone(tz).strftime("%Y%m%d%H%M")


def _interval_code(minutes: int) -> str:
    days, rest = divmod(minutes, 1440)
    return f"00{days:02d}{rest // 60:02d}{rest % 60:02d}"


def _value_text(value: float) -> str:
    # repr is the shortest text that reads back as the same float
    return "" if math.isnan(value) else repr(float(value))


def write_cmep_intervals(
    blocks: Iterable[IntervalBlock],
    *,
    sender: str = "UTILIS",
    receiver: str = "",
    created_at: dt.datetime | None = None,
    tz: dt.tzinfo = UTC,
    purpose: str = "OK",
    commodity: str | None = None,
    explicit_times: bool = False,
) -> str:
    """One MEPMD01 line per block. DateTimes are written in `tz`; after the first triplet
    they are left blank (each is the previous plus Interval) unless `explicit_times`.
    `created_at` is the record TimeStamp (default: the block's last interval end, so the
    output does not depend on the clock)."""
    lines: list[str] = []
    stamp_cache: dict[tuple[dt.datetime, int, int], list[str]] = {}
    for block in blocks:
        step = dt.timedelta(minutes=block.interval_minutes)
        count = len(block.values)
        stamp_time = created_at or block.first_end_at + (count - 1) * step
        head = ",".join(
            (
                codes.RECORD_TYPE,
                codes.RECORD_VERSION,
                sender,
                "",
                receiver,
                "",
                _stamp(stamp_time, tz),
                block.meter_serial,
                purpose,
                commodity or COMMODITY_OF_UNIT.get(block.unit, "E"),
                codes.units_code(block.unit, block.direction, register=False),
                "1",
                _interval_code(block.interval_minutes),
                str(count),
            )
        )
        if not block.qualities and not explicit_times and not any(map(math.isnan, block.values)):
            # the common all-actual record: one C-level join instead of a format per triplet
            values_text = ",,R0,".join(map(repr, map(float, block.values)))
            lines.append(f"{head},{_stamp(block.first_end_at, tz)},R0,{values_text}")
            continue
        qualities = block.qualities or ("",) * count
        if explicit_times:
            # a file's blocks mostly share their times: format each sequence once
            stamp_key = (block.first_end_at, block.interval_minutes, count)
            stamps = stamp_cache.get(stamp_key)
            if stamps is None:
                stamps = stamp_cache[stamp_key] = [_stamp(block.first_end_at + i * step, tz) for i in range(count)]
        else:
            stamps = [_stamp(block.first_end_at, tz)] + [""] * (count - 1)
        triplets = ",".join(
            f"{stamp},{codes.WRITER_CODES[quality]},{_value_text(value)}"
            for stamp, quality, value in zip(stamps, qualities, block.values)
        )
        lines.append(f"{head},{triplets}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_cmep_registers(
    reads: Iterable[ParsedRegisterRead],
    *,
    sender: str = "UTILIS",
    receiver: str = "",
    created_at: dt.datetime | None = None,
    tz: dt.tzinfo = UTC,
    purpose: str = "OK",
    commodity: str | None = None,
) -> str:
    """One MEPMD01 register record (REG units, Interval 00000000, Count 1) per read."""
    lines = []
    for read in reads:
        head = ",".join(
            (
                codes.RECORD_TYPE,
                codes.RECORD_VERSION,
                sender,
                "",
                receiver,
                "",
                _stamp(created_at or read.read_at, tz),
                read.meter_serial,
                purpose,
                commodity or COMMODITY_OF_UNIT.get(read.unit, "E"),
                codes.units_code(read.unit, read.direction, register=True),
                "1",
                "00000000",
                "1",
            )
        )
        lines.append(f"{head},{_stamp(read.read_at, tz)},R0,{_value_text(read.value)}")
    return "\n".join(lines) + ("\n" if lines else "")
