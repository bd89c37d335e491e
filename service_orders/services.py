"""Writes for service orders. Other apps create orders only through these functions."""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from service_orders.models import OrderType, ServiceOrder

__all__ = ["OrderType", "service_order_request", "service_order_cancel_for_source"]


def service_order_request(
    *,
    order_type: str,
    due_date: dt.date,
    source: str,
    account_id: int | None = None,
    service_point_id: int | None = None,
    reason: str = "",
    user=None,
) -> ServiceOrder:
    """Create an order, or return the one already created for the same `source` and type
    (idempotent, so re-applying a move never doubles the field work). An order without a
    source (typed in by staff) is always a new one: only a source names a repeat."""
    fields = {
        "due_date": due_date,
        "account_id": account_id,
        "service_point_id": service_point_id,
        "reason": reason,
        "created_by": user if user is not None and user.is_authenticated else None,
    }
    with transaction.atomic():
        if source:
            order, created = ServiceOrder.objects.get_or_create(source=source, order_type=order_type, defaults=fields)
        else:
            order, created = ServiceOrder.objects.create(source="", order_type=order_type, **fields), True
        if created:
            order.order_number = f"SO{order.pk:08d}"
            order.save(update_fields=["order_number"])
    return order


def service_order_cancel_for_source(*, source: str) -> int:
    """Cancel the open orders a source created (e.g. a cancelled pending move)."""
    return ServiceOrder.objects.filter(source=source, status=ServiceOrder.Status.OPEN).update(
        status=ServiceOrder.Status.CANCELLED
    )
