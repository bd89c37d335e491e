"""Wiring of equal payment plans, called from BillingConfig.ready: the bill-issue hook, the
ledger hook for cancelled bills, the account panel and the admin pages."""
from __future__ import annotations

from django.db.models.signals import post_save

from billing.budget import admin as budget_admin
from billing.budget import services
from billing.budget.models import BudgetPlanType
from billing.budget.hooks import register_bill_issue_hook
from billing.models import LedgerEntry
from core.panels import AccountPanel, register_account_panel
from core.roles import Role


def _ledger_entry_posted(sender, instance: LedgerEntry, created: bool, **kwargs) -> None:
    if created and instance.kind == LedgerEntry.Kind.REVERSAL:
        services.budget_bill_reversed(entry=instance)


def budget_panel_context(request, account) -> dict:
    return {"summary": services.plan_summary(account_id=account.pk), "account": account,
            "plan_types": list(BudgetPlanType.objects.filter(active=True))}


def register() -> None:
    register_account_panel(AccountPanel(
        key="billing.budget", title="Payment plan", template="billing/budget/panel.html",
        context=budget_panel_context, order=22, roles=(Role.CSR, Role.BILLING)))
    budget_admin.register()
    register_bill_issue_hook("billing.budget", services.budget_bills_issued)
    post_save.connect(_ledger_entry_posted, sender=LedgerEntry, dispatch_uid="billing.budget.ledger_entry_posted")
