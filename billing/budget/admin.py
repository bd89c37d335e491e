"""Equal payment plans in the Django admin: plan types are configuration billing staff edit
(validated by the model's clean, audited); plans, deferrals, reviews and settlements are
shown read-only (enrol and leave through the account page, which goes through the services).
Registered from billing.budget.panels.register()."""
from __future__ import annotations

from django.contrib import admin

from billing.budget.models import BudgetDeferral, BudgetPlan, BudgetPlanType, BudgetReview, BudgetSettlement
from core.admin import AuditHistoryMixin
from core.admin import ReadOnlyAdmin as ReadOnly


class BudgetPlanTypeAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "name", "active", "basis", "lookback_months", "uplift_percent", "review_months",
                    "variance_percent", "settlement", "min_refund")
    readonly_fields = ("audit_history",)


class BudgetPlanAdmin(AuditHistoryMixin, ReadOnly):
    list_display = ("id", "account", "plan_type", "status", "start_date", "monthly_amount", "months_billed", "ended_on")
    list_filter = ("status", "plan_type")
    readonly_fields = ("audit_history",)


class BudgetDeferralAdmin(ReadOnly):
    list_display = ("id", "account", "plan", "kind", "amount", "effective_date", "description")
    list_filter = ("kind",)


class BudgetReviewAdmin(ReadOnly):
    list_display = ("plan", "month", "actual_to_date", "plan_to_date", "variance_percent", "old_amount", "new_amount",
                    "resized")


class BudgetSettlementAdmin(ReadOnly):
    list_display = ("plan", "kind", "settled_on", "balance", "refund_due")


def register() -> None:
    for model, model_admin in ((BudgetPlanType, BudgetPlanTypeAdmin), (BudgetPlan, BudgetPlanAdmin),
                               (BudgetDeferral, BudgetDeferralAdmin), (BudgetReview, BudgetReviewAdmin),
                               (BudgetSettlement, BudgetSettlementAdmin)):
        if not admin.site.is_registered(model):
            admin.site.register(model, model_admin)
