"""A percentage charge on a subtotal of earlier lines chosen by tag (e.g. 3% franchise fee on
the "delivery" lines). Runs after the usage charges, before minimums and taxes."""
from __future__ import annotations

from decimal import Decimal

from .base import PHASE_ADJUSTMENT, ComponentKind, LineDraft, ParamSpec, Params, PartContext, dec


class PercentageCharge(ComponentKind):
    """params: percent; applies_to [tags] (empty: every earlier line)."""

    kind = "percentage"
    label = "Percentage charge"
    phase = PHASE_ADJUSTMENT
    sign = Decimal(1)
    default_label = "Percentage charge"
    params_schema = (
        ParamSpec("percent", "decimal", True, "Percent of the subtotal (3 means 3%).", unit="%"),
        ParamSpec("applies_to", "tags", False, "Tags of the earlier lines it is a percentage of (empty: all)."),
    )

    def base(self, ctx: PartContext, params: Params) -> Decimal:
        return ctx.subtotal(params.get("applies_to"))

    def lines(self, ctx: PartContext, params: Params) -> list[LineDraft]:
        base = self.base(ctx, params)
        fraction = dec(params["percent"]) / Decimal(100)
        return [LineDraft(self.describe(self.default_label), base, "$", fraction, self.sign * base * fraction,
                          details={"applies_to": list(params.get("applies_to") or []), "percent": str(params["percent"])})]
