"""What billing reads back from MDM: the open replacement-read notices (data that changed
after it was billed) and the billed-through dates."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from mdm.models import BilledThrough, ReplacementReadNotice


@dataclass(frozen=True)
class NoticeRow:
    id: int
    service_point_id: int
    period_start: dt.date
    period_end: dt.date
    reason: str


def replacement_read_notices_open(*, service_point_ids: Iterable[int] | None = None,
                                  limit: int | None = None) -> list[NoticeRow]:
    """Replacement-read notices billing has not picked up yet, oldest first (of the given
    service points only, when they are given)."""
    qs = ReplacementReadNotice.objects.filter(picked_up_at__isnull=True).order_by("created_at", "id")
    if service_point_ids is not None:
        qs = qs.filter(service_point_id__in=list(service_point_ids))
    rows = qs.values_list("id", "service_point_id", "period_start", "period_end", "reason")
    if limit:
        rows = rows[:limit]
    return [NoticeRow(*row) for row in rows]


def billed_through_dates(*, service_point_ids) -> dict[int, dt.date]:
    """The billed-through date MDM holds per service point (set by billing at issue, or loaded
    at conversion from a legacy CIS)."""
    return dict(BilledThrough.objects.filter(service_point_id__in=list(service_point_ids))
                .values_list("service_point_id", "billed_through_date"))
