"""Payments in the Django admin: the allocation priorities and the payment settings (returned
payment fee, credit-rating window) are configuration billing staff edit; payments, returns,
fees and allocations are append-only money rows, shown read-only (post and return payments
through the account page or the API, which go through billing.payments.services).

Registered from billing.payments.panels.register() (BillingConfig.ready): Django's admin
autodiscovery reads only billing/admin.py."""
from __future__ import annotations

from django.contrib import admin

from billing.payments.models import (
    Allocation,
    CardCharge,
    CardRefund,
    AllocationPriority,
    Fee,
    Payment,
    PaymentReturn,
    PaymentSettings,
    RemittanceFile,
    RemittanceItem,
)
from core.admin import AuditHistoryMixin


class AllocationPriorityAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("kind", "rank")
    list_editable = ("rank",)
    readonly_fields = ("audit_history",)


class PaymentSettingsAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("__str__", "returned_payment_fee", "credit_rating_months")
    readonly_fields = ("audit_history",)

    def has_add_permission(self, request):
        return not PaymentSettings.objects.exists()  # one row

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_change_permission(self, request, obj=None):
        return False  # append-only: return or reverse the payment instead

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("receipt_number", "account_id", "channel", "tender_type", "amount", "received_date",
                    "external_reference", "actor")
    list_filter = ("channel", "tender_type")
    search_fields = ("=receipt_number", "=account_id", "external_reference")


class PaymentReturnAdmin(ReadOnlyAdmin):
    list_display = ("payment", "kind", "return_date", "reason", "actor")
    list_filter = ("kind",)


class FeeAdmin(ReadOnlyAdmin):
    list_display = ("account_id", "kind", "amount", "created_at")


class AllocationAdmin(ReadOnlyAdmin):
    list_display = ("account_id", "credit_id", "charge_id", "amount", "allocated_date", "reason")
    search_fields = ("=account_id",)


class RemittanceFileAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "format", "imported_at", "actor", "posted", "suspense", "duplicates", "rejected")


class RemittanceItemAdmin(ReadOnlyAdmin):
    list_display = ("file", "line_number", "status", "account_number", "amount", "item_reference", "message")
    list_filter = ("status",)


class CardChargeAdmin(ReadOnlyAdmin):
    list_display = ("reference", "account_id", "amount", "status", "brand", "last4", "transaction_id", "created_at")
    list_filter = ("status", "gateway")
    search_fields = ("=reference", "=transaction_id", "=account_id")
    exclude = ("token",)  # the gateway's token is not for reading off a screen


class CardRefundAdmin(ReadOnlyAdmin):
    list_display = ("refund_id", "card_charge", "amount", "reason", "created_at")
    search_fields = ("=refund_id",)


def register(site: admin.AdminSite = admin.site) -> None:
    for model, model_admin in ((AllocationPriority, AllocationPriorityAdmin), (PaymentSettings, PaymentSettingsAdmin),
                               (CardCharge, CardChargeAdmin), (CardRefund, CardRefundAdmin),
                               (Payment, PaymentAdmin), (PaymentReturn, PaymentReturnAdmin), (Fee, FeeAdmin),
                               (Allocation, AllocationAdmin), (RemittanceFile, RemittanceFileAdmin),
                               (RemittanceItem, RemittanceItemAdmin)):
        if not site.is_registered(model):
            site.register(model, model_admin)
