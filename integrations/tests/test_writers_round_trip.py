"""What the writers produce, the parsers read back unchanged."""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from integrations.cmep.parser import parse_cmep
from integrations.cmep.writer import write_cmep_intervals, write_cmep_registers
from integrations.csv_reads.parser import parse_csv
from integrations.csv_reads.writer import write_csv
from mdm.records import IntervalBlock, ParsedRegisterRead

UTC = dt.timezone.utc
CHICAGO = ZoneInfo("America/Chicago")

FALL_DAY = IntervalBlock(
    meter_serial="E1000001",
    unit="kWh",
    direction="delivered",
    interval_minutes=15,
    first_end_at=dt.datetime(2026, 11, 1, 5, 15, tzinfo=UTC),
    values=tuple(0.1 * (i % 7) for i in range(100)),
    source_line=1,
)
RECEIVED = IntervalBlock(
    meter_serial="E1000001",
    unit="kWh",
    direction="received",
    interval_minutes=60,
    first_end_at=dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    values=(0.5, math.nan, 1.25),
    qualities=("estimated", "missing", ""),
    source_line=2,
)
WATER = IntervalBlock(
    meter_serial="W1",
    unit="m3",
    direction="delivered",
    interval_minutes=60,
    first_end_at=dt.datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    values=(0.012, 0.0),
    source_line=3,
)
REGISTER = ParsedRegisterRead(
    meter_serial="E1000001",
    unit="kWh",
    direction="received",
    read_at=dt.datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
    value=123.5,
    source_line=1,
)


def same_block(a: IntervalBlock, b: IntervalBlock) -> bool:
    values_equal = all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a.values, b.values))
    return (
        (a.meter_serial, a.unit, a.direction, a.interval_minutes, a.first_end_at, len(a.values), a.qualities)
        == (b.meter_serial, b.unit, b.direction, b.interval_minutes, b.first_end_at, len(b.values), b.qualities)
        and values_equal
    )


def test_cmep_round_trip_in_local_time_with_blank_and_explicit_datetimes():
    for explicit in (False, True):
        text = write_cmep_intervals([FALL_DAY, RECEIVED, WATER], tz=CHICAGO, explicit_times=explicit)
        result = parse_cmep(text, "rt.cmep", tz=CHICAGO)
        assert result.errors == []
        assert len(result.intervals) == 3
        assert all(same_block(a, b) for a, b in zip([FALL_DAY, RECEIVED, WATER], result.intervals))


def test_cmep_writes_direction_and_quality_codes():
    line = write_cmep_intervals([RECEIVED], sender="UTILIS").splitlines()[0]
    fields = line.split(",")
    assert fields[:14] == [
        "MEPMD01", "20090101", "UTILIS", "", "", "", "202611010800", "E1000001", "OK", "E", "KWH-R", "1",
        "00000100", "3",
    ]
    assert fields[14:] == ["202611010600", "ES", "0.5", "", "N", "", "", "R0", "1.25"]


def test_cmep_register_round_trip():
    text = write_cmep_registers([REGISTER])
    assert text.split(",")[10] == "KWHREG-R"
    (read,) = parse_cmep(text, "rt.cmep").registers
    assert (read.meter_serial, read.unit, read.direction, read.read_at, read.value) == (
        "E1000001", "kWh", "received", REGISTER.read_at, 123.5,
    )


def test_csv_round_trip_with_offsets():
    text = write_csv(blocks=[FALL_DAY, RECEIVED, WATER], registers=[REGISTER], tz=CHICAGO)
    result = parse_csv(text, "rt.csv")
    assert result.errors == []
    assert all(same_block(a, b) for a, b in zip([FALL_DAY, RECEIVED, WATER], result.intervals))
    (read,) = result.registers
    assert (read.read_at, read.value, read.direction, read.read_type) == (REGISTER.read_at, 123.5, "received", "ami_daily")
    # the repeated hour is written with both offsets, so no reader needs a zone to place it
    assert "2026-11-01T01:15:00-05:00" in text and "2026-11-01T01:15:00-06:00" in text
