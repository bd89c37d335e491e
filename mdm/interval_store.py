"""The interval store's codec: the one reader of channel-days and the binary COPY row layout
the writer (mdm.services.intervals) stages days with.

Reading. `read_channel_days(channel_ids, start_date, end_date)` asks PostgreSQL for ONE row
whose columns are whole batches: every matching row's channel id, date, interval length,
version and slot counts as concatenated big-endian scalars (`string_agg(int8send(...))`), and
the value and flag arrays as concatenated `array_send` images. numpy then reads each column
with one `np.frombuffer`, strips the 20-byte array headers with one boolean mask and lays the
elements into padded (N, S) matrices with one masked assignment: no Python step per row or per
value, and the channel ids travel as one `= ANY(%s)` array parameter (never an IN list in the
query text). The result, an `IntervalBatch`, is sorted by (channel id, local date).

Writing. `copy_rows(days)` lays out the rows of the writer's binary COPY into its staging
table (`COPY_HEADER` + rows + `COPY_TRAILER`) with the same array format the reader decodes.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import psycopg
from django.db import connection

from mdm.flags import NOT_PROVIDED, Flag

TABLE = "mdm_interval_day"

# PostgreSQL's binary formats. A one-dimensional array (array_send / binary COPY): ndim,
# has-nulls, element type oid, length, lower bound (5 x int32 = 20 bytes; an empty array has
# ndim 0 and only the first three), then each element as an int32 byte length and its
# big-endian bytes. Dates are int32 days since 2000-01-01.
ARRAY_HEADER_BYTES = 20
EMPTY_ARRAY_HEADER_BYTES = 12
FLOAT8_OID, INT2_OID = 701, 21
PG_EPOCH = dt.date(2000, 1, 1)
PG_EPOCH_ORDINAL = PG_EPOCH.toordinal()
_PG_EPOCH_D = np.datetime64(PG_EPOCH, "D")
# Binary COPY: signature, flags, header extension length; a tuple count of -1 ends it.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"


class IntervalStoreFormatError(ValueError):
    """The store returned an array the codec does not read (a NULL element, several dimensions)."""


@dataclass(frozen=True, eq=False)
class IntervalBatch:
    """Channel-days as arrays, sorted by (channel id, local date). Row i holds
    `n_slots[i]` real slots; `values` is padded with NaN and `flags` with MISSING to the widest
    row (`width`)."""

    channel_ids: np.ndarray  # (N,) int64
    dates: np.ndarray  # (N,) datetime64[D], local dates
    interval_minutes: np.ndarray  # (N,) int16
    versions: np.ndarray  # (N,) int32
    n_slots: np.ndarray  # (N,) int32, the row lengths
    values: np.ndarray  # (N, S) float64, NaN = no value (and padding)
    flags: np.ndarray  # (N, S) int16, mdm.flags.Flag codes (MISSING in padding)

    @classmethod
    def empty(cls) -> IntervalBatch:
        return cls(np.zeros(0, np.int64), np.zeros(0, "datetime64[D]"), np.zeros(0, np.int16),
                   np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros((0, 0)), np.zeros((0, 0), np.int16))

    @property
    def size(self) -> int:
        return len(self.channel_ids)

    @property
    def width(self) -> int:
        return int(self.values.shape[1])

    @cached_property
    def local_dates(self) -> list[dt.date]:
        """The rows' dates as datetime.date (one conversion for the whole batch)."""
        return self.dates.astype(object).tolist()

    @cached_property
    def row_index(self) -> dict[tuple[int, dt.date], int]:
        """(channel id, local date) -> row."""
        return {key: i for i, key in enumerate(zip(self.channel_ids.tolist(), self.local_dates))}

    def row_values(self, i: int) -> np.ndarray:
        """Row i's values, unpadded (a view)."""
        return self.values[i, : int(self.n_slots[i])]

    def row_flags(self, i: int) -> np.ndarray:
        return self.flags[i, : int(self.n_slots[i])]

    def take(self, rows: np.ndarray | Sequence[int]) -> IntervalBatch:
        """The rows asked for, in that order, padded to their own widest row."""
        rows = np.asarray(rows, dtype=np.int64)
        n = self.n_slots[rows]
        width = int(n.max()) if len(rows) else 0
        return IntervalBatch(self.channel_ids[rows], self.dates[rows], self.interval_minutes[rows],
                             self.versions[rows], n, self.values[rows, :width], self.flags[rows, :width])


_READ = f"""
SELECT count(*),
       string_agg(int8send(channel_id::int8), ''::bytea),
       string_agg(int4send((local_date - DATE '2000-01-01')::int4), ''::bytea),
       string_agg(int2send(interval_minutes::int2), ''::bytea),
       string_agg(int4send(version::int4), ''::bytea),
       string_agg(int4send(cardinality("values")::int4), ''::bytea),
       string_agg(int4send(cardinality(flags)::int4), ''::bytea),
       string_agg(array_send("values"), ''::bytea),
       string_agg(array_send(flags), ''::bytea)
FROM {TABLE}
WHERE channel_id = ANY(%s::bigint[]) AND local_date >= %s AND local_date < %s
"""


def read_channel_days(channel_ids: Iterable[int], start_date: dt.date, end_date: dt.date) -> IntervalBatch:
    """Every stored day of the channels over local dates [start_date, end_date), one query.
    A (channel, date) with no row is absent: nothing was ever loaded for it.

    Raises IntervalStoreFormatError for a stored array with a NULL element."""
    ids = sorted({int(c) for c in channel_ids})
    if not ids or end_date <= start_date:
        return IntervalBatch.empty()
    connection.ensure_connection()
    # A server-side-binding psycopg 3 cursor on Django's connection (same transaction): Django's
    # own cursors bind client-side, and those cannot ask for binary results.
    with psycopg.Cursor(connection.connection) as raw:
        raw.execute(_READ, [ids, start_date, end_date], binary=True)
        row = raw.fetchone()
    assert row is not None  # an aggregate always answers one row
    count, cids, days, minutes, versions, n_vals, n_flags, vals, flags = row
    if not count:
        return IntervalBatch.empty()
    n_values = np.frombuffer(n_vals, ">i4").astype(np.int32)
    n_flag = np.frombuffer(n_flags, ">i4").astype(np.int32)
    if not np.array_equal(n_values, n_flag):
        raise IntervalStoreFormatError("a stored day has another number of flags than values")
    values = decode_arrays(vals, n_values, np.dtype(">f8"), fill=np.nan, out_dtype=np.float64)
    flag_m = decode_arrays(flags, n_values, np.dtype(">i2"), fill=int(Flag.MISSING), out_dtype=np.int16)
    channel = np.frombuffer(cids, ">i8").astype(np.int64)
    dates = _PG_EPOCH_D + np.frombuffer(days, ">i4").astype(np.int64)
    order = np.lexsort((dates, channel))
    if np.any(order[1:] < order[:-1]):  # not already in order (it usually is: the primary key scan)
        return IntervalBatch(channel[order], dates[order], np.frombuffer(minutes, ">i2").astype(np.int16)[order],
                             np.frombuffer(versions, ">i4").astype(np.int32)[order], n_values[order],
                             values[order], flag_m[order])
    return IntervalBatch(channel, dates, np.frombuffer(minutes, ">i2").astype(np.int16),
                         np.frombuffer(versions, ">i4").astype(np.int32), n_values, values, flag_m)


def decode_arrays(blob: bytes, lengths: np.ndarray, element: np.dtype, *, fill, out_dtype) -> np.ndarray:
    """Concatenated `array_send` images of one-dimensional arrays of `lengths[i]` elements ->
    an (N, max length) matrix padded with `fill`. Vectorised over the whole blob."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n_rows = len(lengths)
    width = int(lengths.max()) if n_rows else 0
    out = np.full((n_rows, width), fill, dtype=out_dtype)
    if not n_rows:
        return out
    buf = np.frombuffer(blob, dtype=np.uint8)
    header = np.where(lengths > 0, ARRAY_HEADER_BYTES, EMPTY_ARRAY_HEADER_BYTES)
    row_bytes = header + (4 + element.itemsize) * lengths
    if int(row_bytes.sum()) != len(buf):
        raise IntervalStoreFormatError("a stored array is not a one-dimensional array without NULLs")
    starts = np.concatenate(([0], np.cumsum(row_bytes)[:-1]))
    # Dimensions and has-null flag of every row (int32 at +0 and +4 of its header).
    words = buf[(starts[:, None] + np.arange(8)).ravel()].view(">i4").reshape(n_rows, 2)
    if np.any(words[:, 1] != 0) or np.any((words[:, 0] != 1) & (lengths > 0)):
        raise IntervalStoreFormatError("the interval store holds a NULL or multi-dimensional array")
    keep = np.ones(len(buf), dtype=bool)
    full = lengths > 0
    keep[(starts[full, None] + np.arange(ARRAY_HEADER_BYTES)).ravel()] = False
    keep[(starts[~full, None] + np.arange(EMPTY_ARRAY_HEADER_BYTES)).ravel()] = False
    elements = buf[keep].view(np.dtype([("len", ">i4"), ("v", element)]))
    if np.any(elements["len"] != element.itemsize):
        raise IntervalStoreFormatError("the interval store holds a NULL array element")
    out[np.arange(width)[None, :] < lengths[:, None]] = elements["v"]
    return out


# ---- the write side: binary COPY rows for the staging table -------------------------------------


class DayRow(Protocol):
    """What the writer stages (mdm.services.intervals.StagedDay)."""

    @property
    def channel_id(self) -> int: ...
    @property
    def local_date(self) -> dt.date: ...
    @property
    def interval_minutes(self) -> int: ...
    @property
    def values(self) -> np.ndarray: ...
    @property
    def flags(self) -> np.ndarray: ...


def _array_header(oid: int) -> list[tuple[str, str]]:
    # field length, then: dimensions, has-nulls, element type, dimension size, lower bound
    return [(f"{oid}_len", ">i4"), (f"{oid}_ndim", ">i4"), (f"{oid}_null", ">i4"), (f"{oid}_oid", ">i4"),
            (f"{oid}_n", ">i4"), (f"{oid}_lb", ">i4")]


def copy_row_dtype(n: int) -> np.dtype:
    """One staging row (channel_id, local_date, interval_minutes, vals, flags, provided) in
    binary COPY layout for days of n slots (packed, big-endian)."""
    return np.dtype(
        [("fields", ">i2"), ("cid_len", ">i4"), ("cid", ">i8"), ("date_len", ">i4"), ("date", ">i4"),
         ("min_len", ">i4"), ("minutes", ">i2")]
        + _array_header(FLOAT8_OID) + [("vals", [("len", ">i4"), ("v", ">f8")], (n,))]
        + _array_header(INT2_OID) + [("flags", [("len", ">i4"), ("f", ">i2")], (n,))]
        + [("prov_len", ">i4"), ("provided", ">i4")]
    )


def copy_rows(days: Sequence[DayRow], batch: int = 5000) -> Iterator[bytes]:
    """The binary COPY rows of `days`, numpy-laid out per slot count (92/96/100...): no Python
    step per value. `provided` counts the slots holding a value (not NOT_PROVIDED / MISSING)."""
    by_length: dict[int, list[DayRow]] = {}
    for day in days:
        by_length.setdefault(len(day.values), []).append(day)
    for n, group in by_length.items():
        for first in range(0, len(group), batch):
            part = group[first: first + batch]
            rows = np.zeros(len(part), dtype=copy_row_dtype(n))
            rows["fields"] = 6
            rows["cid_len"], rows["date_len"], rows["min_len"], rows["prov_len"] = 8, 4, 2, 4
            rows["cid"] = [d.channel_id for d in part]
            rows["date"] = [d.local_date.toordinal() - PG_EPOCH_ORDINAL for d in part]
            rows["minutes"] = [d.interval_minutes for d in part]
            for oid, name, size in ((FLOAT8_OID, "vals", 8), (INT2_OID, "flags", 2)):
                rows[f"{oid}_len"] = ARRAY_HEADER_BYTES + (4 + size) * n
                rows[f"{oid}_ndim"], rows[f"{oid}_oid"], rows[f"{oid}_n"], rows[f"{oid}_lb"] = 1, oid, n, 1
                rows[name]["len"] = size
            rows["vals"]["v"] = np.stack([np.asarray(d.values, dtype=np.float64) for d in part])
            flags = np.stack([np.asarray(d.flags, dtype=np.int16) for d in part])
            rows["flags"]["f"] = flags
            rows["provided"] = np.count_nonzero((flags != NOT_PROVIDED) & (flags != Flag.MISSING), axis=1)
            yield rows.tobytes()
