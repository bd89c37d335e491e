"""Half-open date ranges `[start, end)` with a nullable (open) end, as the whole product uses them."""
from __future__ import annotations

import datetime as dt

from django.contrib.postgres.fields import DateRangeField
from django.db import models


class DateRange(models.Func):
    """SQL `daterange(start, end, '[)')`: the expression exclusion constraints use."""

    function = "DATERANGE"
    output_field = DateRangeField()


def overlaps(a_start: dt.date, a_end: dt.date | None, b_start: dt.date, b_end: dt.date | None) -> bool:
    return (b_end is None or a_start < b_end) and (a_end is None or b_start < a_end)


def contains(start: dt.date, end: dt.date | None, day: dt.date) -> bool:
    return start <= day and (end is None or day < end)
