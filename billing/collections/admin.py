"""Collections in the Django admin: dunning plans with their steps, protection rules and
extreme weather days are configuration billing staff edit (audited); cases, actions and skips
are the run's records, read-only. Registered from billing.collections.panels.register()."""
from __future__ import annotations

from django.contrib import admin

from billing.collections.models import (
    AccountProtection,
    CollectionAction,
    CollectionCase,
    CollectionRun,
    DunningPlan,
    DunningStep,
    ExtremeWeatherDay,
    ProtectionRule,
)
from core.admin import AuditHistoryMixin, ReadOnlyAdmin


class DunningStepInline(admin.TabularInline):
    model = DunningStep
    extra = 0
    fields = ("sequence", "kind", "delay_days", "min_overdue", "notice_days")


class DunningPlanAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "name", "customer_class", "active", "late_charge_percent")
    inlines = [DunningStepInline]
    readonly_fields = ("audit_history",)


class ProtectionRuleAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "kind", "applies_to", "customer_class", "jurisdiction", "active")
    list_filter = ("kind", "active", "jurisdiction")
    readonly_fields = ("audit_history",)


class ExtremeWeatherDayAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("date", "area", "reason", "declared_by")
    readonly_fields = ("audit_history", "declared_by")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.declared_by = request.user
        super().save_model(request, obj, form, change)


class CollectionCaseAdmin(ReadOnlyAdmin):
    list_display = ("account", "status", "customer_class", "opened_on", "oldest_due_date", "overdue_amount",
                    "last_step", "held_by")
    list_filter = ("status", "last_step", "customer_class")


class CollectionActionAdmin(ReadOnlyAdmin):
    list_display = ("account", "kind", "action_date", "overdue_amount", "order_number", "email_sent_at")
    list_filter = ("kind",)


def register() -> None:
    for model, model_admin in ((DunningPlan, DunningPlanAdmin), (ProtectionRule, ProtectionRuleAdmin),
                               (ExtremeWeatherDay, ExtremeWeatherDayAdmin), (CollectionCase, CollectionCaseAdmin),
                               (CollectionAction, CollectionActionAdmin), (CollectionRun, ReadOnlyAdmin),
                               (AccountProtection, ReadOnlyAdmin)):
        if not admin.site.is_registered(model):
            admin.site.register(model, model_admin)
