"""mdm.interval_store: the one reader of channel-days decodes what the writer's binary COPY
stored, across DST (92/96/100 slots), NaN and every flag, sorted by (channel, date); and the
array decoder refuses what it cannot read."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mdm.flags import Flag
from mdm.interval_store import IntervalStoreFormatError, decode_arrays, read_channel_days
from mdm.services import StagedDay, interval_days_merge, interval_days_replace
from mdm.tests.factories import ChannelFactory

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
SPRING, FALL, PLAIN = dt.date(2026, 3, 8), dt.date(2026, 11, 1), dt.date(2026, 11, 2)


@pytest.fixture(autouse=True)
def toronto(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"


def _day(channel, day, n, seed):
    rng = np.random.default_rng(seed)
    values = rng.random(n) * 3
    values[3] = np.nan
    flags = np.full(n, Flag.ACTUAL, dtype=np.int16)
    flags[3] = Flag.MISSING
    flags[5] = Flag.EDITED
    flags[7] = 12
    return StagedDay(channel.pk, day, 15, values, flags)


@pytest.mark.django_db
def test_reads_back_what_was_written_across_dst_sorted_by_channel_and_date():
    a, b = ChannelFactory(), ChannelFactory()
    written = [_day(b, PLAIN, 96, 1), _day(a, FALL, 100, 2), _day(a, SPRING, 92, 3), _day(b, FALL, 100, 4)]
    interval_days_merge(days=written, now=NOW)
    interval_days_replace(days=[_day(b, PLAIN, 96, 5)], now=NOW, reason="test")  # version 2
    batch = read_channel_days([b.pk, a.pk, 999_999], dt.date(2026, 1, 1), dt.date(2027, 1, 1))

    assert batch.channel_ids.tolist() == [a.pk, a.pk, b.pk, b.pk]
    assert batch.local_dates == [SPRING, FALL, FALL, PLAIN]
    assert batch.n_slots.tolist() == [92, 100, 100, 96]
    assert batch.interval_minutes.tolist() == [15] * 4
    assert batch.versions.tolist() == [1, 1, 1, 2]
    assert batch.values.shape == (4, 100) and batch.values.dtype == np.float64 and batch.flags.dtype == np.int16
    expected = {(d.channel_id, d.local_date): d for d in written} | {(b.pk, PLAIN): _day(b, PLAIN, 96, 5)}
    for i, key in enumerate(zip(batch.channel_ids.tolist(), batch.local_dates)):
        np.testing.assert_array_equal(batch.row_values(i), expected[key].values)  # NaN where NaN
        np.testing.assert_array_equal(batch.row_flags(i), expected[key].flags)
        assert np.isnan(batch.values[i, batch.n_slots[i]:]).all()
        assert (batch.flags[i, batch.n_slots[i]:] == Flag.MISSING).all()
    assert batch.row_index[(b.pk, FALL)] == 2


@pytest.mark.django_db
def test_dates_are_half_open_and_nothing_stored_gives_an_empty_batch():
    a = ChannelFactory()
    interval_days_merge(days=[_day(a, FALL, 100, 1), _day(a, PLAIN, 96, 2)], now=NOW)
    assert read_channel_days([a.pk], FALL, PLAIN).local_dates == [FALL]
    assert read_channel_days([a.pk], PLAIN, PLAIN).size == 0
    assert read_channel_days([], FALL, PLAIN).size == 0
    empty = read_channel_days([a.pk], dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    assert empty.size == 0 and empty.values.shape == (0, 0)


def _array_send(values, dtype, oid, null=False):
    arr = np.asarray(values)
    head = np.array([1, int(null), oid, len(arr), 1], dtype=">i4").tobytes()
    body = b"".join(np.array([np.dtype(dtype).itemsize], ">i4").tobytes() + np.array([v], dtype).tobytes() for v in arr)
    return head + body


def test_decoder_pads_rows_and_refuses_nulls_and_bad_lengths():
    blob = _array_send([1.5, 2.5], ">f8", 701) + _array_send([3.0], ">f8", 701)
    out = decode_arrays(blob, np.array([2, 1]), np.dtype(">f8"), fill=np.nan, out_dtype=np.float64)
    np.testing.assert_array_equal(out, [[1.5, 2.5], [3.0, np.nan]])
    with pytest.raises(IntervalStoreFormatError):
        decode_arrays(_array_send([1.0], ">f8", 701, null=True), np.array([1]), np.dtype(">f8"), fill=np.nan,
                      out_dtype=np.float64)
    with pytest.raises(IntervalStoreFormatError):
        decode_arrays(blob, np.array([2, 2]), np.dtype(">f8"), fill=np.nan, out_dtype=np.float64)
    flags = decode_arrays(_array_send([0, 12, 2], ">i2", 21), np.array([3]), np.dtype(">i2"), fill=1,
                          out_dtype=np.int16)
    assert flags.tolist() == [[0, 12, 2]] and flags.dtype == np.int16
