"""Owned-transformer allowance: a credit per kW of billing demand for a customer who owns its
transformer. A monthly amount, so multiplied by the part's factor."""
from __future__ import annotations

from .base import ComponentKind, LineDraft, ParamSpec, Params, PartContext, dec


class TransformerAllowance(ComponentKind):
    """params: price ($/kW, positive; the line is a credit)."""

    kind = "transformer_allowance"
    label = "Transformer ownership allowance"
    params_schema = (
        ParamSpec("price", "decimal", True, "Credit per kW of billing demand (a positive number; the line is a "
                  "credit).", unit="$/kW-month", minimum="0"),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        kw = ctx.determinants.max_demand_kw
        price = dec(params["price"])
        return [LineDraft(self.describe("Transformer ownership allowance"), kw, "kW", -price,
                          -price * kw * ctx.factor, proration=ctx.factor)]
