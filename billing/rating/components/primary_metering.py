"""Primary-metering discount: a percentage off chosen subtotals for a customer metered on the
primary side (it owns the transformation losses)."""
from __future__ import annotations

from decimal import Decimal

from .percentage import PercentageCharge


class PrimaryMeteringDiscount(PercentageCharge):
    """params: percent (a positive number: the line is a credit); applies_to [tags]."""

    kind = "primary_metering_discount"
    sign = Decimal(-1)
    default_label = "Primary metering discount"
