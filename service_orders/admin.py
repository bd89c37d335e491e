"""Django admin for service orders. Orders hold cis ids, not foreign keys (apps meet through
services and selectors), so the list shows the ids and search matches them exactly."""
from __future__ import annotations

import re

import pghistory
from django.contrib import admin
from django.db.models import Q

from core.admin import AuditHistoryMixin
from service_orders.models import ServiceOrder


@admin.register(ServiceOrder)
class ServiceOrderAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = (
        "order_number", "order_type", "status", "due_date", "account_id", "service_point_id",
        "source", "created_by", "created_at", "completed_at",
    )
    list_filter = ("status", "order_type")
    list_select_related = ("created_by",)
    search_fields = ("order_number", "source")
    search_help_text = "Order number (prefix), source (e.g. 'cis.move:42'), or an account / service point id."
    date_hierarchy = "due_date"
    show_full_result_count = False
    raw_id_fields = ("created_by",)
    readonly_fields = (
        "order_number", "source", "account_id", "service_point_id", "created_by", "created_at", "audit_history",
    )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        q = Q(order_number__istartswith=term) | Q(source__startswith=term)
        if re.fullmatch(r"\d+", term):
            q |= Q(account_id=int(term)) | Q(service_point_id=int(term))
        return queryset.filter(q), False

    def has_add_permission(self, request):
        # Orders are raised through service_orders.services (moves, rules), which number them
        # and keep one order per source; the admin edits status, dates and reasons.
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the field history of an order is kept; cancel it instead

    def save_model(self, request, obj, form, change):
        with pghistory.context(reason="admin"):
            super().save_model(request, obj, form, change)
