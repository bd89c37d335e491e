from __future__ import annotations

from service_orders.models import ServiceOrder


def service_orders_for_account(*, account_id: int, limit: int = 20):
    return ServiceOrder.objects.filter(account_id=account_id).order_by("-created_at")[:limit]


def service_orders_open(*, limit: int = 200):
    """Open, held and dispatched orders, soonest due first: the field crew's work list."""
    return (ServiceOrder.objects.filter(status__in=[ServiceOrder.Status.OPEN, ServiceOrder.Status.HELD,
                                                    ServiceOrder.Status.DISPATCHED])
            .select_related("service_point__premise").order_by("due_date", "id")[:limit])
