"""Hostile read files never lose good data: through mdm.importing.import_file and the real parsers.

Each file mixes good records with one kind of bad one; the good ones load, the bad ones are
quarantined with file, line and field, the run ends DONE (or FAILED with a reason), and
importing the same data again adds nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mdm import importing
from mdm.models import ImportRun, IntervalDay, IntervalDayVersion, QuarantinedRecord, RegisterRead, ReplacementReadNotice
from mdm.tests.factories import ChannelFactory

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db

HEADER = "meter_serial,unit,direction,interval_minutes,interval_end,value,read_type\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    settings.UTILIS_VEE_AFTER_IMPORT = False


@pytest.fixture
def channel():
    return ChannelFactory(interval_minutes=15, meter__serial_number="H1")


def _quarantine(run):
    return [(q.file_name, q.line, q.field) for q in QuarantinedRecord.objects.filter(import_run=run).order_by("line")]


def _csv(rows: list[str]) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def test_year_9999_and_year_1_stamps_are_quarantined_and_the_good_rows_load(channel):
    content = _csv([
        "H1,kWh,delivered,15,2026-06-10T04:15:00Z,1.0,",
        "H1,kWh,delivered,15,9999-12-31T23:45:00-05:00,9,",
        "H1,kWh,delivered,15,9999-12-31T23:30:00-05:00,9,",
        "H1,kWh,delivered,15,0001-01-01T00:15:00+05:00,9,",
        "H1,kWh,delivered,15,2026-06-10T04:30:00Z,2.0,",
        "H1,kWh,delivered,,2030-01-01T00:00:00Z,5,ami_daily",
    ])
    run = importing.import_file(content, format="csv", file_name="far.csv", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.intervals_loaded == 2
    assert _quarantine(run) == [("far.csv", n, "interval_end") for n in (3, 4, 5, 7)]
    again = importing.import_file(content, format="csv", file_name="far.csv", now=NOW)
    assert again.duplicate_of_id == run.pk


def test_cmep_year_9999_record_is_quarantined_by_the_screen(channel):
    good = "MEPMD01,20090101,H,,U,,202606100430,H1,OK,E,KWH,1,00000015,2,202606100415,R0,1,,R0,2\n"
    bad = "MEPMD01,20090101,H,,U,,202606100430,H1,OK,E,KWH,1,00000015,2,999912312330,R0,1,,R0,2\n"
    old = "MEPMD01,20090101,H,,U,,202606100430,H1,OK,E,KWH,1,00000015,1,000101010015,R0,1\n"
    run = importing.import_file((good + bad + old).encode(), format="cmep", file_name="far.cmep", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.intervals_loaded == 2
    assert {(line, field) for _, line, field in _quarantine(run)} == {(2, "DateTime"), (3, "DateTime")}


def test_huge_infinite_and_overflowing_values_are_quarantined(channel):
    ChannelFactory(meter=channel.meter, interval_minutes=None)
    content = _csv([
        "H1,kWh,delivered,15,2026-06-10T04:15:00Z,1.0,",
        "H1,kWh,delivered,15,2026-06-10T04:30:00Z,1e400,",
        "H1,kWh,delivered,15,2026-06-10T04:45:00Z,10000000000000,",
        "H1,kWh,delivered,15,2026-06-10T05:00:00Z,3.0,",
        "H1,kWh,delivered,,2026-06-10T06:00:00Z,10000000000000,ami_daily",
        "H1,kWh,delivered,,2026-06-11T06:00:00Z,1e400,ami_daily",
        "H1,kWh,delivered,,2026-06-12T06:00:00Z,20456.25,ami_daily",
    ])
    run = importing.import_file(content, format="csv", file_name="big.csv", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.intervals_loaded == 2 and run.registers_loaded == 1
    assert _quarantine(run) == [("big.csv", n, "value") for n in (3, 4, 6, 7)]
    assert list(RegisterRead.objects.values_list("value", flat=True)) == [pytest.approx(20456.25)]


def test_cmep_register_of_ten_to_the_13_is_quarantined_not_a_chunk_abort(channel):
    ChannelFactory(meter=channel.meter, interval_minutes=None)
    text = (
        "MEPMD01,20090101,H,,U,,202606100600,H1,OK,E,KWHREG,1,00000000,1,202606100600,R0,10000000000000\n"
        "MEPMD01,20090101,H,,U,,202606110600,H1,OK,E,KWHREG,1,00000000,1,202606110600,R0,20456.25\n"
        "MEPMD01,20090101,H,,U,,202606100430,H1,OK,E,KWH,1,00000015,1,202606100415,R0,inf\n"
    )
    run = importing.import_file(text.encode(), format="cmep", file_name="reg.cmep", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.registers_loaded == 1
    assert [(line, field) for _, line, field in _quarantine(run)] == [(1, "Value"), (3, "Value")]


def test_nul_and_bad_bytes_are_quarantined_per_line_escaped(channel):
    content = (HEADER.encode() + b"H1,kWh,delivered,15,2026-06-10T04:15:00Z,1\x00,\n"
               b"H1,kWh,delivered,15,2026-06-10T04:30:00Z,2.0,\n"
               b"H\xff1,kWh,delivered,15,2026-06-10T04:45:00Z,3.0,\n")
    run = importing.import_file(content, format="csv", file_name="bytes.csv", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.intervals_loaded == 1
    rows = list(QuarantinedRecord.objects.filter(import_run=run).order_by("line"))
    assert [(r.line, r.field) for r in rows] == [(2, "encoding"), (4, "encoding")]
    assert "\\x00" in rows[0].raw and "\\xff" in rows[1].raw


def test_multispeak_entity_reference_quarantines_one_element_and_keeps_the_others(channel):
    def reading(n: int, meter: str) -> str:
        return (f'<meterReading><meterID meterNo="{meter}"/><readingValues><readingValue><units>kWh</units>'
                f'<value>{n}</value><timeStamp>2026-06-1{n}T06:00:00Z</timeStamp></readingValue></readingValues>'
                f'</meterReading>\n')
    ChannelFactory(meter=channel.meter, interval_minutes=None)
    xml = ('<?xml version="1.0"?>\n<ReadingChangedNotification xmlns="http://www.multispeak.org/Version_4.1_Release">'
           '<changedMeterReads>\n' + reading(1, "H1") + reading(2, "&evil;") + reading(3, "H1")
           + '</changedMeterReads></ReadingChangedNotification>\n')
    run = importing.import_file(xml.encode(), format="multispeak", file_name="ms.xml", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.registers_loaded == 2
    assert [(line, field) for _, line, field in _quarantine(run)] == [(4, "xml")]


def test_cmep_malformed_header_timestamp_is_quarantined(channel):
    text = ("MEPMD01,20090101,H,,U,,2026XX100430,H1,OK,E,KWH,1,00000015,1,202606100415,R0,1\n"
            "MEPMD01,20090101,H,,U,,202606100430,H1,OK,E,KWH,1,00000015,1,202606100430,R0,2\n")
    run = importing.import_file(text.encode(), format="cmep", file_name="ts.cmep", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.intervals_loaded == 1
    assert [(line, field) for _, line, field in _quarantine(run)] == [(1, "TimeStamp")]


def test_an_older_cmep_record_after_a_newer_one_does_not_replace_it(channel):
    newer = "MEPMD01,20090101,H,,U,,202606150000,H1,OK,E,KWH,1,00000015,2,202606100415,R0,5,,R0,6\n"
    older = "MEPMD01,20090101,H,,U,,202606110000,H1,OK,E,KWH,1,00000015,2,202606100415,R0,1,,R0,6\n"
    importing.import_file(newer.encode(), format="cmep", file_name="new.cmep", now=NOW)
    run = importing.import_file(older.encode(), format="cmep", file_name="old.cmep", now=NOW)
    assert run.status == ImportRun.Status.DONE
    assert run.intervals_corrected == 0
    day = IntervalDay.objects.get(channel=channel)
    assert day.version == 1 and day.values[0] == 5.0
    assert [(line, field) for _, line, field in _quarantine(run)] == [(1, "TimeStamp")]


def test_a_replayed_file_and_a_crlf_copy_add_nothing(channel):
    ChannelFactory(meter=channel.meter, interval_minutes=None)
    text = ("MEPMD01,20090101,H,,U,,202606100430,H1,OK,E,KWH,1,00000015,2,202606100415,R0,1,,R0,2\n"
            "MEPMD01,20090101,H,,U,,202606100430,XX,OK,E,KWH,1,00000015,1,202606100415,R0,1\n"
            "MEPMD01,20090101,H,,U,,202606100600,H1,OK,E,KWHREG,1,00000000,1,202606100600,R0,100\n")
    first = importing.import_file(text.encode(), format="cmep", file_name="a.cmep", now=NOW)
    assert first.intervals_loaded == 2 and first.registers_loaded == 1 and first.quarantined == 1
    # what VEE does after an import: a value flagged (failed validation) stays the same value
    day = IntervalDay.objects.get(channel=channel)
    day.flags = [3] + list(day.flags[1:])
    day.save(update_fields=["flag_bytes"])
    crlf = importing.import_file(text.replace("\n", "\r\n").encode(), format="cmep", file_name="a-crlf.cmep", now=NOW)
    replay = importing.import_file(text.encode() + b"\n", format="cmep", file_name="a-again.cmep", now=NOW)
    for run in (crlf, replay):
        assert run.status == ImportRun.Status.DONE
        assert (run.intervals_loaded, run.intervals_corrected, run.registers_loaded, run.quarantined) == (0, 0, 0, 0)
    assert IntervalDayVersion.objects.count() == 0
    assert ReplacementReadNotice.objects.count() == 0
    assert QuarantinedRecord.objects.count() == 1


def test_a_run_that_fails_ends_failed_and_does_not_block_the_same_file(channel, monkeypatch):
    content = _csv(["H1,kWh,delivered,15,2026-06-10T04:15:00Z,1.0,"])

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importing.pipeline, "split_into_chunks", boom)
    with pytest.raises(importing.ImportRunError):
        importing.import_file(content, format="csv", file_name="f.csv", now=NOW)
    failed = ImportRun.objects.get()
    assert failed.status == ImportRun.Status.FAILED and "disk on fire" in failed.error
    monkeypatch.undo()
    again = importing.import_file(content, format="csv", file_name="f.csv", now=NOW)
    assert again.pk != failed.pk and again.duplicate_of_id is None and again.intervals_loaded == 1


def test_the_time_zone_is_chosen_per_file(channel):
    text = "MEPMD01,20090101,H,,U,,202606100030,H1,OK,E,KWH,1,00000015,1,202606100015,R0,7\n"
    run = importing.import_file(text.encode(), format="cmep", file_name="tz.cmep", now=NOW,
                                time_zone="America/Toronto")
    assert run.time_zone == "America/Toronto" and run.intervals_loaded == 1
    day = IntervalDay.objects.get(channel=channel)
    assert day.local_date == dt.date(2026, 6, 10) and day.values[0] == 7.0


def test_the_rest_upload_refuses_a_file_above_the_size_limit(settings, api_for, make_user):
    settings.UTILIS_IMPORT_MAX_UPLOAD_BYTES = 100
    client = api_for(make_user("headend", "api_client"))
    big = SimpleUploadedFile("big.csv", _csv(["H1,kWh,delivered,15,2026-06-10T04:15:00Z,1.0,"] * 10))
    response = client.post("/api/mdm/imports/", {"file": big, "format": "csv"}, format="multipart")
    assert response.status_code == 413, response.content
    assert "largest accepted upload is 100 bytes" in response.json()["detail"]
    assert not ImportRun.objects.exists()
    small = SimpleUploadedFile("s.csv", b"meter_serial,unit,interval_end,value\n")
    response = client.post("/api/mdm/imports/", {"file": small, "format": "csv", "time_zone": "Nowhere/Else"},
                           format="multipart")
    assert response.status_code == 400
    ok = SimpleUploadedFile("t.csv", b"meter_serial,unit,interval_end,value\n")
    response = client.post("/api/mdm/imports/", {"file": ok, "format": "csv", "time_zone": "America/Toronto"},
                           format="multipart")
    assert response.status_code == 202
    assert ImportRun.objects.get().time_zone == "America/Toronto"
