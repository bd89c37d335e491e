"""The bills-and-balance panel on the account 360 page (registered in BillingConfig.ready)."""
from __future__ import annotations


from billing.services import adjustments, ledger
from billing.forms import AdjustmentForm, PaymentForm
from billing import selectors
from core.clock import utility_today
from core.panels import AccountPanel, register_account_panel
from core.roles import Role


def balance_panel_context(request, account) -> dict:
    today = utility_today()
    return {
        "balance": ledger.account_balance(account_id=account.pk),
        "aging": ledger.account_aging(account_id=account.pk, as_of=today),
        "entries": ledger.account_ledger(account_id=account.pk, limit=12),
        "bills": list(selectors.bills_for_account(account_id=account.pk, limit=6)),
        # Two forms on one page: ids of their own, so each label names its own field.
        "payment_form": PaymentForm(initial={"received_date": today}, auto_id="payment_%s"),
        "adjustment_form": AdjustmentForm(initial={"effective_date": today}, auto_id="adjustment_%s"),
        "adjustments_pending": adjustments.adjustment_requests_pending(account_id=account.pk),
        "adjustments_decided": adjustments.adjustment_requests_decided(account_id=account.pk, limit=5),
        "approval_limit": adjustments.adjustment_approval_limit(),
        "account": account,
    }


def register() -> None:
    register_account_panel(
        AccountPanel(
            key="billing.balance", title="Bills and balance", template="billing/panels/balance.html",
            context=balance_panel_context, order=20, roles=(Role.CSR, Role.BILLING),
        )
    )
