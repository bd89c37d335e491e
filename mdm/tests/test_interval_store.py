"""mdm.interval_store: the one reader of channel-days decodes what the writer's binary COPY
stored, across DST (92/96/100 slots), NaN and every flag, sorted by (channel, date); and the
array decoder refuses what it cannot read."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mdm.flags import Flag
from mdm.interval_store import (
    COPY_HEADER,
    COPY_TRAILER,
    IntervalStoreFormatError,
    decode_copy,
    read_channel_days,
    read_row_dtype,
)
from mdm.services import StagedDay, interval_days_merge, interval_days_replace
from mdm.tests.factories import ChannelFactory

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)
SPRING, FALL, PLAIN = dt.date(2026, 3, 8), dt.date(2026, 11, 1), dt.date(2026, 11, 2)


@pytest.fixture(autouse=True)
def toronto(settings):
    settings.UTILIS_LOCAL_TIME_ZONE = "America/Toronto"


def _day(channel, day, n, seed):
    rng = np.random.default_rng(seed)
    values = np.round(rng.random(n) * 3, 3)  # the channel stores thousandths (resolution_decimals 3)
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


def _copy_stream(lengths, null_at=None):
    """A binary COPY stream as PostgreSQL writes it, rows of the given slot counts."""
    parts = [COPY_HEADER]
    for i, n in enumerate(lengths):
        row = np.zeros(1, dtype=read_row_dtype(n))
        row["fields"], row["cid_len"], row["cid"], row["date_len"], row["date"] = 7, 8, i + 1, 4, 9800 + i
        row["min_len"], row["minutes"], row["ver_len"], row["version"] = 2, 15, 4, 1
        row["dec_len"], row["decimals"] = 2, 3
        row["23_len"], row["23_ndim"], row["23_oid"], row["23_n"], row["23_lb"] = 20 + 8 * n, 1, 23, n, 1
        row["vals"]["len"] = 4
        row["vals"]["v"] = (np.arange(n) + i) * 1000
        row["flags_len"], row["flags"] = n, i % 3
        if i == null_at:
            row["23_null"] = 1
        parts.append(row.tobytes())
    return b"".join(parts) + COPY_TRAILER


def test_decoder_reads_runs_of_any_length_and_refuses_nulls():
    lengths = [96] * 150 + [92] + [96] * 70 + [100, 100] + [96] * 3
    batch = decode_copy(_copy_stream(lengths))
    assert batch.n_slots.tolist() == lengths
    assert batch.channel_ids.tolist() == list(range(1, len(lengths) + 1))
    assert batch.values.shape == (len(lengths), 100)
    for i in (0, 149, 150, 151, 221, 222, 225):
        assert batch.row_values(i).tolist() == (np.arange(lengths[i]) + i).tolist()
        assert (batch.row_flags(i) == i % 3).all()
    assert np.isnan(batch.values[0, 96:]).all() and (batch.flags[0, 96:] == Flag.MISSING).all()
    assert decode_copy(_copy_stream([])).size == 0
    with pytest.raises(IntervalStoreFormatError):
        decode_copy(_copy_stream([96] * 10, null_at=4))
    with pytest.raises(IntervalStoreFormatError):
        decode_copy(b"not a copy stream")
