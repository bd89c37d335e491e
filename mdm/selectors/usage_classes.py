"""The similar-premises average: what the average service point of a rate class used per local
day (mdm_usage_class_day, kept by mdm.services.usage_class_days_refresh). A day whose group is
smaller than `min_premises` is left out: an average of a few premises would tell a customer
about their neighbours."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mdm.models import UsageClassDay

MIN_PREMISES = 10


@dataclass(frozen=True)
class ClassDay:
    local_date: dt.date
    average: float  # per service point, in the unit asked for
    premises: int


def usage_class_averages(*, rate_class: str, commodity: str, unit: str, direction: str, start_date: dt.date,
                         end_date: dt.date, min_premises: int = MIN_PREMISES) -> dict[dt.date, ClassDay]:
    """{local date: ClassDay} over [start_date, end_date), days of at least `min_premises` only
    (never fewer than MIN_PREMISES). One indexed range read."""
    if not rate_class:
        return {}
    rows = (UsageClassDay.objects.filter(rate_class=rate_class, commodity=commodity, unit=unit, direction=direction,
                                         local_date__gte=start_date, local_date__lt=end_date,
                                         premises__gte=max(min_premises, MIN_PREMISES))
            .values_list("local_date", "total", "premises"))
    return {day: ClassDay(day, total / premises, premises) for day, total, premises in rows}
