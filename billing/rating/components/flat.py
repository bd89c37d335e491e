"""Flat energy (or volume) charge: one price per unit of consumption."""
from __future__ import annotations

from .base import ComponentKind, LineDraft, ParamSpec, Params, PartContext, dec


class FlatCharge(ComponentKind):
    """params: price ($/unit); unit: "kWh" (default) or "m3", ..."""

    kind = "flat"
    label = "Flat energy or volume charge"
    params_schema = (
        ParamSpec("price", "decimal", True, "Dollars per unit of consumption.", unit="$/unit"),
        ParamSpec("unit", "text", False, "The consumption unit shown on the line (m3 for water and gas).",
                  default="kWh"),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        price = ctx.parsed(params["price"], dec)
        quantity = ctx.determinants.consumption
        return [LineDraft(self.describe("Energy charge"), quantity, params.get("unit", "kWh"), price, quantity * price,
                          proration=ctx.share)]
