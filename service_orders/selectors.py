from __future__ import annotations

from service_orders.models import ServiceOrder


def service_orders_for_account(*, account_id: int, limit: int = 20):
    return ServiceOrder.objects.filter(account_id=account_id).order_by("-created_at")[:limit]
