"""Unmetered services (streetlights, traffic signals): fixtures x wattage x burn hours x $/kWh.
Burn hours come from a monthly table (hours of darkness); a period that is not a whole month
gets each day's share of its month's hours."""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.money import rate

from .base import ZERO, ComponentKind, LineDraft, ParamSpec, Params, PartContext, RatingError, dec


def burn_hours(table: Mapping[str | int, Any], start: dt.date, end: dt.date) -> Decimal:
    hours = ZERO
    day = start
    while day < end:
        month_end = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        stop = min(end, month_end)
        in_month = calendar.monthrange(day.year, day.month)[1]
        monthly = dec(table[str(day.month)] if str(day.month) in table else table[day.month])
        hours += monthly * Decimal((stop - day).days) / Decimal(in_month)
        day = stop
    return hours


class UnmeteredCharge(ComponentKind):
    """params: price ($/kWh); burn_hours {"1": hours, ..., "12": hours}; fixtures [codes] to
    restrict to some fixture types (default: all of BillInput.fixtures)."""

    kind = "unmetered"
    label = "Unmetered service (streetlights)"
    params_schema = (
        ParamSpec("price", "decimal", True, "Price of the computed energy.", unit="$/kWh"),
        ParamSpec("burn_hours", "months", True, "Hours each fixture burns in each month.", unit="hours",
                  minimum="0", maximum="744"),
        ParamSpec("fixtures", "tags", False, "Fixture type codes it applies to (empty: all of the service's)."),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        wanted = params.get("fixtures")
        fixtures = [f for f in ctx.bill.fixtures if not wanted or f.code in wanted]
        if not fixtures:
            raise RatingError(f"{self.component.code}: the service has no fixtures")
        hours = burn_hours(params["burn_hours"], ctx.start, ctx.end)
        price = dec(params["price"])
        out = []
        for fixture in sorted(fixtures, key=lambda f: f.code):
            kwh = Decimal(fixture.count) * fixture.watts / Decimal(1000) * hours
            out.append(
                LineDraft(f"{self.describe('Unmetered energy')}, {fixture.count} x {fixture.code} {fixture.watts} W",
                          kwh, "kWh", price, kwh * price,
                          details={"fixture": fixture.code, "count": fixture.count, "watts": str(fixture.watts),
                                   "burn_hours": str(rate(hours))})
            )
        return out
