"""mdm's public read API: other apps (cis search, billing determinants) and the REST API read
meters, installations and interval data through these."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Q, QuerySet

from mdm.models import (
    Channel,
    ImportRun,
    Installation,
    IntervalDay,
    IntervalDayVersion,
    Meter,
    QuarantinedRecord,
    RegisterRead,
    ReplacementReadNotice,
)
from mdm.timeutil import day_start_utc


def service_point_ids_for_meter_serial(serial: str) -> list[int]:
    """The service points a meter (exact serial, case-insensitive) is or was installed at,
    the current or latest installation first."""
    serial = (serial or "").strip()
    if not serial:
        return []
    rows = (
        Installation.objects.filter(meter__serial_number__iexact=serial)
        .order_by("-installed_at")
        .values_list("service_point_id", flat=True)
    )
    return list(dict.fromkeys(rows))


def meter_get(*, serial: str) -> Meter:
    """Raises Meter.DoesNotExist."""
    return Meter.objects.get(serial_number=serial)


def meters_search(*, serial: str = "", limit: int = 50) -> QuerySet[Meter]:
    qs = Meter.objects.prefetch_related("channels")
    if serial:
        qs = qs.filter(serial_number__istartswith=serial.strip())
    return qs[:limit]


def installations_for_service_point(*, service_point_id: int, start: dt.datetime | None = None,
                                    end: dt.datetime | None = None) -> list[Installation]:
    """The installations at a service point overlapping [start, end) (all of them when open),
    oldest first: a meter exchange inside the period gives two."""
    qs = Installation.objects.filter(service_point_id=service_point_id).select_related("meter")
    if end is not None:
        qs = qs.filter(installed_at__lt=end)
    if start is not None:
        qs = qs.filter(Q(removed_at__isnull=True) | Q(removed_at__gt=start))
    return list(qs.order_by("installed_at"))


def meter_installations(*, meter: Meter) -> list[Installation]:
    """A meter's record of installation, latest first."""
    return list(meter.installations.order_by("-installed_at"))


def register_reads_for_meter(*, meter: Meter, start: dt.datetime | None = None, end: dt.datetime | None = None,
                             limit: int = 500) -> list[RegisterRead]:
    """A meter's register reads in [start, end), latest first."""
    qs = RegisterRead.objects.filter(channel__meter=meter).select_related("channel")
    if start is not None:
        qs = qs.filter(read_at__gte=start)
    if end is not None:
        qs = qs.filter(read_at__lt=end)
    return list(qs.order_by("-read_at", "channel_id")[:limit])


def replacement_read_notices_open(*, service_point_ids=None) -> QuerySet[ReplacementReadNotice]:
    """Notices billing has not picked up yet, oldest first."""
    qs = ReplacementReadNotice.objects.filter(picked_up_at__isnull=True)
    if service_point_ids is not None:
        qs = qs.filter(service_point_id__in=list(service_point_ids))
    return qs.order_by("created_at", "id")


def installations_for_service_point_dates(*, service_point_id: int, start_date: dt.date,
                                          end_date: dt.date, tz: dt.tzinfo) -> list[Installation]:
    """The same over local dates [start_date, end_date)."""
    return installations_for_service_point(
        service_point_id=service_point_id, start=day_start_utc(start_date, tz), end=day_start_utc(end_date, tz)
    )


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
    row is absent (nothing was ever loaded for it); every asked channel has a key."""
    ids = [int(c) for c in channel_ids]
    result: dict[int, dict[dt.date, ChannelDay]] = {c: {} for c in ids}
    rows = (
        IntervalDay.objects.filter(channel_id__in=ids, local_date__gte=start_date, local_date__lt=end_date)
        .order_by("channel_id", "local_date")
        .values_list("channel_id", "local_date", "interval_minutes", "values", "flags", "version")
    )
    for cid, day, minutes, values, flags, version in rows:
        result[cid][day] = ChannelDay(
            cid, day, minutes, np.asarray(values, dtype=np.float64), np.asarray(flags, dtype=np.int16), version
        )
    return result


def channel_day_history(*, channel_id: int, local_date: dt.date) -> list[dict]:
    """Every version of a channel-day, oldest first, the current one last."""
    past = list(
        IntervalDayVersion.objects.filter(channel_id=channel_id, local_date=local_date)
        .order_by("version")
        .values("version", "values", "flags", "changed_at", "changed_by_id", "reason", "import_run_id", "vee_run_id")
    )
    current = (
        IntervalDay.objects.filter(channel_id=channel_id, local_date=local_date)
        .values("version", "values", "flags", "updated_at", "changed_by_id", "reason", "import_run_id", "vee_run_id")
        .first()
    )
    if current:
        current["changed_at"] = current.pop("updated_at")
        past.append(current)
    return past


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


def import_runs(*, limit: int = 50) -> QuerySet[ImportRun]:
    return ImportRun.objects.order_by("-created_at", "-id")[:limit]


def import_run_quarantine(*, import_run: ImportRun, status: str = "") -> QuerySet[QuarantinedRecord]:
    qs = import_run.quarantine.order_by("line", "id")
    return qs.filter(status=status) if status else qs


def open_quarantine() -> QuerySet[QuarantinedRecord]:
    return QuarantinedRecord.objects.filter(status=QuarantinedRecord.Status.OPEN).select_related("import_run")
