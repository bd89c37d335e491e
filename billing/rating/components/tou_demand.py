"""Time-of-use demand: a charge on the maximum kW within each TOU period (tiers optional)."""
from __future__ import annotations

from .base import ZERO, ComponentKind, LineDraft, ParamSpec, Params, PartContext, RatingError
from .demand import demand_lines
from .tou import period_tiers


class TouDemandCharge(ComponentKind):
    """params: periods {period name: $/kW | [kW tiers]}."""

    kind = "tou_demand"
    label = "Time-of-use demand charge"
    params_schema = (
        ParamSpec("periods", "periods", True, "A price (or kW blocks) for the maximum demand in each period of "
                  "the version's TOU schedule.", unit="$/kW-month", limit_unit="kW"),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        by_period = ctx.determinants.max_demand_kw_by_period
        if not by_period:
            raise RatingError(f"{self.component.code}: determinants have no demand by TOU period")
        out = []
        for name, raw in params["periods"].items():
            kw = by_period.get(name, ZERO)
            if kw == 0:
                continue
            out += demand_lines(f"{self.describe('Demand charge')}, {name}", kw, period_tiers(raw), ctx, tou_period=name)
        return out
