"""The payments panel on the account 360 page: payment history with each payment's
allocations and return, the charges still open, unapplied credit and the credit rating.
`register()` is called from BillingConfig.ready (with the admin pages and the ledger hook)."""
from __future__ import annotations

from django.db.models.signals import post_save

from billing.models import LedgerEntry
from billing.payments import admin as payments_admin
from billing.payments import selectors
from billing.payments.allocation import ledger_entry_posted
from billing.payments.card_views import CardPaymentForm
from core.clock import utility_today
from core.panels import AccountPanel, register_account_panel
from core.roles import Role


def payments_panel_context(request, account) -> dict:
    today = utility_today()
    return {
        "payments": selectors.payments_for_account(account_id=account.pk, limit=20),
        "open_items": selectors.account_open_items(account_id=account.pk),
        "aging": selectors.account_aging_by_allocation(account_id=account.pk, as_of=today),
        "credit_rating": selectors.account_credit_rating(account_id=account.pk, as_of=today),
        "account": account,
        "card_form": CardPaymentForm(),
    }


def register() -> None:
    register_account_panel(
        AccountPanel(
            key="billing.payments", title="Payments", template="billing/payments/panel.html",
            context=payments_panel_context, order=21, roles=(Role.CSR, Role.BILLING),
        )
    )
    payments_admin.register()
    # A ledger entry posted anywhere (a bill issued, an adjustment, a bill cancelled) settles
    # its account's allocations in the same transaction.
    post_save.connect(ledger_entry_posted, sender=LedgerEntry, dispatch_uid="billing.payments.ledger_entry_posted")
