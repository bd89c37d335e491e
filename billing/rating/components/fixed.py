"""Fixed (customer) charge: per bill, prorated by the part's factor, or per day."""
from __future__ import annotations

from decimal import Decimal

from .base import ParamSpec, ONE, ComponentConfigError, ComponentKind, LineDraft, Params, PartContext, dec, require


class FixedCharge(ComponentKind):
    """params: amount; per: "bill" (default) | "day"; prorate: true (default) -- a per-bill charge
    is multiplied by the part's factor (days / standard days for a partial or long period)."""

    kind = "fixed"
    params_schema = (
        ParamSpec("amount", "decimal", True, "Dollars per bill (or per day)."),
        ParamSpec("per", "choice", False, "bill (default) or day.", ("bill", "day")),
        ParamSpec("prorate", "bool", False, "Prorate a per-bill charge by the period's days (default true)."),
    )

    def check(self, params: Params) -> None:
        require(params, "amount")
        dec(params["amount"], name="amount")
        if params.get("per", "bill") not in ("bill", "day"):
            raise ComponentConfigError("per must be 'bill' or 'day'")

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        amount = dec(params["amount"])
        if params.get("per", "bill") == "day":
            days = Decimal(ctx.days)
            return [LineDraft(self.describe("Customer charge"), days, "day", amount, days * amount)]
        factor = ctx.factor if params.get("prorate", True) else ONE
        return [LineDraft(self.describe("Customer charge"), ONE, "bill", amount, amount * factor, proration=factor)]
