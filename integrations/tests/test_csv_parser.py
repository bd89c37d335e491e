"""parse_csv on recorded files: offsets and local times across the fall-back hour,
interleaved channels grouped into blocks, register rows, and each bad row's line and column."""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest

from integrations.csv_reads.parser import parse_csv
from integrations.tests.fixture_files import fixture_text

UTC = dt.timezone.utc


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class TestReads:
    @pytest.fixture
    def result(self):
        return parse_csv(fixture_text("csv", "reads.csv"), "reads.csv")

    def test_interleaved_channels_each_become_one_block_across_the_repeated_hour(self, result):
        delivered, received, water = result.intervals
        # 01:45 CDT, 01:00 CST, 01:15 CST are 06:45Z, 07:00Z, 07:15Z
        assert (delivered.meter_serial, delivered.channel_hint, delivered.direction) == ("E1000001", "1", "delivered")
        assert delivered.first_end_at == at(2026, 11, 1, 6, 45)
        assert delivered.values[:2] == (0.5, 0.75)
        assert math.isnan(delivered.values[2])
        assert delivered.qualities == ("", "", "missing")
        assert delivered.source_line == 2
        assert (received.channel_hint, received.direction) == ("2", "received")
        assert received.values == (0.0, 0.125, 0.25)
        assert received.qualities == ("", "", "estimated")
        assert received.source_line == 3

    def test_blank_direction_is_delivered_and_hourly_water_in_us_gallons(self, result):
        water = result.intervals[2]
        assert (water.unit, water.direction, water.interval_minutes) == ("USgal", "delivered", 60)
        assert water.first_end_at == at(2026, 11, 1, 7, 0)
        assert water.values == (12.5, 10.0)

    def test_register_rows(self, result):
        assert [(r.meter_serial, r.unit, r.read_at, r.value, r.read_type, r.source_line) for r in result.registers] == [
            ("E1000001", "kWh", at(2026, 11, 2, 6, 0), 20456.25, "ami_daily", 10),
            ("W5000001", "USgal", at(2026, 11, 1, 12, 0), 881234.0, "manual", 11),
        ]
        assert result.errors == []


def test_naive_local_times_count_through_the_repeated_hour():
    result = parse_csv(fixture_text("csv", "local_fall_back.csv"), "local.csv", tz=ZoneInfo("America/Chicago"))
    (block,) = result.intervals
    # 01:45 CDT = 06:45Z, then 01:00 .. 01:45 CST and 02:00 CST = 07:00Z .. 08:00Z
    assert block.first_end_at == at(2026, 11, 1, 6, 45)
    assert block.values == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert result.errors == []


class TestBadRows:
    @pytest.fixture
    def result(self):
        return parse_csv(fixture_text("csv", "bad_reads.csv"), "bad.csv")

    def test_each_bad_row_has_its_line_and_column(self, result):
        assert [(e.line, e.field) for e in sorted(result.errors, key=lambda e: e.line)] == [
            (3, "value"),
            (5, "interval_end"),
            (6, "meter_serial"),
            (7, "unit"),
            (8, "direction"),
            (9, "interval_minutes"),
            (10, "quality"),
            (11, "row"),
            (13, "Value"),
            (14, "read_type"),
        ]

    def test_messages_say_what_is_wrong(self, result):
        messages = {e.line: e.message for e in result.errors}
        assert messages[3] == "value 'abc' is not a number"
        assert messages[5] == "interval_end '2026-01-01T25:00:00Z' is not an ISO 8601 date-time"
        assert messages[11] == "row has 8 fields, the header 9"
        assert "appears again in this file with value 1.75, earlier 1.5" in messages[13]

    def test_good_rows_still_load_and_a_same_value_repeat_is_dropped(self, result):
        assert [(b.meter_serial, b.first_end_at, b.values) for b in result.intervals] == [
            ("E3000001", at(2026, 1, 1, 0, 15), (1.0,)),
            ("E3000001", at(2026, 1, 1, 0, 45), (1.5,)),
        ]
        assert result.registers == []

    def test_raw_is_the_offending_line(self, result):
        lines = fixture_text("csv", "bad_reads.csv").splitlines()
        assert all(e.raw == lines[e.line - 1] for e in result.errors)


def test_header_with_unknown_column_is_one_error():
    result = parse_csv("meter,unit,interval_end,value\nM1,kWh,2026-01-01T00:15:00Z,1\n", "x")
    (error,) = result.errors
    assert (error.line, error.field) == (1, "header")
    assert "missing column(s) meter_serial" in error.message
    assert "unknown column(s) meter" in error.message
    assert result.intervals == []
