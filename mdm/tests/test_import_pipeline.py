"""The import pipeline over hand-built parse results.

A tiny line format stands in for the real parsers (integrations/* have their own tests):
    I,<serial>,<unit>,<direction>,<minutes>,<first interval END, ISO UTC>,<v1;v2;...>
    R,<serial>,<unit>,<direction>,<read at, ISO UTC>,<value>
Each line becomes exactly the IntervalBlock / ParsedRegisterRead written on it, so expected
values are plain to see; a line it cannot read is a RecordError, as a parser would report."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pytest

from mdm import importing
from mdm.importing import pipeline
from mdm.importing.quarantine import QuarantineError, quarantine_record_discard, quarantine_record_resubmit
from mdm.importing.registry import FORMATS, ReadFormat
from mdm.models import ImportChunk, IntervalDay, IntervalDayVersion, QuarantinedRecord, RegisterRead, ReplacementReadNotice
from mdm.records import IntervalBlock, ParsedRegisterRead, ParseResult, RecordError
from mdm.selectors import channel_day_history, channel_days
from mdm.services import billed_through_set, meter_install
from cis.tests.factories import ServicePointFactory
from mdm.tests.factories import ChannelFactory, MeterFactory

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
DAY = dt.date(2026, 6, 10)  # EDT: local midnight is 04:00Z

pytestmark = pytest.mark.django_db


def parse_lines(text: str, source_name: str) -> ParseResult:
    result = ParseResult(source_name=source_name, format="lines")
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split(",")
        try:
            if parts[0] == "I":
                values = tuple(float(v) if v else math.nan for v in parts[6].split(";"))
                result.intervals.append(IntervalBlock(
                    parts[1], parts[2], parts[3], int(parts[4]), dt.datetime.fromisoformat(parts[5]), values, n
                ))
            elif parts[0] == "R":
                result.registers.append(ParsedRegisterRead(
                    parts[1], parts[2], parts[3], dt.datetime.fromisoformat(parts[4]), float(parts[5]), n
                ))
        except (ValueError, IndexError) as exc:
            result.errors.append(RecordError(n, "Value", str(exc), line))
    return result


@pytest.fixture(autouse=True)
def line_format(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    monkeypatch.setitem(FORMATS, "lines", ReadFormat("lines", lambda content, name: parse_lines(content.decode(), name)))


@pytest.fixture
def channel():
    return ChannelFactory(meter=MeterFactory(serial_number="E100"), unit="kWh", interval_minutes=60)


def run_import(text: str, name: str = "reads.txt", now=NOW):
    return importing.import_file(text.encode(), format="lines", file_name=name, now=now)


def day_values(channel, day=DAY):
    return channel_days([channel.pk], day, day + dt.timedelta(days=1))[channel.pk][day]


# Local hours 0..3 of 2026-06-10 end at 05:00Z..08:00Z.
FOUR_HOURS = "I,E100,kWh,delivered,60,2026-06-10T05:00:00+00:00,1.5;2.5;3.5;4.5\n"


def test_a_file_loads_its_intervals_into_the_local_day(channel):
    run = run_import(FOUR_HOURS)
    assert (run.status, run.records, run.intervals_loaded, run.quarantined) == ("done", 1, 4, 0)
    assert run.progress_done == run.progress_total == 1
    stored = day_values(channel)
    assert stored.values[:4].tolist() == [1.5, 2.5, 3.5, 4.5]
    assert np.isnan(stored.values[4:]).all() and len(stored.values) == 24
    assert stored.flags[:5].tolist() == [0, 0, 0, 0, 1]  # actual x4, then missing
    assert stored.version == 1


def test_reimporting_the_same_file_adds_nothing(channel):
    first = run_import(FOUR_HOURS)
    again = run_import(FOUR_HOURS, name="same-content-other-name.txt")
    assert again.duplicate_of_id == first.pk and again.status == "done"
    assert (again.intervals_loaded, again.intervals_unchanged, again.intervals_corrected, again.quarantined) == (0, 0, 0, 0)
    assert IntervalDay.objects.count() == 1 and IntervalDayVersion.objects.count() == 0
    assert day_values(channel).version == 1


def test_the_same_values_in_another_file_are_unchanged_not_a_new_version(channel):
    run_import(FOUR_HOURS)
    second = run_import(FOUR_HOURS + "\n")  # other bytes, same reads
    assert (second.intervals_loaded, second.intervals_unchanged, second.intervals_corrected) == (0, 4, 0)
    assert day_values(channel).version == 1


def test_a_corrected_value_makes_version_2_and_keeps_version_1(channel):
    first = run_import(FOUR_HOURS)
    fix = run_import("I,E100,kWh,delivered,60,2026-06-10T06:00:00+00:00,2.75\n", name="fix.txt")
    assert (fix.intervals_loaded, fix.intervals_unchanged, fix.intervals_corrected) == (0, 0, 1)
    stored = day_values(channel)
    assert stored.version == 2 and stored.values[:4].tolist() == [1.5, 2.75, 3.5, 4.5]
    old = IntervalDayVersion.objects.get(channel=channel, local_date=DAY)
    assert old.version == 1 and old.values[:4] == [1.5, 2.5, 3.5, 4.5] and old.import_run_id == first.pk
    history = channel_day_history(channel_id=channel.pk, local_date=DAY)
    assert [(h["version"], h["values"][1], h["import_run_id"]) for h in history] == [(1, 2.5, first.pk), (2, 2.75, fix.pk)]


def test_a_later_file_fills_missing_slots_without_touching_the_others(channel):
    run_import(FOUR_HOURS)
    more = run_import("I,E100,kWh,delivered,60,2026-06-10T08:00:00+00:00,4.5;5.5;6.5\n", name="more.txt")
    # hour 3 repeats 4.5 (unchanged); hours 4 and 5 were missing (loaded)
    assert (more.intervals_loaded, more.intervals_unchanged, more.intervals_corrected) == (2, 1, 0)
    assert day_values(channel).values[:6].tolist() == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]


def test_a_head_end_missing_value_does_not_erase_a_stored_one(channel):
    run_import(FOUR_HOURS)
    later = run_import("I,E100,kWh,delivered,60,2026-06-10T05:00:00+00:00,;2.5\n", name="gap.txt")
    assert (later.intervals_corrected, later.intervals_unchanged) == (0, 1)  # the "missing" is no value
    assert day_values(channel).values[0] == 1.5


def test_a_duplicate_interval_with_another_value_in_one_file_is_quarantined_with_line_and_field(channel):
    text = FOUR_HOURS + "I,E100,kWh,delivered,60,2026-06-10T07:00:00+00:00,9.0;4.5;5.5\n"
    run = run_import(text)
    (bad,) = QuarantinedRecord.objects.filter(import_run=run)
    assert (bad.line, bad.field) == (2, "Value")
    assert "3.5" in bad.message and "line 1" in bad.message
    assert bad.raw == "I,E100,kWh,delivered,60,2026-06-10T07:00:00+00:00,9.0;4.5;5.5"
    # The first occurrence stands, the rest of line 2 (hour 3 repeats 4.5, hour 4 = 5.5) still loads.
    assert day_values(channel).values[:5].tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]
    assert (run.intervals_loaded, run.quarantined) == (5, 1)


def test_unknown_meter_unit_and_interval_are_quarantined_while_good_records_load(channel):
    text = (
        "I,NOPE9,kWh,delivered,60,2026-06-10T05:00:00+00:00,1.0\n"
        + FOUR_HOURS
        + "I,E100,kVARh,delivered,60,2026-06-10T05:00:00+00:00,1.0\n"
        + "I,E100,kWh,delivered,15,2026-06-10T04:15:00+00:00,1.0\n"
        + "I,E100,kWh,delivered,60,not-a-time,1.0\n"
    )
    run = run_import(text)
    found = list(QuarantinedRecord.objects.filter(import_run=run).values_list("line", "field", "file_name"))
    assert sorted(found) == [(1, "MeterID", "reads.txt"), (3, "Units", "reads.txt"), (4, "Interval", "reads.txt"),
                             (5, "Value", "reads.txt")]
    assert (run.status, run.intervals_loaded, run.quarantined, run.records) == ("done", 4, 4, 5)
    assert day_values(channel).values[:4].tolist() == [1.5, 2.5, 3.5, 4.5]


def test_fix_and_resubmit_loads_the_corrected_record(channel):
    run = run_import("I,E1OO,kWh,delivered,60,2026-06-10T05:00:00+00:00,1.25;2.25\n")
    bad = QuarantinedRecord.objects.get(import_run=run)
    assert bad.field == "MeterID" and bad.raw.startswith("I,E1OO,")

    with pytest.raises(QuarantineError, match="MeterID"):
        quarantine_record_resubmit(record=bad, fixed_raw="I,E1O0,kWh,delivered,60,2026-06-10T05:00:00+00:00,1.25;2.25", now=NOW)
    assert not IntervalDay.objects.exists()

    resubmit = quarantine_record_resubmit(
        record=bad, fixed_raw="I,E100,kWh,delivered,60,2026-06-10T05:00:00+00:00,1.25;2.25", now=NOW
    )
    bad.refresh_from_db()
    assert bad.status == "resubmitted" and bad.resubmit_run == resubmit and bad.resolved_at == NOW
    assert resubmit.intervals_loaded == 2
    assert day_values(channel).values[:2].tolist() == [1.25, 2.25]
    with pytest.raises(QuarantineError):
        quarantine_record_discard(record=bad, now=NOW)


def test_discard_closes_the_record():
    run = run_import("I,GHOST,kWh,delivered,60,2026-06-10T05:00:00+00:00,1\n")
    bad = QuarantinedRecord.objects.get(import_run=run)
    quarantine_record_discard(record=bad, now=NOW)
    bad.refresh_from_db()
    assert bad.status == "discarded"


def test_register_reads_load_once(channel):
    register = ChannelFactory(meter=channel.meter, unit="kWh", interval_minutes=None, channel_number=2)
    text = "R,E100,kWh,delivered,2026-06-11T04:00:00+00:00,12345.678\n"
    first = run_import(text)
    second = run_import(text + "\n")
    assert (first.registers_loaded, second.registers_loaded) == (1, 0)
    read = RegisterRead.objects.get()
    assert read.channel == register and read.value == Decimal("12345.6780") and read.read_type == "ami_daily"


def test_a_register_read_already_stored_with_another_value_is_quarantined_not_overwritten(channel):
    ChannelFactory(meter=channel.meter, unit="kWh", interval_minutes=None, channel_number=2)
    first = run_import("R,E100,kWh,delivered,2026-06-11T04:00:00+00:00,100.5\n")
    changed = run_import("R,E100,kWh,delivered,2026-06-11T04:00:00+00:00,101.25\n", name="changed.txt")
    assert changed.registers_loaded == 0
    (bad,) = QuarantinedRecord.objects.filter(import_run=changed)
    assert (bad.line, bad.field) == (1, "Value")
    assert f"already stored as 100.5 (import {first.pk})" in bad.message and "101.25" in bad.message
    assert RegisterRead.objects.get().value == Decimal("100.5")


def test_correction_of_a_billed_day_raises_a_replacement_read_notice(channel):
    ServicePointFactory(pk=555)  # a real cis service point (installations point at it)
    meter_install(meter=channel.meter, service_point_id=555, installed_at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    billed_through_set(service_point_id=555, billed_through_date=DAY)
    run_import(FOUR_HOURS)
    run_import("I,E100,kWh,delivered,60,2026-06-11T05:00:00+00:00,1\n", name="next-day.txt")  # unbilled day
    assert not ReplacementReadNotice.objects.exists()  # new data is not a change
    fix = run_import("I,E100,kWh,delivered,60,2026-06-10T05:00:00+00:00,1.0\n"
                     "I,E100,kWh,delivered,60,2026-06-11T05:00:00+00:00,2\n", name="fix.txt")
    (notice,) = ReplacementReadNotice.objects.all()
    assert (notice.service_point_id, notice.channel_id, notice.period_start, notice.period_end, notice.import_run_id) == (
        555, channel.pk, DAY, DAY + dt.timedelta(days=1), fix.pk
    )
    assert notice.picked_up_at is None


def test_a_file_split_into_chunks_loads_the_same_and_each_chunk_once(channel, monkeypatch):
    other = ChannelFactory(meter=MeterFactory(serial_number="E200"), unit="kWh", interval_minutes=60)
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    text = FOUR_HOURS + "I,E200,kWh,delivered,60,2026-06-10T05:00:00+00:00,7;8\n"
    run = importing.import_run_create(content=text.encode(), file_name="two.txt", format="lines", now=NOW)
    chunks = pipeline.import_run_prepare(import_run_id=run.pk, now=NOW)
    assert chunks == [0, 1]
    assert pipeline.import_run_prepare(import_run_id=run.pk, now=NOW) == [0, 1]  # nothing done yet
    assert pipeline.import_chunk_load(import_run_id=run.pk, chunk=1, now=NOW) is True
    assert pipeline.import_run_prepare(import_run_id=run.pk, now=NOW) == [0]
    assert pipeline.import_chunk_load(import_run_id=run.pk, chunk=1, now=NOW) is False  # a worker ran it twice
    run.refresh_from_db()
    assert run.status == "running" and run.progress_done == 1
    pipeline.import_chunk_load(import_run_id=run.pk, chunk=0, now=NOW)
    run.refresh_from_db()
    assert (run.status, run.intervals_loaded, run.progress_done, run.chunks_total) == ("done", 6, 2, 2)
    assert ImportChunk.objects.filter(run=run, payload__isnull=False).count() == 0
    assert day_values(other).values[:2].tolist() == [7.0, 8.0]


def test_an_unparseable_file_fails_the_run_and_a_retry_of_the_same_file_is_allowed(monkeypatch):
    def explode(text, source_name):
        raise RuntimeError("parser crashed")

    monkeypatch.setitem(FORMATS, "broken", ReadFormat("broken", explode))
    with pytest.raises(importing.ImportRunError):
        importing.import_file(b"Z,1\n", format="broken", file_name="bad.txt", now=NOW)
    monkeypatch.setitem(FORMATS, "broken", ReadFormat("broken", lambda content, name: parse_lines(content.decode(), name)))
    retry = importing.import_file(b"Z,1\n", format="broken", file_name="bad.txt", now=NOW)
    assert retry.duplicate_of_id is None and retry.status == "done"


def test_a_real_cmep_file_loads_through_the_registry_and_a_fixed_line_resubmits(channel):
    from integrations.cmep.writer import write_cmep_intervals

    good = IntervalBlock("E100", "kWh", "delivered", 60, dt.datetime(2026, 6, 10, 5, tzinfo=UTC), (1.5, 2.5), 1)
    stranger = IntervalBlock("ZZ9", "kWh", "delivered", 60, dt.datetime(2026, 6, 10, 7, tzinfo=UTC), (3.5,), 2)
    text = write_cmep_intervals([good, stranger])
    run = importing.import_file(text.encode(), format="cmep", file_name="day.cmep", now=NOW)
    assert (run.status, run.intervals_loaded, run.quarantined) == ("done", 2, 1)
    bad = QuarantinedRecord.objects.get(import_run=run)
    assert (bad.line, bad.field) == (2, "MeterID") and bad.raw == text.splitlines()[1]
    quarantine_record_resubmit(record=bad, fixed_raw=bad.raw.replace("ZZ9", "E100"), now=NOW)
    assert day_values(channel).values[:3].tolist() == [1.5, 2.5, 3.5]


def test_a_csv_line_is_resubmitted_under_its_files_header(channel):
    text = (
        "meter_serial,unit,direction,interval_minutes,interval_end,value\n"
        "E100,kWh,delivered,60,2026-06-10T05:00:00Z,1.5\n"
        "E100,kWh,delivered,60,2026-06-10T06:00:00Z,abc\n"
    )
    run = importing.import_file(text.encode(), format="csv", file_name="reads.csv", now=NOW)
    bad = QuarantinedRecord.objects.get(import_run=run)
    assert (bad.line, bad.field) == (3, "value")
    assert run.intervals_loaded == 1
    quarantine_record_resubmit(record=bad, fixed_raw="E100,kWh,delivered,60,2026-06-10T06:00:00Z,2.5", now=NOW)
    assert day_values(channel).values[:2].tolist() == [1.5, 2.5]


def test_import_reads_command_prints_the_summary_and_first_quarantined_lines(channel, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "day.csv"
    path.write_text(
        "meter_serial,unit,direction,interval_minutes,interval_end,value\n"
        "E100,kWh,delivered,60,2026-06-10T05:00:00Z,1.5\n"
        "GHOST,kWh,delivered,60,2026-06-10T05:00:00Z,1.5\n"
    )
    out = StringIO()
    call_command("import_reads", str(path), "--format", "csv", "--no-progress", stdout=out)
    text = out.getvalue()
    assert "1 intervals loaded, 0 unchanged, 0 corrected, 0 register reads, 1 quarantined" in text
    assert "day.csv:3 MeterID: Unknown meter 'GHOST'." in text
    out = StringIO()
    call_command("import_reads", str(path), "--format", "csv", "--no-progress", stdout=out)
    assert "already imported" in out.getvalue()


def test_a_multispeak_interval_notification_loads_on_the_spring_forward_day():
    from pathlib import Path

    import integrations

    fixture = Path(integrations.__file__).parent / "tests/fixtures/multispeak/interval_data_notification.xml"
    meter = MeterFactory(serial_number="E1000001")
    delivered = ChannelFactory(meter=meter, unit="kWh", direction="delivered", interval_minutes=15)
    received = ChannelFactory(meter=meter, unit="kWh", direction="received", interval_minutes=15, channel_number=2)
    run = importing.import_file(fixture, format="multispeak", now=NOW)
    spring = dt.date(2026, 3, 8)
    # 2026-03-08T01:00-06:00 = 07:00Z = 03:00 EDT in Toronto: slot (07:00Z - 05:00Z) / 15 min = 8 of 92.
    got = day_values(delivered, spring)
    assert len(got.values) == 92
    assert got.values[8:16].tolist() == [0.5, 0.25, 0.25, 0.5, 0.75, 1.0, 1.25, 0.5]
    assert np.isnan(got.values[:8]).all() and np.isnan(got.values[16:]).all()
    back = day_values(received, spring)
    assert back.flags[8:12].tolist() == [0, 14, 1, 0]  # actual, head-end estimate, missing, actual
    # E1000002 is unknown here; the parser's own errors keep their line and field.
    fields = set(QuarantinedRecord.objects.filter(import_run=run).values_list("line", "field"))
    assert {(60, "d"), (67, "profileID")} <= fields
    assert any(field == "MeterID" for _, field in fields)
    assert run.intervals_loaded == 8 + 3


def test_intervals_off_the_channels_grid_are_quarantined_as_interval(channel):
    run = run_import("I,E100,kWh,delivered,60,2026-06-10T05:07:00+00:00,1;2\n" + FOUR_HOURS.replace("05:00", "09:00"))
    (bad,) = QuarantinedRecord.objects.filter(import_run=run)
    assert (bad.line, bad.field) == (1, "Interval")
    assert "2026-06-10 05:07Z" in bad.message
    # Line 2 (local hours 4..7) still loads.
    assert day_values(channel).values[4:8].tolist() == [1.5, 2.5, 3.5, 4.5] and run.intervals_loaded == 4


def test_importing_a_file_whose_import_was_cut_off_finishes_that_run(channel, monkeypatch):
    other = ChannelFactory(meter=MeterFactory(serial_number="E200"), unit="kWh", interval_minutes=60)
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    text = FOUR_HOURS + "I,E200,kWh,delivered,60,2026-06-10T05:00:00+00:00,7;8\n"
    cut = importing.import_run_create(content=text.encode(), file_name="two.txt", format="lines", now=NOW)
    pipeline.import_run_prepare(import_run_id=cut.pk, now=NOW)
    pipeline.import_chunk_load(import_run_id=cut.pk, chunk=0, now=NOW)  # then the process died

    again = run_import(text, name="two.txt")
    assert again.pk == cut.pk
    assert (again.status, again.intervals_loaded, again.intervals_unchanged) == ("done", 6, 0)
    assert day_values(other).values[:2].tolist() == [7.0, 8.0]


class _Killed(BaseException):
    """A worker killed mid-prepare: nothing of Utilis runs after it (not an Exception)."""


def _prepare_cut_off(run, after: int):
    """Prepare `run` as a worker killed once `after` batches of chunk rows were committed."""
    handed = []

    def on_chunks(numbers):
        if len(handed) >= after:
            raise _Killed
        handed.append(numbers)

    with pytest.raises(_Killed):
        pipeline.import_run_prepare(import_run_id=run.pk, now=NOW, on_chunks=on_chunks)


THREE_METERS = (FOUR_HOURS + "I,E200,kWh,delivered,60,2026-06-10T05:00:00+00:00,7;8\n"
                "I,E300,kWh,delivered,60,2026-06-10T05:00:00+00:00,9\n")


@pytest.fixture
def three_channels(channel):
    return [channel] + [ChannelFactory(meter=MeterFactory(serial_number=s), unit="kWh", interval_minutes=60)
                        for s in ("E200", "E300")]


def test_prepare_hands_each_batch_of_chunks_over_once_it_is_written(three_channels, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    monkeypatch.setattr(pipeline, "PREPARE_BATCH", 2)
    run = importing.import_run_create(content=THREE_METERS.encode(), file_name="three.txt", format="lines", now=NOW)
    handed: list[tuple[list[int], list[int]]] = []
    run_id = run.pk

    def on_chunks(numbers):  # what a worker could claim at that moment
        handed.append((numbers, sorted(ImportChunk.objects.filter(run_id=run_id).values_list("number", flat=True))))

    assert pipeline.import_run_prepare(import_run_id=run.pk, now=NOW, on_chunks=on_chunks) == [0, 1, 2]
    assert handed == [([0, 1], [0, 1]), ([2], [0, 1, 2])]
    run.refresh_from_db()
    assert (run.status, run.chunks_total, run.progress_total) == ("running", 3, 3)
    # prepared again (a redelivered task): the chunks not loaded are handed over again, once
    handed.clear()
    pipeline.import_chunk_load(import_run_id=run.pk, chunk=0, now=NOW)
    assert pipeline.import_run_prepare(import_run_id=run.pk, now=NOW, on_chunks=on_chunks) == [1, 2]
    assert [numbers for numbers, _ in handed] == [[1, 2]]


def test_a_prepare_cut_off_between_batches_never_closes_the_run_and_a_resume_writes_the_rest(three_channels, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    monkeypatch.setattr(pipeline, "PREPARE_BATCH", 1)
    run = importing.import_run_create(content=THREE_METERS.encode(), file_name="cut.txt", format="lines", now=NOW)
    _prepare_cut_off(run, after=1)
    run.refresh_from_db()
    assert (run.status, run.chunks_total, ImportChunk.objects.filter(run=run).count()) == ("running", 3, 2)
    # every chunk that exists is loaded: the run must stay open, one chunk's rows are missing
    for number in (0, 1):
        assert pipeline.import_chunk_load(import_run_id=run.pk, chunk=number, now=NOW)
    run.refresh_from_db()
    assert run.status == "running"
    queued: list[list[int]] = []
    from django.db import transaction

    with transaction.atomic():
        assert pipeline.import_run_resume(import_run_id=run.pk, now=NOW, enqueue=queued.append) == [2]
    assert sorted(ImportChunk.objects.filter(run=run).values_list("number", flat=True)) == [0, 1, 2]
    assert pipeline.import_chunk_load(import_run_id=run.pk, chunk=2, now=NOW)
    run.refresh_from_db()
    assert (run.status, run.intervals_loaded, run.progress_done) == ("done", 7, 3)
    assert day_values(three_channels[2]).values[0] == 9.0
    assert IntervalDay.objects.filter(channel__in=three_channels).count() == 3  # nothing twice


def test_the_sweeper_resumes_a_cut_off_prepare_by_writing_its_missing_chunks(three_channels, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    from core.runs.registry import runs_sweep

    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    monkeypatch.setattr(pipeline, "PREPARE_BATCH", 1)
    run = importing.import_run_create(content=THREE_METERS.encode(), file_name="swept.txt", format="lines", now=NOW)
    _prepare_cut_off(run, after=0)
    assert ImportChunk.objects.filter(run=run).count() == 1
    queued: list[list[int]] = []
    from core.runs import registry

    kinds = {k.label: k for k in registry.run_kinds()}
    monkeypatch.setitem(registry._KINDS, "mdm.import", registry.RunKind(
        "mdm.import", ImportChunk, lambda run_id, numbers, queue=None: queued.append(numbers),
        resume=kinds["mdm.import"].resume))
    with django_capture_on_commit_callbacks(execute=True):
        swept = runs_sweep(now=NOW + dt.timedelta(hours=2))
    assert swept.get("mdm.import") == [run.pk]
    assert sorted(ImportChunk.objects.filter(run=run).values_list("number", flat=True)) == [0, 1, 2]
    assert queued == [[0, 1, 2]]  # queued once the sweep committed


def test_a_file_that_no_longer_splits_as_it_did_fails_the_resume_with_the_reason(three_channels, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    monkeypatch.setattr(pipeline, "PREPARE_BATCH", 1)
    run = importing.import_run_create(content=THREE_METERS.encode(), file_name="changed.txt", format="lines", now=NOW)
    _prepare_cut_off(run, after=0)
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 3)  # the same file now cuts into one chunk
    with pytest.raises(importing.ImportRunError, match="1 chunks, not the run's 3"):
        pipeline.import_run_resume(import_run_id=run.pk, now=NOW)
    run.refresh_from_db()
    assert run.status == "failed" and "not the run's 3" in run.error


def test_a_queue_that_is_away_leaves_the_run_running_not_failed(three_channels, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK_RECORDS", 1)
    run = importing.import_run_create(content=THREE_METERS.encode(), file_name="broker.txt", format="lines", now=NOW)

    def broker_away(numbers):
        raise ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        pipeline.import_run_prepare(import_run_id=run.pk, now=NOW, on_chunks=broker_away)
    run.refresh_from_db()
    assert run.status == "running" and run.error == ""


def test_the_collector_is_paused_only_while_a_file_is_parsed_and_restored_after(channel, monkeypatch):
    import gc

    seen = []
    real = FORMATS["lines"]

    def parse(content, name):
        seen.append(gc.isenabled())
        return real.parse(content, name)

    monkeypatch.setitem(FORMATS, "lines", ReadFormat("lines", parse))
    assert gc.isenabled()
    run_import(FOUR_HOURS, name="gc.txt")
    assert seen == [False] and gc.isenabled()

    def broken(content, name):
        raise RuntimeError("parser bug")

    monkeypatch.setitem(FORMATS, "lines", ReadFormat("lines", broken))
    with pytest.raises(importing.ImportRunError):
        run_import(FOUR_HOURS + "\n", name="gc-broken.txt")
    assert gc.isenabled()
