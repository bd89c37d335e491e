"""Interval pricing: each interval's kWh times the price in force at its start (an hourly or
5/15-minute market price series from the bill input), plus an optional fixed adder."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from .base import ZERO, ComponentKind, LineDraft, ParamSpec, Params, PartContext, RatingError, dec


class IntervalPriceCharge(ComponentKind):
    """params: series (name of a price series in BillInput.price_series); adder ($/kWh, default 0)."""

    kind = "interval_price"
    label = "Interval (market) pricing"
    params_schema = (
        ParamSpec("series", "text", True, "Name of the price series in the bill input (e.g. hoep)."),
        ParamSpec("adder", "decimal", False, "Added to every interval's price.", unit="$/kWh", default="0"),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        usage = ctx.determinants.intervals
        if usage is None:
            raise RatingError(f"{self.component.code}: interval pricing needs the interval consumption series")
        prices = ctx.bill.price_series.get(params["series"])
        if prices is None:
            raise RatingError(f"{self.component.code}: no price series {params['series']!r}")
        adder = dec(params.get("adder", 0))
        zone = ZoneInfo(ctx.bill.time_zone)
        step = dt.timedelta(minutes=usage.minutes)
        price_step = dt.timedelta(minutes=prices.minutes)
        kwh = ZERO
        cost = ZERO
        for i, value in enumerate(usage.values):
            instant = usage.start + i * step
            if not (ctx.start <= instant.astimezone(zone).date() < ctx.end):
                continue
            index = (instant - prices.start) // price_step
            if index < 0 or index >= len(prices.values):
                raise RatingError(f"{self.component.code}: no price for the interval at {instant.isoformat()}")
            value = dec(value)
            kwh += value
            cost += value * (dec(prices.values[index]) + adder)
        average = (cost / kwh).quantize(Decimal("0.000001")) if kwh else ZERO
        return [
            LineDraft(self.describe("Energy at interval prices"), kwh, "kWh", average, cost,
                      details={"series": params["series"], "intervals_minutes": usage.minutes, "price_is_average": True})
        ]
