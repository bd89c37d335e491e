"""Deposits in the Django admin: deposit classes and interest rates are configuration billing
staff edit (validated by the model's clean, audited by pghistory); deposits, their
instalments, the held-deposit ledger, interest credits, refunds and recommendations are shown
read-only (require, waive, refund, apply and transfer go through the Deposit Hub and its
services). Registered from billing.deposits.panels.register()."""
from __future__ import annotations

from django.contrib import admin

from billing.deposits.models import (
    Deposit,
    DepositClass,
    DepositEntry,
    DepositInstalment,
    DepositInterest,
    DepositInterestRate,
    DepositRecommendation,
    DepositRefund,
)
from core.admin import AuditHistoryMixin
from core.admin import ReadOnlyAdmin as ReadOnly


class DepositClassAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "name", "active", "priority", "customer_kind", "rate_class", "amount_basis", "amount_multiple",
                    "cap_multiple", "minimum_amount", "instalments", "good_history_months", "max_incidents")
    readonly_fields = ("audit_history",)


class DepositInterestRateAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("start_date", "annual_percent", "note")
    readonly_fields = ("audit_history",)


class DepositAdmin(AuditHistoryMixin, ReadOnly):
    list_display = ("id", "account", "deposit_class", "status", "trigger", "required_on", "amount", "held_amount", "waiver")
    list_filter = ("status", "trigger", "deposit_class")
    readonly_fields = ("audit_history",)


class DepositInstalmentAdmin(ReadOnly):
    list_display = ("deposit", "number", "amount", "status", "billed_on", "paid")


class DepositEntryAdmin(ReadOnly):
    list_display = ("id", "deposit", "account", "kind", "amount", "effective_date", "description", "actor")
    list_filter = ("kind",)


class DepositInterestAdmin(ReadOnly):
    list_display = ("deposit", "period_start", "period_end", "amount", "credited_to")


class DepositRefundAdmin(AuditHistoryMixin, ReadOnly):
    list_display = ("id", "deposit", "method", "status", "amount", "payee", "cheque_number", "paid_on")
    list_filter = ("method", "status")
    readonly_fields = ("audit_history",)


class DepositRecommendationAdmin(ReadOnly):
    list_display = ("id", "account", "action", "trigger", "amount", "status", "recommended_on", "decided_on")
    list_filter = ("action", "status")


def register() -> None:
    for model, model_admin in ((DepositClass, DepositClassAdmin), (DepositInterestRate, DepositInterestRateAdmin),
                               (Deposit, DepositAdmin), (DepositInstalment, DepositInstalmentAdmin),
                               (DepositEntry, DepositEntryAdmin), (DepositInterest, DepositInterestAdmin),
                               (DepositRefund, DepositRefundAdmin), (DepositRecommendation, DepositRecommendationAdmin)):
        if not admin.site.is_registered(model):
            admin.site.register(model, model_admin)
