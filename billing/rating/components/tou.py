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
    ParamSpec,
    LIMIT_BASES,
    ZERO,
    ComponentConfigError,
    ComponentKind,
    LineDraft,
    Params,
    PartContext,
    RatingError,
    Tier,
    read_tiers,
    require,
    scaled_limits,
    split_into_tiers,
)

MODES = ("per_period", "month_total")


def period_tiers(raw: Any) -> tuple[Tier, ...]:
    """A period's value: a single price, or a list of tiers."""
    if isinstance(raw, (list, tuple)):
        return read_tiers(raw)
    return read_tiers([{"price": raw}])


class TouEnergyCharge(ComponentKind):
    """params: periods {period name: price | [tiers]} (periods of a tou_schedule component of the
    same version); mode "per_period" (default) | "month_total"; limit_basis as for `tiered`;
    scale_limits true; unit kWh."""

    kind = "tou"
    params_schema = (
        ParamSpec("periods", "periods", True, "Price (or tiers) per TOU period of the version's schedule."),
        ParamSpec("mode", "choice", False, "How tiers apply (default per_period).", MODES),
        ParamSpec("limit_basis", "choice", False, "What a limit is per (default bill).", LIMIT_BASES),
        ParamSpec("scale_limits", "bool", False, "Scale limits by the period's length (default true)."),
        ParamSpec("unit", "text", False, "kWh (default)."),
    )

    def check(self, params: Params) -> None:
        require(params, "periods")
        if not params["periods"]:
            raise ComponentConfigError("periods must not be empty")
        for name, raw in params["periods"].items():
            period_tiers(raw)
        if params.get("mode", "per_period") not in MODES:
            raise ComponentConfigError(f"mode must be one of {MODES}")
        if params.get("limit_basis", "bill") not in LIMIT_BASES:
            raise ComponentConfigError(f"limit_basis must be one of {LIMIT_BASES}")

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        by_period = ctx.determinants.consumption_by_period
        if not by_period:
            raise RatingError(f"{self.component.code}: determinants have no kWh by TOU period")
        basis = params.get("limit_basis", "bill")
        scale = params.get("scale_limits", True)
        unit = params.get("unit", "kWh")
        label = self.describe("Energy charge")
        periods = {name: period_tiers(raw) for name, raw in params["periods"].items()}
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
