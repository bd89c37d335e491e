"""What mdm reads about service points for VEE: rate class and whether the service is active."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from cis.models import ServicePoint


def service_point_rate_classes(*, service_point_ids: Iterable[int]) -> dict[int, str]:
    """{service point id: rate class} ("" when none is set); unknown ids are left out."""
    ids = [int(i) for i in service_point_ids]
    if not ids:
        return {}
    return dict(ServicePoint.objects.filter(pk__in=ids).values_list("pk", "rate_class"))


def service_point_ids_for_number(*, sp_number: str) -> list[int]:
    """The id of the service point with this number (exact, case-insensitive), as a list."""
    return list(ServicePoint.objects.filter(sp_number__iexact=sp_number.strip()).values_list("pk", flat=True))


def service_point_agreement_periods(*, service_point_ids: Iterable[int], start_date: dt.date,
                                    end_date: dt.date) -> dict[int, list[tuple[dt.date, dt.date | None]]]:
    """{service point id: [(start_date, end_date or None), ...]} of the agreements overlapping
    [start_date, end_date): the days a service is active (VEE judges zero usage only then)."""
    from django.db.models import Q

    from cis.models import ServiceAgreement

    out: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
    rows = ServiceAgreement.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gt=start_date),
        service_point_id__in=[int(i) for i in service_point_ids], start_date__lt=end_date,
    ).values_list("service_point_id", "start_date", "end_date")
    for sp, start, end in rows:
        out.setdefault(sp, []).append((start, end))
    return out
