"""The records every read parser hands to the MDM import pipeline.

Parsers in `integrations/<format>/` turn a file into `IntervalBlock` / `ParsedRegisterRead`
records and `RecordError`s; they never touch the database. `mdm` stages, deduplicates and
stores the records and quarantines the errors with their file, line and field."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class IntervalBlock:
    """Consecutive interval values of one meter channel, from one record of the file.

    Blocks, not one object per interval: a day of 100,000 meters is 9.6M values and the
    import must stay vectorised. `first_end_at` is the UTC instant the FIRST interval ENDS
    (CMEP and MultiSpeak stamp interval data at the end of the interval); value i ends at
    first_end_at + i * interval_minutes. A parser starts a new block where times jump.
    `qualities[i]` is "" for an actual value, else what the head-end said ("estimated",
    "missing"); a missing value is NaN in `values`."""

    meter_serial: str
    unit: str  # normalised: kWh, kW, kVA, kVAR, kVARh, m3, USgal, ft3
    direction: str  # "delivered" | "received"
    interval_minutes: int
    first_end_at: dt.datetime  # timezone-aware, UTC
    values: tuple[float, ...]
    source_line: int
    qualities: tuple[str, ...] = ()
    channel_hint: str = ""  # channel number / id from the file where it has one


@dataclass(frozen=True)
class ParsedRegisterRead:
    meter_serial: str
    unit: str
    direction: str
    read_at: dt.datetime  # timezone-aware, UTC
    value: float
    source_line: int
    read_type: str = "ami_daily"  # manual | ami_daily | mv90 | install | removal
    channel_hint: str = ""


@dataclass(frozen=True)
class RecordError:
    """A bad record: what file, which line, which field, what is wrong, and the raw text so
    a person can fix it and resubmit."""

    line: int
    field: str
    message: str
    raw: str


@dataclass
class ParseResult:
    source_name: str
    format: str  # "cmep" | "csv" | "multispeak"
    intervals: list[IntervalBlock] = field(default_factory=list)
    registers: list[ParsedRegisterRead] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
