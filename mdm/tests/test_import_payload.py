"""The import chunk payload: format 2 keeps every value bit for bit, format 1 chunks (cut
before the change, still waiting in the database) are still read, anything else is refused."""
from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from mdm.importing.payload import (
    FORMAT_VERSION, PayloadFormatError, payload_as_of, payload_pack, payload_unpack,
)
from mdm.records import IntervalBlock, ParsedRegisterRead

UTC = dt.timezone.utc


def _block(values, qualities=()):
    return IntervalBlock("M1", "kWh", "delivered", 15, dt.datetime(2026, 3, 8, 5, 15, tzinfo=UTC), tuple(values), 7,
                         tuple(qualities), "2")


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def test_format_2_round_trip_through_json_keeps_every_value_exactly():
    values = [0.1, 1 / 3, 123456.789, -0.0, 0.0, float("nan"), float("inf"), float("-inf"), 5e-324, 1.7976931348623157e308]
    block = _block(values, ["", "estimated", "", "", "", "missing", "", "", "", ""])
    read = ParsedRegisterRead("M1", "kWh", "delivered", dt.datetime(2026, 3, 8, 5, tzinfo=UTC), 1234.5678, 9)
    stamp = dt.datetime(2026, 3, 9, 1, 2, tzinfo=UTC)
    payload = json.loads(json.dumps(payload_pack([block], [read], as_of={7: stamp})))
    assert payload["format"] == FORMAT_VERSION == 2
    assert "values" not in payload["blocks"][0]  # the values travel as bytes, not JSON numbers
    (got,), (got_read,) = payload_unpack(payload)
    assert len(got.values) == len(values)
    assert all(_same(a, b) for a, b in zip(got.values, values))
    assert (got.meter_serial, got.unit, got.direction, got.interval_minutes, got.first_end_at, got.source_line,
            got.qualities, got.channel_hint) == (block.meter_serial, block.unit, block.direction, 15, block.first_end_at,
                                                 7, block.qualities, "2")
    assert got_read == read
    assert payload_as_of(payload) == {7: stamp}


def test_an_empty_block_and_an_empty_payload():
    (got,), regs = payload_unpack(json.loads(json.dumps(payload_pack([_block([])], []))))
    assert got.values == () and regs == []
    assert payload_unpack(payload_pack([], [])) == ([], [])


def test_format_1_chunks_waiting_from_before_are_still_read():
    old = {"format": 1, "blocks": [{"meter": "M1", "unit": "kWh", "direction": "delivered", "minutes": 15,
                                    "first_end": "2026-03-08T05:15:00+00:00", "values": [0.25, None, "inf", "-inf", 2],
                                    "line": 3, "qualities": ["", "missing", "", "", ""], "hint": ""}],
           "registers": []}
    (block,), _ = payload_unpack(old)
    assert block.values[0] == 0.25 and math.isnan(block.values[1]) and block.values[2:] == (math.inf, -math.inf, 2.0)
    assert block.source_line == 3 and block.qualities[1] == "missing"


@pytest.mark.parametrize("payload", [
    {"format": 3, "blocks": []}, {"format": True, "blocks": []}, {"blocks": []}, [], "2", None,
])
def test_an_unknown_format_is_refused(payload):
    with pytest.raises(PayloadFormatError):
        payload_unpack(payload)


@pytest.mark.parametrize("f8", ["not base64!", "AAAA", 12])
def test_block_values_that_are_not_whole_float64s_are_refused(f8):
    payload = json.loads(json.dumps(payload_pack([_block([1.0, 2.0])], [])))
    payload["blocks"][0]["f8"] = f8
    with pytest.raises(PayloadFormatError):
        payload_unpack(payload)
