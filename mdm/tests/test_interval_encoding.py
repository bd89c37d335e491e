"""The interval store's encoding (migration 0013): values as int4 at the channel's resolution
(resolution_decimals), one byte a flag. What a channel cannot store exactly is refused with
its record's line and field, never rounded; computed VEE estimates are stored at the
resolution; a missing slot reads back as NaN."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from mdm import importing
from mdm.flags import Flag
from mdm.interval_store import NO_VALUE, IntervalEncodingError, read_channel_days, round_to_resolution, scale_values
from mdm.models import IntervalDay, QuarantinedRecord, VeeRuleSet, VeeRuleSetAssignment, VeeWorklistItem
from mdm.services import (
    StagedDay,
    WorklistError,
    interval_days_merge,
    interval_days_replace,
    vee_run_create,
    vee_run_execute,
    worklist_item_edit,
)
from mdm.tests.factories import ChannelFactory, MeterFactory

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
DAY = dt.date(2026, 6, 10)


@pytest.fixture(autouse=True)
def toronto(settings, tmp_path):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"
    settings.MEDIA_ROOT = tmp_path


def test_scaling_is_exact_or_refused():
    scaled, bad = scale_values(np.array([1.5, 0.1, 0.123, 1.2345, math.nan, 2_147_483.647, 2_147_483.648, math.inf]), 3)
    assert scaled[:5].tolist() == [1500, 100, 123, NO_VALUE, NO_VALUE]
    assert bad.tolist() == [False, False, False, True, False, False, True, True]
    assert scaled[5] == 2_147_483_647
    # per-row resolutions; a computed value is rounded to it, NaN stays NaN
    assert scale_values(np.array([[1.2345], [1.2345]]), np.array([4, 3]))[1].ravel().tolist() == [False, True]
    assert np.isnan(round_to_resolution(np.array([1 / 3, math.nan]), 3)).tolist() == [False, True]
    assert round_to_resolution(np.array([1 / 3]), 3)[0] == 0.333


def _cmep(serial: str, values: str, first_end: str = "202606100415") -> bytes:
    # one 15-minute record; the first interval of local DAY ends at 04:15Z
    count = values.count(",,R0,") + 1
    return f"MEPMD01,20090101,H,,U,,202606100430,{serial},OK,E,KWH,1,00000015,{count},{first_end},R0,{values}\n".encode()


def test_a_value_finer_than_the_channels_resolution_is_quarantined_with_its_line_and_field():
    ch = ChannelFactory(meter=MeterFactory(serial_number="R3"), unit="kWh", interval_minutes=15)
    run = importing.import_file(_cmep("R3", "1.5,,R0,1.2345,,R0,0.125") + _cmep("R3", "3000000", "202606100615"),
                                format="cmep", file_name="fine.cmep", now=NOW)
    bad = list(QuarantinedRecord.objects.filter(import_run=run).order_by("line").values_list("line", "field", "message"))
    assert [(line, field) for line, field, _ in bad] == [(1, "Value"), (2, "Value")]
    assert "1.2345 kWh cannot be stored at the channel's resolution (at most 3 decimals" in bad[0][2]
    assert "1 of 3 intervals" in bad[0][2]
    assert "up to ±2147483.647" in bad[1][2]
    stored = read_channel_days([ch.pk], DAY, DAY + dt.timedelta(days=1))
    assert stored.row_values(0)[:3].tolist()[0] == 1.5 and math.isnan(stored.row_values(0)[1])
    assert stored.row_values(0)[2] == 0.125 and run.intervals_loaded == 2


def test_a_channel_of_four_decimals_stores_them_and_the_orm_reads_them_back():
    ch = ChannelFactory(meter=MeterFactory(serial_number="R4"), unit="kWh", interval_minutes=15, resolution_decimals=4)
    run = importing.import_file(_cmep("R4", "1.2345,,R0,0.0001"), format="cmep", file_name="r4.cmep", now=NOW)
    assert run.quarantined == 0 and run.intervals_loaded == 2
    row = IntervalDay.objects.get(channel=ch)
    assert row.decimals == 4 and row.scaled[:3] == [12345, 1, NO_VALUE]
    assert row.values[:2] == [1.2345, 0.0001] and math.isnan(row.values[2])
    assert row.flags[:3] == [Flag.ACTUAL, Flag.ACTUAL, Flag.MISSING] and len(bytes(row.flag_bytes)) == 96
    with pytest.raises(IntervalEncodingError):
        row.values = [1.23456] * 96


def test_the_writer_refuses_what_a_channel_cannot_store():
    ch = ChannelFactory(interval_minutes=60)
    flags = np.zeros(24, dtype=np.int16)
    with pytest.raises(IntervalEncodingError, match="interval 3"):
        interval_days_merge(days=[StagedDay(ch.pk, DAY, 60, np.array([1.0] * 3 + [0.0001] + [1.0] * 20), flags)], now=NOW)
    with pytest.raises(IntervalEncodingError):
        interval_days_replace(days=[StagedDay(ch.pk, DAY, 60, np.array([1e10] * 24), flags)], now=NOW, reason="x")
    assert not IntervalDay.objects.exists()


@pytest.fixture
def estimating_channel():
    VeeRuleSetAssignment.objects.all().delete()
    rs = VeeRuleSet.objects.create(name="gaps", rules={
        "validations": [{"kind": "gaps", "max_missing_slots": 48}, {"kind": "spike", "threshold_pct": 300, "min_peak": 0.5}],
        "estimations": [{"kind": "linear", "max_gap_minutes": 180}],
    })
    VeeRuleSetAssignment.objects.create(rule_set=rs, scope="default", start_date=dt.date(2020, 1, 1))
    ch = ChannelFactory(interval_minutes=60)
    values = np.array([1.0] * 24)
    values[5] = values[6] = math.nan
    values[7] = 2.0  # a straight line from 1.0 to 2.0 over three hours: 1.333..., 1.666...
    values[15] = 9.0  # a spike, for the worklist
    flags = np.where(np.isnan(values), Flag.MISSING, Flag.ACTUAL).astype(np.int16)
    interval_days_merge(days=[StagedDay(ch.pk, DAY, 60, values, flags)], now=NOW - dt.timedelta(days=5))
    return ch


def test_vee_estimates_are_stored_at_the_channels_resolution(estimating_channel):
    run = vee_run_create(channel_ids=[estimating_channel.pk], start_date=DAY, end_date=DAY + dt.timedelta(days=1),
                         scope="test", now=NOW)
    vee_run_execute(vee_run_id=run.pk, now_fn=lambda: NOW)
    row = IntervalDay.objects.get(channel=estimating_channel)
    assert row.values[4:8] == [1.0, 1.333, 1.667, 2.0]
    assert row.flags[5] == row.flags[6] == Flag.ESTIMATED_LINEAR


def test_a_manual_edit_finer_than_the_resolution_is_refused(estimating_channel, metering_user):
    run = vee_run_create(channel_ids=[estimating_channel.pk], start_date=DAY, end_date=DAY + dt.timedelta(days=1),
                         scope="test", now=NOW)
    vee_run_execute(vee_run_id=run.pk, now_fn=lambda: NOW)
    item = VeeWorklistItem.objects.get()
    with pytest.raises(WorklistError, match=r"1\.2345 cannot be stored on this channel \(at most 3 decimals"):
        worklist_item_edit(item_id=item.pk, first_slot=15, values=[1.2345], reason="typed", user=metering_user, now=NOW)
    assert IntervalDay.objects.get(channel=estimating_channel).values[15] == 9.0
