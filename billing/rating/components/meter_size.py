"""Water and gas: a fixed charge that depends on the meter size, prorated like `fixed`."""
from __future__ import annotations

from .base import ONE, ComponentKind, LineDraft, ParamSpec, Params, PartContext, RatingError, dec


class MeterSizeCharge(ComponentKind):
    """params: charges {size: amount} (e.g. {"5/8": "12.50", "1": "21.00"}); prorate: true."""

    kind = "meter_size_fixed"
    label = "Service charge by meter size"
    params_schema = (
        ParamSpec("charges", "mapping", True, "The charge per bill for each meter size (e.g. 5/8, 1).",
                  unit="$", key_label="meter size"),
        ParamSpec("prorate", "bool", False, "Prorate by the period's days.", default=True),
    )

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        size = ctx.bill.meter_size
        if size is None or size not in params["charges"]:
            raise RatingError(f"{self.component.code}: no charge for meter size {size!r}")
        amount = dec(params["charges"][size])
        factor = ctx.factor if params.get("prorate", True) else ONE
        return [
            LineDraft(self.describe(f"Service charge, {size} meter"), ONE, "bill", amount, amount * factor,
                      proration=factor, details={"meter_size": size})
        ]
