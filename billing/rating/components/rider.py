"""Per-unit riders and adjustments (a regulatory charge or global adjustment in $/kWh, a
$/kW transmission rider): a price times one determinant."""
from __future__ import annotations

from .base import ComponentKind, LineDraft, ParamSpec, Params, PartContext, dec

BASES = {"consumption": "kWh", "demand": "kW", "received": "kWh"}


class RiderCharge(ComponentKind):
    """params: price; basis "consumption" (default) | "demand" | "received"; unit (display).
    A demand rider is a monthly charge: it is multiplied by the part's factor."""

    kind = "rider"
    label = "Rider"
    params_schema = (
        ParamSpec("price", "decimal", True, "Dollars per unit of the basis (kWh, or kW-month for demand).",
                  unit="$/unit"),
        ParamSpec("basis", "choice", False, "The determinant it is charged on.", tuple(BASES), default="consumption"),
        ParamSpec("unit", "text", False, "Shown on the line (default: kWh, or kW for demand)."),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        basis = params.get("basis", "consumption")
        price = dec(params["price"])
        det = ctx.determinants
        unit = params.get("unit", BASES[basis])
        if basis == "demand":
            return [LineDraft(self.describe("Rider"), det.max_demand_kw, unit, price,
                              det.max_demand_kw * price * ctx.factor, proration=ctx.factor)]
        quantity = det.consumption if basis == "consumption" else det.received
        return [LineDraft(self.describe("Rider"), quantity, unit, price, quantity * price, proration=ctx.share)]
