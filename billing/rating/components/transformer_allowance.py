"""Owned-transformer allowance: a credit per kW of billing demand for a customer who owns its
transformer. A monthly amount, so multiplied by the part's factor."""
from __future__ import annotations

from .base import ComponentKind, LineDraft, Params, PartContext, dec, require


class TransformerAllowance(ComponentKind):
    """params: price ($/kW, positive; the line is a credit)."""

    kind = "transformer_allowance"

    def check(self, params: Params) -> None:
        require(params, "price")
        dec(params["price"], name="price")

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        kw = ctx.determinants.max_demand_kw
        price = dec(params["price"])
        return [LineDraft(self.describe("Transformer ownership allowance"), kw, "kW", -price,
                          -price * kw * ctx.factor, proration=ctx.factor)]
