"""parse_multispeak on recorded 4.1 payloads (SOAP and bare): register reads from
meterReading and formattedBlock, interval data from intervalData, and bad elements reported
with their source line and element name. The samples are checked against the WSDL schemas."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from integrations.multispeak.readings import parse_multispeak
from integrations.tests.fixture_files import fixture_bytes
from integrations.tests.multispeak_schema import payload_elements, wsdl_schema

UTC = dt.timezone.utc


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def parse(name: str):
    return parse_multispeak(fixture_bytes("multispeak", name), name)


@pytest.mark.parametrize(
    ("name", "wsdl"),
    [
        ("reading_changed_notification.xml", "CB_Server.wsdl"),
        ("interval_data_notification.xml", "CB_Server.wsdl"),
        ("lp_readings_response.xml", "MR_Server.wsdl"),
        ("formatted_block_response.xml", "MR_Server.wsdl"),
    ],
)
def test_recorded_samples_are_valid_against_the_wsdl_schema(name, wsdl):
    # bad_readings.xml is left out on purpose: its timeStamp is not an xs:dateTime
    schema = wsdl_schema(wsdl)
    for element in payload_elements(fixture_bytes("multispeak", name)):
        schema.validate(element)


class TestReadingChangedNotification:
    @pytest.fixture
    def result(self):
        return parse("reading_changed_notification.xml")

    def test_each_reading_value_is_a_register_read(self, result):
        assert result.format == "multispeak"
        assert result.errors == []
        assert [
            (r.meter_serial, r.unit, r.direction, r.read_at, r.value, r.channel_hint, r.source_line)
            for r in result.registers
        ] == [
            ("E1000001", "kWh", "delivered", at(2026, 11, 2, 6, 0), 20456.25, "kWh delivered", 12),
            # 312,500 Wh reverse flow, stamped 00:00 at UTC-6
            ("E1000001", "kWh", "received", at(2026, 11, 2, 6, 0), 312.5, "Wh received", 19),
            # no meterNo attribute: the meterID text; naive timeStamp read as UTC
            ("W5000001", "USgal", "delivered", at(2026, 11, 1, 7, 30), 881234.0, "", 32),
        ]


class TestIntervalDataNotification:
    @pytest.fixture
    def result(self):
        return parse("interval_data_notification.xml")

    def test_block_channels_become_interval_blocks_across_spring_forward(self, result):
        delivered, received = [b for b in result.intervals if b.meter_serial == "E1000001"]
        # intervalStart 01:00 CST = 07:00Z; the first 15 minutes end at 07:15Z
        assert delivered.first_end_at == at(2026, 3, 8, 7, 15)
        assert (delivered.unit, delivered.direction, delivered.interval_minutes) == ("kWh", "delivered", 15)
        assert delivered.channel_hint == "1"
        assert len(delivered.values) == 8
        assert sum(delivered.values) == 5.0
        assert delivered.source_line == 39
        assert received.direction == "received"
        assert received.values[:2] == (0.1, 0.2)
        assert math.isnan(received.values[2])
        assert received.values[3] == 0.4
        assert received.qualities == ("", "estimated", "missing", "")

    def test_channels_of_units_not_stored_are_skipped(self, result):
        assert {b.channel_hint for b in result.intervals if b.meter_serial == "E1000001"} == {"1", "2"}

    def test_bad_value_and_unknown_profile_are_errors_and_the_rest_loads(self, result):
        assert [(e.line, e.field, e.message) for e in result.errors] == [
            (60, "d", "channel 1 interval 2: value 'x' is not a number"),
            (67, "profileID", "profileID 'COM05' is not a profile of this intervalData"),
        ]
        assert [(b.first_end_at, b.values) for b in result.intervals if b.meter_serial == "E1000002"] == [
            (at(2026, 3, 8, 7, 15), (1.0,)),
            (at(2026, 3, 8, 7, 45), (2.0,)),
        ]


def test_each_interval_data_has_its_own_profiles_and_delimiters():
    result = parse("lp_readings_response.xml")
    assert result.errors == []
    water, gas = result.intervals
    assert (water.meter_serial, water.unit, water.interval_minutes) == ("W5000001", "ft3", 60)
    assert water.first_end_at == at(2026, 11, 1, 1, 0)
    assert water.values == (3.5, 4.0, 0.0)
    assert water.qualities == ("", "estimated", "")
    # the second intervalData redefines P1 as 30-minute ccf and uses the default ","
    assert (gas.meter_serial, gas.unit, gas.interval_minutes) == ("G2000001", "ft3", 30)
    assert gas.first_end_at == at(2026, 11, 1, 0, 30)
    assert gas.values == (50.0, 25.0)


class TestFormattedBlock:
    @pytest.fixture
    def result(self):
        return parse("formatted_block_response.xml")

    def test_rows_are_register_reads_per_consumption_column(self, result):
        assert [(r.meter_serial, r.direction, r.value, r.channel_hint, r.source_line) for r in result.registers] == [
            ("E1000001", "delivered", 20456.25, "kWh", 34),
            ("E1000001", "received", 312.5, "kWh received", 34),
            ("E1000002", "delivered", 9876.0, "kWh", 35),
            ("E1000002", "received", 0.0, "kWh received", 35),
            ("E1000003", "received", 0.0, "kWh received", 36),
        ]
        assert all(r.read_at == at(2026, 11, 2, 6, 0) for r in result.registers)

    def test_interval_rows_form_blocks_and_a_contradicting_repeat_is_an_error(self, result):
        (block,) = result.intervals
        assert (block.meter_serial, block.unit, block.interval_minutes) == ("E1000004", "kW", 15)
        assert block.first_end_at == at(2026, 11, 1, 6, 15)
        assert block.values == (4.25, 4.5)
        assert [(e.line, e.field) for e in result.errors] == [(36, "kWh"), (64, "Value")]
        assert result.errors[0].message == "kWh value 'n/a' is not a number"


class TestBadReadings:
    @pytest.fixture
    def result(self):
        return parse("bad_readings.xml")

    def test_each_bad_element_has_its_line_and_field(self, result):
        assert [(e.line, e.field) for e in result.errors] == [
            (4, "meterID"),
            (17, "units"),
            (22, "value"),
            (27, "timeStamp"),
            (32, "flowDirection"),
            (43, "Value"),
        ]
        messages = [e.message for e in result.errors]
        assert messages[1] == "units 'Therm' is not a metered quantity Utilis stores"
        assert messages[2] == "value 'twelve' is not a number"
        assert messages[3] == "timeStamp '2026-11-02 6am' is not an xs:dateTime"
        assert messages[4] == "flowDirection 'net' is not forward or reverse"

    def test_the_good_reading_loads(self, result):
        assert [(r.meter_serial, r.value, r.source_line) for r in result.registers] == [("E3000001", 13.0, 38)]

    def test_raw_is_the_whole_meter_reading_so_a_fix_can_be_resubmitted(self, result):
        raw = result.errors[2].raw
        assert "<value>twelve</value>" in raw
        fixed = parse_multispeak(raw.replace("twelve", "12").encode(), "resubmitted.xml")
        assert ("E3000001", 12.0) in [(r.meter_serial, r.value) for r in fixed.registers]


def test_interval_error_raw_is_an_interval_data_payload_with_its_profile():
    error = parse("interval_data_notification.xml").errors[0]
    fixed = parse_multispeak(error.raw.replace("1.0,x,2.0", "1.0,1.5,2.0").encode(), "resubmitted.xml")
    assert fixed.errors == []
    ((meter, first_end, values),) = [(b.meter_serial, b.first_end_at, b.values) for b in fixed.intervals]
    assert (meter, first_end, values) == ("E1000002", at(2026, 3, 8, 7, 15), (1.0, 1.5, 2.0))


def test_formatted_block_error_raw_is_the_one_row_with_its_syntax():
    error = parse("formatted_block_response.xml").errors[0]
    fixed = parse_multispeak(error.raw.replace("n/a", "77.5").encode(), "resubmitted.xml")
    assert fixed.errors == []
    assert [(r.meter_serial, r.value, r.direction) for r in fixed.registers] == [
        ("E1000003", 77.5, "delivered"),
        ("E1000003", 0.0, "received"),
    ]


def test_malformed_xml_is_one_error_with_its_line():
    result = parse_multispeak(b"<ReadingChangedNotification>\n<changedMeterReads>\n</oops>", "broken.xml")
    (error,) = result.errors
    assert (error.line, error.field) == (3, "xml")


def test_external_entities_are_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("42")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<meterReading xmlns="http://www.multispeak.org/Version_4.1_Release"><meterID meterNo="M1"/>'
        "<readingValues><readingValue><units>kWh</units><value>&x;</value>"
        "<timeStamp>2026-01-01T00:00:00Z</timeStamp></readingValue></readingValues></meterReading>"
    ).encode()
    result = parse_multispeak(xml, "xxe.xml")
    # resolved, the file's 42 would be a read; unresolved, the value is empty
    assert result.registers == []
    assert [(e.field, e.message) for e in result.errors] == [("value", "value '' is not a number")]


def test_large_interval_payload_streams_every_block():
    blocks = "".join(
        f'<block><profileID>P</profileID><meterID meterNo="M{n}"/>'
        f"<intervalStart>2026-01-01T00:00:00Z</intervalStart>"
        f"<dB><chs><ch><idx>1</idx><d>{','.join(['0.25'] * 96)}</d></ch></chs></dB></block>\n"
        for n in range(3000)
    )
    xml = (
        '<intervalData xmlns="http://www.multispeak.org/Version_4.1_Release"><profiles><profile profileID="P">'
        '<intervalLength units="Minutes">15</intervalLength><channels><channel><index>1</index><units>kWh</units>'
        f"</channel></channels></profile></profiles><blocks>\n{blocks}</blocks></intervalData>"
    ).encode()
    result = parse_multispeak(xml, "big.xml")
    assert result.errors == []
    assert len(result.intervals) == 3000
    assert result.intervals[-1].meter_serial == "M2999"
    assert result.intervals[-1].source_line == 3001
    assert sum(sum(b.values) for b in result.intervals) == 3000 * 96 * 0.25
