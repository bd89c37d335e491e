"""Fixed (customer) charge: per bill, prorated by the part's factor, or per day."""
from __future__ import annotations

from decimal import Decimal

from .base import ONE, ComponentKind, LineDraft, ParamSpec, Params, PartContext, dec


class FixedCharge(ComponentKind):
    """params: amount; per: "bill" (default) | "day"; prorate: true (default) -- a per-bill charge
    is multiplied by the part's factor (days / standard days for a partial or long period)."""

    kind = "fixed"
    label = "Fixed (customer) charge"
    params_schema = (
        ParamSpec("amount", "decimal", True, "The charge per bill (or per day).", unit="$"),
        ParamSpec("per", "choice", False, "What the amount is per.", ("bill", "day"), default="bill"),
        ParamSpec("prorate", "bool", False, "Prorate a per-bill charge by the period's days.", default=True),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        amount = ctx.parsed(params["amount"], dec)
        if params.get("per", "bill") == "day":
            days = Decimal(ctx.days)
            return [LineDraft(self.describe("Customer charge"), days, "day", amount, days * amount)]
        factor = ctx.factor if params.get("prorate", True) else ONE
        return [LineDraft(self.describe("Customer charge"), ONE, "bill", amount, amount * factor, proration=factor)]
