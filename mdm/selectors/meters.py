"""Reads about meters and where they are installed."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from cis.selectors import service_point_ids_for_number

from mdm.models import (
    Installation,
    Meter,
    RegisterRead,
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


def installations_for_service_point_dates(*, service_point_id: int, start_date: dt.date,
                                          end_date: dt.date, tz: dt.tzinfo) -> list[Installation]:
    """The same over local dates [start_date, end_date)."""
    return installations_for_service_point(
        service_point_id=service_point_id, start=day_start_utc(start_date, tz), end=day_start_utc(end_date, tz)
    )


def meters_find(*, query: str, limit: int = 50) -> QuerySet[Meter]:
    """Meters whose serial starts with `query`, or that were ever installed at a service
    point matching it (service point number) or serving an account matching it (account
    number): staff type whichever number the caller gives them."""
    q = query.strip()
    sp_ids = service_point_ids_for_number(number=q, include_accounts=True)
    by_sp = Installation.objects.filter(service_point_id__in=sp_ids).values("meter_id")
    return (
        Meter.objects.filter(serial_number__istartswith=q)
        .union(Meter.objects.filter(pk__in=by_sp))
        .order_by("serial_number")[:limit]
    )
