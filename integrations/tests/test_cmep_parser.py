"""parse_cmep on recorded files: DST days as UTC instants, CalculationConstant, units and
direction codes, register reads, and each kind of bad record with its line and field."""
from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest

from integrations.cmep.parser import parse_cmep
from integrations.tests.fixture_files import fixture_text

UTC = dt.timezone.utc
CHICAGO = ZoneInfo("America/Chicago")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class TestFallBackDay:
    @pytest.fixture
    def result(self):
        return parse_cmep(fixture_text("cmep", "fall_back_day_chicago.cmep"), "fall.cmep", tz=CHICAGO)

    def test_reads_a_25_hour_local_day_as_100_consecutive_utc_quarter_hours(self, result):
        delivered = [b for b in result.intervals if b.direction == "delivered"]
        assert len(delivered) == 1
        block = delivered[0]
        # 00:15 CDT (UTC-5) is 05:15Z; the day ends at 00:00 CST (UTC-6) on 2 Nov = 06:00Z
        assert block.first_end_at == at(2026, 11, 1, 5, 15)
        assert len(block.values) == 100
        assert block.first_end_at + dt.timedelta(minutes=15 * 99) == at(2026, 11, 2, 6, 0)
        assert block.interval_minutes == 15
        assert block.unit == "kWh"
        assert block.source_line == 1
        assert block.qualities == ()
        # 50 x 0.25 + 50 x 0.5
        assert sum(block.values) == 37.5
        assert result.errors == []

    def test_applies_calculation_constant_and_reads_dash_r_as_received(self, result):
        (received,) = [b for b in result.intervals if b.direction == "received"]
        assert received.unit == "kWh"
        assert received.source_line == 2
        # 2.5 x (0.1, 0.2, 0.4) and the N triplet is missing
        assert received.values[:3] == pytest.approx((0.25, 0.5, 1.0))
        assert math.isnan(received.values[3])
        assert received.qualities == ("", "", "estimated", "missing")

    def test_reads_register_record_at_its_utc_instant(self, result):
        (read,) = result.registers
        assert read.meter_serial == "E1000001"
        assert read.unit == "kWh"
        assert read.direction == "delivered"
        assert read.read_at == at(2026, 11, 2, 6, 0)  # 00:00 CST
        assert read.value == 12345.6
        assert read.source_line == 3
        assert read.read_type == "ami_daily"


class TestSpringForwardDay:
    @pytest.fixture
    def result(self):
        return parse_cmep(fixture_text("cmep", "spring_forward_day_chicago.cmep"), "spring.cmep", tz=CHICAGO)

    def test_explicit_local_times_skipping_two_am_form_one_block_of_92(self, result):
        (block,) = [b for b in result.intervals if b.meter_serial == "E1000002"]
        assert block.first_end_at == at(2026, 3, 8, 6, 15)  # 00:15 CST
        assert len(block.values) == 92
        # last interval ends at 00:00 CDT on 9 March = 05:00Z
        assert block.first_end_at + dt.timedelta(minutes=15 * 91) == at(2026, 3, 9, 5, 0)
        assert sum(block.values) == 92.0
        assert result.errors == []

    def test_ccf_is_stored_as_cubic_feet_hourly(self, result):
        (gas,) = [b for b in result.intervals if b.meter_serial == "G2000001"]
        assert gas.unit == "ft3"
        assert gas.interval_minutes == 60
        assert gas.first_end_at == at(2026, 3, 8, 7, 0)  # 01:00 CST
        assert gas.values == (150.0, 225.0, 0.0)


def test_utc_is_the_default_zone():
    text = "MEPMD01,20090101,H,,U,,202601020000,M1,OK,E,KW,1,00000030,2,202601010030,R0,3,,R0,4\n"
    (block,) = parse_cmep(text, "x").intervals
    assert block.first_end_at == at(2026, 1, 1, 0, 30)
    assert block.unit == "kW"
    assert block.values == (3.0, 4.0)


def test_fixed_offset_zone_reads_local_standard_time_all_year():
    text = "MEPMD01,20090101,H,,U,,202607020000,M1,OK,E,KWH,1,00000100,1,202607010100,R0,3\n"
    cst = dt.timezone(dt.timedelta(hours=-6))
    (block,) = parse_cmep(text, "x", tz=cst).intervals
    assert block.first_end_at == at(2026, 7, 1, 7, 0)


def test_repeated_local_hour_in_a_second_record_is_the_standard_time_hour():
    # two hourly records of 01:15..01:00 local: the second starts in the repeated hour
    first = "MEPMD01,20090101,H,,U,,202611020000,M1,OK,E,KWH,1,00000015,4,202611010115,R0,1,,R0,1,,R0,1,,R0,1"
    second = "MEPMD01,20090101,H,,U,,202611020000,M1,OK,E,KWH,1,00000015,4,202611010115,R0,2,,R0,2,,R0,2,,R0,2"
    result = parse_cmep(first + "\n" + second + "\n", "x", tz=CHICAGO)
    assert [b.first_end_at for b in result.intervals] == [at(2026, 11, 1, 6, 15), at(2026, 11, 1, 7, 15)]
    assert result.errors == []


def test_datetime_in_the_skipped_spring_hour_is_an_error():
    text = "MEPMD01,20090101,H,,U,,202603090000,M1,OK,E,KWH,1,00000015,1,202603080230,R0,1\n"
    result = parse_cmep(text, "x", tz=CHICAGO)
    assert result.intervals == []
    (error,) = result.errors
    assert (error.line, error.field) == (1, "DateTime")
    assert "does not exist" in error.message


class TestBadRecords:
    @pytest.fixture
    def result(self):
        return parse_cmep(fixture_text("cmep", "bad_records.cmep"), "bad.cmep")

    def errors_on(self, result, line):
        return [(e.field, e.message) for e in result.errors if e.line == line]

    def blocks_of(self, result, meter):
        return [(b.first_end_at, b.values) for b in result.intervals if b.meter_serial == meter]

    def test_non_numeric_value_is_reported_and_the_rest_of_the_record_loads(self, result):
        assert self.errors_on(result, 1) == [("Value", "triplet 2: Value 'abc' is not a number")]
        assert self.blocks_of(result, "E3000001") == [
            (at(2026, 1, 1, 0, 15), (1.0,)),
            (at(2026, 1, 1, 0, 45), (1.5, 2.0)),
        ]

    def test_bad_timestamp(self, result):
        ((field, message),) = self.errors_on(result, 2)
        assert field == "DateTime"
        assert message.startswith("triplet 1: DateTime '202601011360' is not a valid date and time")
        assert self.blocks_of(result, "E3000002") == []

    def test_count_not_matching_the_triplets(self, result):
        assert self.errors_on(result, 3) == [("Count", "Count is 3 but the record holds 2 triplets")]

    def test_unknown_unit(self, result):
        assert self.errors_on(result, 4) == [("Units", "Units 'BTU' is not a known CMEP units code")]

    def test_wrong_record_type(self, result):
        assert self.errors_on(result, 5) == [("RecordType", "record type 'MEPAD01' is not MEPMD01")]

    def test_blank_meter_id(self, result):
        assert self.errors_on(result, 6) == [("MeterID", "MeterID is blank")]

    def test_forward_time_jump_splits_the_block_without_error(self, result):
        assert self.errors_on(result, 7) == []
        assert self.blocks_of(result, "E3000007") == [
            (at(2026, 1, 1, 0, 15), (1.0, 2.0)),
            (at(2026, 1, 1, 1, 0), (3.0, 4.0)),
        ]

    def test_backward_time_jump_is_an_error_and_keeps_what_came_before(self, result):
        ((field, message),) = self.errors_on(result, 8)
        assert field == "DateTime"
        assert message.startswith("triplet 3: DateTime 202601010030 (2026-01-01T00:30Z) is not after")
        assert self.blocks_of(result, "E3000008") == [(at(2026, 1, 1, 1, 0), (1.0, 2.0))]

    def test_duplicate_with_same_value_is_dropped_and_with_other_value_is_an_error(self, result):
        assert self.errors_on(result, 10) == []
        ((field, message),) = self.errors_on(result, 11)
        assert field == "Value"
        assert "2026-01-01T00:30Z appears again in this file with value 2.5, earlier 2.0" in message
        assert self.blocks_of(result, "E3000009") == [
            (at(2026, 1, 1, 0, 15), (1.0, 2.0)),
            (at(2026, 1, 1, 0, 45), (3.0, 4.0)),
        ]

    def test_interval_that_does_not_divide_a_day(self, result):
        assert self.errors_on(result, 12) == [("Interval", "Interval 00000007 (7 min) does not divide a day")]

    def test_unknown_protocol_text(self, result):
        assert self.errors_on(result, 13) == [("ProtocolText", "triplet 1: ProtocolText 'XX' is not a known quality code")]
        assert self.blocks_of(result, "E3000011") == [(at(2026, 1, 1, 0, 30), (1.0,))]

    def test_every_error_keeps_the_raw_record(self, result):
        lines = fixture_text("cmep", "bad_records.cmep").splitlines()
        assert all(e.raw == lines[e.line - 1] for e in result.errors)
        assert len(result.errors) == 10


def test_nan_text_is_not_a_value():
    text = "MEPMD01,20090101,H,,U,,202601020000,M1,OK,E,KWH,1,00000015,2,202601010015,R0,nan,,R0,1\n"
    result = parse_cmep(text, "x")
    assert [(e.field, e.message) for e in result.errors] == [("Value", "triplet 1: Value 'nan' is not a number")]
    assert [(b.first_end_at, b.values) for b in result.intervals] == [(at(2026, 1, 1, 0, 30), (1.0,))]


def test_underscored_number_is_not_a_value_but_an_underscored_sender_is_fine():
    text = "MEPMD01,20090101,HEAD_END,,U,,202601020000,M_1,OK,E,KWH,1,00000015,2,202601010015,R0,1_0,,R0,1\n"
    result = parse_cmep(text, "x")
    assert [(e.field, e.message) for e in result.errors] == [("Value", "triplet 1: Value '1_0' is not a number")]
    assert [(b.meter_serial, b.values) for b in result.intervals] == [("M_1", (1.0,))]


def test_register_read_without_value_is_an_error():
    text = "MEPMD01,20090101,H,,U,,202601020000,M1,OK,W,M3REG,1,00000000,1,202601020000,R0,\n"
    result = parse_cmep(text, "x")
    assert result.registers == []
    assert [(e.line, e.field) for e in result.errors] == [(1, "Value")]


def test_received_register_suffix_in_either_order():
    lines = [
        "MEPMD01,20090101,H,,U,,202601020000,M1,OK,E,KWHREG-R,1,00000000,1,202601020000,R0,10",
        "MEPMD01,20090101,H,,U,,202601020000,M2,OK,E,KWH-RREG,1,00000000,1,202601020000,R0,20",
    ]
    result = parse_cmep("\n".join(lines), "x")
    assert [(r.meter_serial, r.direction, r.value) for r in result.registers] == [
        ("M1", "received", 10.0),
        ("M2", "received", 20.0),
    ]
