"""Wiring of equal payment plans, called from BillingConfig.ready: the bill-issue hook, the
ledger hook for cancelled bills, the account panel and the admin pages."""
from __future__ import annotations

from django.db.models.signals import post_save

from billing.budget import services
from billing.budget.hooks import register_bill_issue_hook
from billing.models import LedgerEntry


def _ledger_entry_posted(sender, instance: LedgerEntry, created: bool, **kwargs) -> None:
    if created and instance.kind == LedgerEntry.Kind.REVERSAL:
        services.budget_bill_reversed(entry=instance)


def register() -> None:
    register_bill_issue_hook("billing.budget", services.budget_bills_issued)
    post_save.connect(_ledger_entry_posted, sender=LedgerEntry, dispatch_uid="billing.budget.ledger_entry_posted")
