"""Monthly maximum demand charge, optionally tiered by kW, optionally with a ratchet: the billed
demand is the greater of this period's maximum and a percentage of the highest demand of the
last N months. Demand is a monthly charge, so it is multiplied by the part's factor."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from .base import (
    ZERO,
    ComponentKind,
    LineDraft,
    ParamSpec,
    Params,
    PartContext,
    Tier,
    dec,
    read_tiers,
    split_into_tiers,
)


def tiers_of(params: Params) -> tuple[Tier, ...]:
    if params.get("tiers") not in (None, ""):
        return read_tiers(params["tiers"])
    return read_tiers([{"price": params["price"]}])


def months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def demand_lines(label: str, kw: Decimal, tiers: Sequence[Tier], ctx: PartContext, *, tou_period: str | None = None,
                 details: Mapping[str, Any] | None = None) -> list[LineDraft]:
    """One line per demand (per TOU period): kW blocks are shown in the description and
    details rather than as separate lines, so a period's demand charge is one rounded amount
    (which is also how NREL SAM reports it)."""
    limits = [t.limit for t in tiers]
    blocks = [(t, used) for t, used in zip(tiers, split_into_tiers(kw, limits)) if used or t is tiers[0]]
    cost = sum((used * t.price for t, used in blocks), ZERO)
    if len(tiers) == 1:
        price = tiers[0].price
    else:
        price = (cost / kw).quantize(Decimal("0.000001")) if kw else tiers[0].price
        label = label + " (" + " + ".join(f"{used.normalize():f} kW at {t.price}" for t, used in blocks) + ")"
    return [
        LineDraft(label, kw, "kW", price, cost * ctx.factor, tou_period=tou_period, proration=ctx.factor,
                  details={**(details or {}),
                           "blocks": [{"kw": str(used), "price": str(t.price), "limit": None if t.limit is None else str(t.limit)}
                                      for t, used in blocks]})
    ]


class DemandCharge(ComponentKind):
    """params: price ($/kW-month) or tiers (kW blocks); ratchet {"percent": 80, "months": 11}."""

    kind = "demand"
    label = "Demand charge"
    params_one_of = ("price", "tiers")
    params_schema = (
        ParamSpec("price", "decimal", False, "One price for the billed demand (or give tiers).", unit="$/kW-month"),
        ParamSpec("tiers", "tiers", False, "kW blocks, instead of one price.", unit="$/kW-month", limit_unit="kW"),
        ParamSpec("ratchet", "object", False, "Bill at least `percent` of the highest demand of the last `months` "
                  "whole months.", fields=(
                      ParamSpec("percent", "decimal", True, "Share of the past peak billed at least.", unit="%",
                                minimum="0", maximum="100"),
                      ParamSpec("months", "int", True, "How many whole months before the bill's month count.",
                                unit="months", minimum="1", maximum="36"),
                  )),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        actual = ctx.determinants.max_demand_kw
        billed = actual
        details: dict[str, Any] = {"actual_kw": str(actual)}
        label = self.describe("Demand charge")
        ratchet = params.get("ratchet")
        if ratchet is not None:
            # History is by calendar month: the N whole months before the bill's start month.
            anchor = ctx.bill.period_start.replace(day=1)
            since = months_before(anchor, int(ratchet["months"]))
            history = [h for h in ctx.bill.demand_history if since <= h.month < anchor]
            if history:
                peak = max(history, key=lambda h: (h.max_kw, h.month))
                floor = peak.max_kw * dec(ratchet["percent"]) / Decimal(100)
                details.update(ratchet_kw=str(floor), ratchet_from=peak.month.isoformat())
                if floor > actual:
                    billed = floor
                    label = f"{label} (ratchet: {ratchet['percent']}% of {peak.max_kw} kW in {peak.month:%Y-%m})"
        return demand_lines(label, billed, ctx.parsed(params, tiers_of), ctx, details=details)
