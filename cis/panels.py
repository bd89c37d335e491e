"""The account 360 panels cis itself contributes through the core.panels registry, the same
way other apps add theirs."""
from __future__ import annotations

from core.panels import AccountPanel, register_account_panel


def _service_orders_context(request, account) -> dict:
    from service_orders.selectors import service_orders_for_account

    return {"orders": list(service_orders_for_account(account_id=account.pk))}


def register() -> None:
    register_account_panel(
        AccountPanel(
            key="service_orders", title="Service orders", template="cis/panels/service_orders.html",
            context=_service_orders_context, order=50,
        )
    )
