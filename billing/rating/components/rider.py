"""Per-unit riders and adjustments (a regulatory charge or global adjustment in $/kWh, a
$/kW transmission rider): a price times one determinant."""
from __future__ import annotations

from .base import ParamSpec, ComponentConfigError, ComponentKind, LineDraft, Params, PartContext, dec, require

BASES = {"consumption": "kWh", "demand": "kW", "received": "kWh"}


class RiderCharge(ComponentKind):
    """params: price; basis "consumption" (default) | "demand" | "received"; unit (display).
    A demand rider is a monthly charge: it is multiplied by the part's factor."""

    kind = "rider"
    params_schema = (
        ParamSpec("price", "decimal", True, "Dollars per unit of the basis."),
        ParamSpec("basis", "choice", False, "consumption (default), demand or received.", tuple(BASES)),
        ParamSpec("unit", "text", False, "Shown on the line."),
    )

    def check(self, params: Params) -> None:
        require(params, "price")
        dec(params["price"], name="price")
        if params.get("basis", "consumption") not in BASES:
            raise ComponentConfigError(f"basis must be one of {sorted(BASES)}")

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
