"""Time-of-use energy: a price (or tiers) per TOU period, over the kWh of each period.

Two tier modes, because utilities and NREL SAM read "tiers on top of TOU" differently:

- "per_period" (classic): each period's tiers apply to that period's own kWh.
- "month_total" (SAM-compatible, used for URDB imports): tier limits apply to the period's
  total kWh across all periods; each tier's kWh is then split between the periods in
  proportion to their share of the total, and priced at each period's tier price.
"""
from __future__ import annotations

from typing import Any

from .base import (
    LIMIT_BASES,
    ZERO,
    ComponentKind,
    LineDraft,
    ParamSpec,
    Params,
    PartContext,
    RatingError,
    Tier,
    read_tiers,
    scaled_limits,
    split_into_tiers,
)

MODES = ("per_period", "month_total")


def period_tiers(raw: Any) -> tuple[Tier, ...]:
    """A period's value: a single price, or a list of tiers."""
    if isinstance(raw, (list, tuple)):
        return read_tiers(raw)
    return read_tiers([{"price": raw}])


def _periods(raw: Any) -> dict[str, tuple[Tier, ...]]:
    return {name: period_tiers(value) for name, value in raw.items()}


class TouEnergyCharge(ComponentKind):
    """params: periods {period name: price | [tiers]} (periods of a tou_schedule component of the
    same version); mode "per_period" (default) | "month_total"; limit_basis as for `tiered`;
    scale_limits true; unit kWh."""

    kind = "tou"
    label = "Time-of-use energy charge"
    params_schema = (
        ParamSpec("periods", "periods", True, "A price (or blocks) for each period of the version's TOU schedule.",
                  unit="$/kWh", limit_unit="kWh per limit basis"),
        ParamSpec("mode", "choice", False, "How blocks apply: to each period's own kWh, or to the total kWh "
                  "split by period share (URDB/SAM).", MODES, default="per_period"),
        ParamSpec("limit_basis", "choice", False, "What a block limit is per.", LIMIT_BASES, default="bill"),
        ParamSpec("scale_limits", "bool", False, "Scale per-bill and per-kW limits by the period's length.",
                  default=True),
        ParamSpec("unit", "text", False, "The unit shown on the lines.", default="kWh"),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        by_period = ctx.determinants.consumption_by_period
        if not by_period:
            raise RatingError(f"{self.component.code}: determinants have no kWh by TOU period")
        basis = params.get("limit_basis", "bill")
        scale = params.get("scale_limits", True)
        unit = params.get("unit", "kWh")
        label = self.describe("Energy charge")
        periods = ctx.parsed(params["periods"], _periods)
        usage = {name: by_period.get(name, ZERO) for name in periods}
        total = sum(usage.values(), ZERO)
        out = []
        for name, tiers in periods.items():
            limits = scaled_limits(tiers, basis=basis, ctx=ctx, scale=scale)
            if params.get("mode", "per_period") == "month_total":
                share = usage[name] / total if total else ZERO
                amounts = [used * share for used in split_into_tiers(total, limits)]
            else:
                amounts = split_into_tiers(usage[name], limits)
            for number, (tier, used) in enumerate(zip(tiers, amounts), 1):
                if used == 0 and (number > 1 or usage[name] == 0):
                    continue
                suffix = f", block {number}" if len(tiers) > 1 else ""
                out.append(
                    LineDraft(f"{label}, {name}{suffix}", used, unit, tier.price, used * tier.price,
                              tier=number if len(tiers) > 1 else None, tou_period=name, proration=ctx.factor,
                              details={"period_kwh": str(usage[name]), "total_kwh": str(total)})
                )
        return out
