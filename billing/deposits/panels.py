"""Wiring of deposits, called from BillingConfig.ready: the bill-issue hook (instalments on
bills, the deposit applied to a final bill), the ledger hook for cancelled bills, the bill
note, the account 360 panel, the admin pages and the core.runs sweeper's run kind."""
from __future__ import annotations

from django.db.models.signals import post_save
from django.utils import timezone

from billing import pdf
from billing.budget.hooks import register_bill_issue_hook
from billing.deposits import admin as deposits_admin
from billing.deposits import selectors, services
from billing.deposits.models import DepositReviewChunk
from billing.models import LedgerEntry
from core.clock import utility_zone
from core.panels import AccountPanel, register_account_panel
from core.roles import Role
from core.runs.registry import RunKind, register_run_kind


def _ledger_entry_posted(sender, instance: LedgerEntry, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw and instance.kind == LedgerEntry.Kind.REVERSAL:
        services.deposit_bill_reversed(entry=instance)


def deposit_panel_context(request, account) -> dict:
    today = timezone.now().astimezone(utility_zone()).date()
    return {**selectors.account_deposit_summary(account_id=account.pk, on=today), "account": account}


def register() -> None:
    register_account_panel(AccountPanel(
        key="billing.deposits", title="Deposit", template="billing/deposits/panel.html",
        context=deposit_panel_context, order=23, roles=(Role.CSR, Role.BILLING)))
    deposits_admin.register()
    register_bill_issue_hook("billing.deposits", services.deposit_bills_issued)
    pdf.register_bill_note(selectors.bill_deposit_note)
    register_run_kind(RunKind("billing.deposit_review", DepositReviewChunk, services.enqueue_chunks))
    post_save.connect(_ledger_entry_posted, sender=LedgerEntry, dispatch_uid="billing.deposits.ledger_entry_posted")
