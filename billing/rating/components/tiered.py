"""Inclining or declining block tiers on the period's consumption (electricity, water, gas).
Which it is follows from the prices; the limits are per bill period and are scaled by the part's
factor for a period that is not a standard month (a 35-day bill gets 35/30 of each block)."""
from __future__ import annotations

from .base import (
    LIMIT_BASES,
    ComponentKind,
    LineDraft,
    ParamSpec,
    Params,
    PartContext,
    read_tiers,
    scaled_limits,
    split_into_tiers,
)


class TieredCharge(ComponentKind):
    """params: tiers [{"limit": 500, "price": "0.08"}, {"price": "0.11"}]; unit (default kWh);
    limit_basis "bill" (default) | "day" | "kw" | "kw_day"; scale_limits true (default)."""

    kind = "tiered"
    label = "Tiered (block) charge"
    params_schema = (
        ParamSpec("tiers", "tiers", True, "Blocks: each up to a limit (the last open-ended) at a price.",
                  unit="$/unit", limit_unit="units per limit basis"),
        ParamSpec("unit", "text", False, "The consumption unit shown on the lines (m3 for water and gas).",
                  default="kWh"),
        ParamSpec("limit_basis", "choice", False, "What a block limit is per: the bill, a day, a kW of demand, a kW "
                  "per day.", LIMIT_BASES, default="bill"),
        ParamSpec("scale_limits", "bool", False, "Scale per-bill and per-kW limits by the period's length.",
                  default=True),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        tiers = ctx.parsed(params["tiers"], read_tiers)
        limits = scaled_limits(tiers, basis=params.get("limit_basis", "bill"), ctx=ctx,
                               scale=params.get("scale_limits", True))
        unit = params.get("unit", "kWh")
        out = []
        for number, (tier, used, limit) in enumerate(zip(tiers, split_into_tiers(ctx.determinants.consumption, limits), limits), 1):
            if used == 0 and number > 1:
                continue
            out.append(
                LineDraft(self.describe("Energy charge") + f", block {number}", used, unit, tier.price, used * tier.price,
                          tier=number, proration=ctx.factor, details={"block_limit": str(limit) if limit is not None else None})
            )
        return out
