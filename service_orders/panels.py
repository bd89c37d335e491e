"""What service_orders adds to lower layers through core's registries: the account 360 panel
of an account's orders, and the handler that turns field-work requests into orders."""
from __future__ import annotations

from core.field_work import FieldWorkRequest, FieldWorkTicket, register_field_work_handler
from core.panels import AccountPanel, register_account_panel

from service_orders import selectors, services


def _service_orders_context(request, account) -> dict:
    return {"orders": list(selectors.service_orders_for_account(account_id=account.pk))}


class ServiceOrderFieldWork:
    """core.field_work's handler: one service order per (source, kind)."""

    def request(self, request: FieldWorkRequest) -> FieldWorkTicket:
        order = services.service_order_request(
            order_type=request.kind, due_date=request.due_date, source=request.source,
            account_id=request.account_id, service_point_id=request.service_point_id,
            reason=request.reason, user=request.user,
        )
        return FieldWorkTicket(order.pk, order.order_number, order.order_type, order.status, order.due_date, order.reason)

    def cancel_for_source(self, source: str) -> int:
        return services.service_order_cancel_for_source(source=source)


def register() -> None:
    register_account_panel(
        AccountPanel(
            key="service_orders", title="Service orders", template="service_orders/panels/account_orders.html",
            context=_service_orders_context, order=50,
        )
    )
    register_field_work_handler(ServiceOrderFieldWork())
