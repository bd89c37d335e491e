"""Minimum charges: top a bill up to a floor. `minimum` per bill (prorated by the part's factor)
or per day; `annual_minimum` settles a yearly floor on the bill that closes the year."""
from __future__ import annotations


from .base import (
    ONE,
    PHASE_MINIMUM,
    ZERO,
    ComponentKind,
    LineDraft,
    ParamSpec,
    Params,
    PartContext,
    dec,
)


class MinimumCharge(ComponentKind):
    """params: amount; per "bill" (default) | "day"; applies_to [tags] (empty: all earlier lines)."""

    kind = "minimum"
    label = "Minimum charge"
    phase = PHASE_MINIMUM
    params_schema = (
        ParamSpec("amount", "decimal", True, "The floor per bill (prorated) or per day.", unit="$"),
        ParamSpec("per", "choice", False, "What the amount is per.", ("bill", "day"), default="bill"),
        ParamSpec("applies_to", "tags", False, "Tags of the earlier lines the floor counts (empty: all)."),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        amount = dec(params["amount"])
        if params.get("per", "bill") == "day":
            floor, proration = amount * ctx.days, ONE
        else:
            floor, proration = amount * ctx.factor, ctx.factor
        charged = ctx.subtotal(params.get("applies_to"))
        if charged >= floor:
            return []
        return [LineDraft(self.describe("Minimum charge adjustment"), ONE, "bill", floor - charged, floor - charged,
                          proration=proration, details={"minimum": str(floor), "charges": str(charged)})]


class AnnualMinimumCharge(ComponentKind):
    """params: amount (per year). Only on a bill whose input says it closes the annual period:
    charges of the year before this bill (BillInput.annual_charges_to_date) plus this bill's
    lines so far are topped up to the amount."""

    kind = "annual_minimum"
    label = "Annual minimum charge"
    phase = PHASE_MINIMUM
    params_schema = (
        ParamSpec("amount", "decimal", True, "The yearly floor, settled on the bill that closes the year.",
                  unit="$/year"),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        if not ctx.bill.closes_annual_period or ctx.end != ctx.bill.period_end:
            return []
        this_bill = sum((ln.amount for ln in ctx.earlier_lines), ZERO) + ctx.subtotal(None)
        charged = ctx.bill.annual_charges_to_date + this_bill
        amount = dec(params["amount"])
        if charged >= amount:
            return []
        return [LineDraft(self.describe("Annual minimum charge adjustment"), ONE, "year", amount - charged,
                          amount - charged, details={"annual_minimum": str(amount), "charges": str(charged)})]
