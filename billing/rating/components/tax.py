"""A tax: a percentage of a subtotal (by tag), computed last, after minimums and credits."""
from __future__ import annotations

from decimal import Decimal

from .base import PHASE_TAX, ParamSpec, Params, PartContext
from .percentage import PercentageCharge


class TaxCharge(PercentageCharge):
    """params: percent; applies_to [tags] (empty: every line that is not itself a tax)."""

    kind = "tax"
    label = "Tax"
    phase = PHASE_TAX
    params_schema = (
        ParamSpec("percent", "decimal", True, "Tax rate (13 means 13%).", unit="%", minimum="0"),
        ParamSpec("applies_to", "tags", False, "Tags of the lines taxed (empty: every line that is not a tax)."),
    )
    default_label = "Tax"

    def base(self, ctx: PartContext, params: Params) -> Decimal:
        return ctx.subtotal(params.get("applies_to"), exclude_kinds=("tax",))
