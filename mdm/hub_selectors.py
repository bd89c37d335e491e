"""Reads the Meter Hub needs beyond mdm.selectors."""
from __future__ import annotations

import datetime as dt

from django.db.models import Max, QuerySet

from mdm.models import Installation, IntervalDay, Meter


def meters_find(*, query: str, limit: int = 50) -> QuerySet[Meter]:
    """Meters whose serial starts with `query`, or that were ever installed at a service
    point matching it (service point number) or serving an account matching it (account
    number): staff type whichever number the caller gives them."""
    from cis.selectors import service_point_ids_for_numbers

    q = query.strip()
    sp_ids = service_point_ids_for_numbers(query=q)
    by_sp = Installation.objects.filter(service_point_id__in=sp_ids).values("meter_id")
    return (
        Meter.objects.filter(serial_number__istartswith=q)
        .union(Meter.objects.filter(pk__in=by_sp))
        .order_by("serial_number")[:limit]
    )


def channel_last_day(*, channel_id: int) -> dt.date | None:
    return IntervalDay.objects.filter(channel_id=channel_id).aggregate(last=Max("local_date"))["last"]
