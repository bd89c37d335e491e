"""Template helpers of the Billing Hub's navigation."""
from __future__ import annotations

from django import template

from billing.services.adjustments import adjustment_pending_totals

register = template.Library()


@register.simple_tag
def adjustments_pending_count() -> int:
    """How many adjustment requests wait for approval (the navigation's count)."""
    return adjustment_pending_totals().count
