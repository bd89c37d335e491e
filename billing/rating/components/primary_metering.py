"""Primary-metering discount: a percentage off chosen subtotals for a customer metered on the
primary side (it owns the transformation losses)."""
from __future__ import annotations

from decimal import Decimal

from .base import ParamSpec
from .percentage import PercentageCharge


class PrimaryMeteringDiscount(PercentageCharge):
    """params: percent (a positive number: the line is a credit); applies_to [tags]."""

    kind = "primary_metering_discount"
    label = "Primary metering discount"
    params_schema = (
        ParamSpec("percent", "decimal", True, "Percent off the subtotal (a positive number; the line is a credit).",
                  unit="%", minimum="0", maximum="100"),
        ParamSpec("applies_to", "tags", False, "Tags of the earlier lines it discounts (empty: all)."),
    )
    sign = Decimal(-1)
    default_label = "Primary metering discount"
