"""The one list of integrations: each read format resolves to its parser."""
from __future__ import annotations

import pytest

from integrations import registry
from integrations.cmep.parser import parse_cmep
from integrations.csv_reads.parser import parse_csv
from integrations.multispeak.readings import parse_multispeak


def test_read_formats_resolve_to_their_parsers():
    assert registry.read_formats() == ("cmep", "csv", "multispeak")
    assert registry.read_parser("cmep") is parse_cmep
    assert registry.read_parser("csv") is parse_csv
    assert registry.read_parser("multispeak") is parse_multispeak


def test_unknown_format_raises():
    with pytest.raises(registry.UnknownReadFormat):
        registry.read_parser("edi867")


def test_parse_read_file_decodes_text_formats_and_passes_options():
    content = "\ufeffMEPMD01,20090101,H,,U,,202601020000,M1,OK,E,KWH,1,00000015,1,202601010015,R0,2\n".encode()
    result = registry.parse_read_file("cmep", content, "a.cmep")
    assert result.format == "cmep"
    assert [b.values for b in result.intervals] == [(2.0,)]


def test_a_line_that_is_not_utf8_is_a_record_error_on_its_line_and_the_rest_loads():
    content = (b"meter_serial,unit,interval_minutes,interval_end,value\nM\xff1,kWh,15,2026-01-01T00:15Z,1\n"
               b"M2,kWh,15,2026-01-01T00:15Z,2\nM3,kWh,15,2026-01-01T00:15Z,3\x00\n")
    result = registry.parse_read_file("csv", content, "a.csv")
    assert [(e.line, e.field) for e in result.errors] == [(2, "encoding"), (4, "encoding")]
    assert result.errors[0].raw == "M\\xff1,kWh,15,2026-01-01T00:15Z,1"
    assert result.errors[1].raw == "M3,kWh,15,2026-01-01T00:15Z,3\\x00"
    assert [b.meter_serial for b in result.intervals] == ["M2"]
