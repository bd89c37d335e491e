"""Flat energy (or volume) charge: one price per unit of consumption."""
from __future__ import annotations

from .base import ParamSpec, ComponentKind, LineDraft, Params, PartContext, dec, require


class FlatCharge(ComponentKind):
    """params: price ($/unit); unit: "kWh" (default) or "m3", ..."""

    kind = "flat"
    params_schema = (
        ParamSpec("price", "decimal", True, "Dollars per unit of consumption."),
        ParamSpec("unit", "text", False, "kWh (default), m3, ..."),
    )

    def check(self, params: Params) -> None:
        require(params, "price")
        dec(params["price"], name="price")

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        price = dec(params["price"])
        quantity = ctx.determinants.consumption
        return [LineDraft(self.describe("Energy charge"), quantity, params.get("unit", "kWh"), price, quantity * price,
                          proration=ctx.share)]
