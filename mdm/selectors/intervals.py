"""Reads of the interval store: channel-days as numpy arrays, their version history, a
meter's intervals for charts."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Max

from mdm.interval_store import read_channel_days, unscale_values
from mdm.models import Channel, IntervalDay, IntervalDayVersion, Meter
from mdm.timeutil import day_start_utc


@dataclass(frozen=True)
class ChannelDay:
    """One channel's stored day: arrays are slot-indexed (slot i starts at local midnight + i
    intervals, in UTC), NaN where missing."""

    channel_id: int
    local_date: dt.date
    interval_minutes: int
    values: np.ndarray  # float64
    flags: np.ndarray  # int16, mdm.flags.Flag codes
    version: int


def channel_days(channel_ids, start_date: dt.date, end_date: dt.date) -> dict[int, dict[dt.date, ChannelDay]]:
    """The stored days of the channels over local dates [start_date, end_date), as numpy
    arrays for VEE and determinant code: {channel_id: {local_date: ChannelDay}}. A day with no
    row is absent (nothing was ever loaded for it); every asked channel has a key. Read with
    mdm.interval_store (one query, decoded in bulk); code that works on whole batches uses
    `mdm.interval_store.read_channel_days` directly."""
    ids = [int(c) for c in channel_ids]
    result: dict[int, dict[dt.date, ChannelDay]] = {c: {} for c in ids}
    batch = read_channel_days(ids, start_date, end_date)
    for i, (cid, day, minutes, version) in enumerate(zip(
        batch.channel_ids.tolist(), batch.local_dates, batch.interval_minutes.tolist(), batch.versions.tolist()
    )):
        result[cid][day] = ChannelDay(cid, day, minutes, batch.row_values(i), batch.row_flags(i), version)
    return result


def channel_day_history(*, channel_id: int, local_date: dt.date) -> list[dict[str, Any]]:
    """Every version of a channel-day, oldest first, the current one last; `values` (float,
    NaN where missing) and `flags` (Flag codes) decoded from the store's encoding."""
    fields = ("version", "decimals", "scaled", "flag_bytes", "changed_by_id", "reason", "import_run_id", "vee_run_id")
    past: list[dict[str, Any]] = [_decoded(row) for row in
        IntervalDayVersion.objects.filter(channel_id=channel_id, local_date=local_date)
        .order_by("version").values(*fields, "changed_at")
    ]
    current = (
        IntervalDay.objects.filter(channel_id=channel_id, local_date=local_date)
        .values(*fields, "updated_at")
        .first()
    )
    if current:
        row = _decoded(current)
        row["changed_at"] = row.pop("updated_at")
        past.append(row)
    return past


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["values"] = unscale_values(np.asarray(out.pop("scaled"), dtype=np.int64), out.pop("decimals")).tolist()
    out["flags"] = list(bytes(out.pop("flag_bytes")))
    return out


@dataclass(frozen=True)
class IntervalPoint:
    channel_id: int
    start_at: dt.datetime
    end_at: dt.datetime
    value: float | None
    flag: int


def meter_intervals(*, meter: Meter, start_date: dt.date, end_date: dt.date, tz: dt.tzinfo) -> dict[Channel, list[IntervalPoint]]:
    """A meter's interval data over local dates [start_date, end_date), per interval channel,
    with each interval's UTC start and end. Days never loaded are left out."""
    channels = list(meter.channels.filter(interval_minutes__isnull=False).order_by("channel_number", "id"))
    days = channel_days([c.pk for c in channels], start_date, end_date)
    out: dict[Channel, list[IntervalPoint]] = {}
    for ch in channels:
        points: list[IntervalPoint] = []
        for day, cd in sorted(days[ch.pk].items()):
            start = day_start_utc(day, tz)
            step = dt.timedelta(minutes=cd.interval_minutes)
            for i, (value, flag) in enumerate(zip(cd.values.tolist(), cd.flags.tolist())):
                points.append(IntervalPoint(
                    ch.pk, start + i * step, start + (i + 1) * step, None if value != value else value, flag
                ))
        out[ch] = points
    return out


def channel_last_day(*, channel_id: int) -> dt.date | None:
    return IntervalDay.objects.filter(channel_id=channel_id).aggregate(last=Max("local_date"))["last"]
