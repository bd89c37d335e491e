"""Billing admin: cycles and windows (with "Start bill run"), rate schedules and versions,
runs with their progress and resume/approve/issue actions, bills, pre-bill rules and
exceptions, and the ledger (read-only: it is append-only). Every action calls a service."""
from __future__ import annotations

from core.actors import Actor
from core.clock import utility_today
from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from billing.services import prebill, runs
from billing.models import (
    AdjustmentRequest,
    Bill,
    BillCycle,
    BillException,
    BillLine,
    BillRun,
    BillRunChunk,
    BillSegment,
    BillTemplate,
    BillWindow,
    LedgerEntry,
    PreBillRule,
    RateSchedule,
    RateVersion,
)
from core.admin import AuditHistoryMixin


def _start(modeladmin, request, pairs) -> None:
    now = timezone.now()
    for cycle, bill_date in pairs:
        try:
            run = runs.bill_run_start(cycle=cycle, bill_date=bill_date, user=request.user, now=now)
        except runs.BillRunError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            continue
        modeladmin.message_user(request, f"Run {run.pk} for {cycle.code} on {bill_date}: {run.total_accounts} accounts, "
                                         f"{run.get_status_display().lower()}.", messages.SUCCESS)


class BillWindowInline(admin.TabularInline):
    model = BillWindow
    extra = 0
    fields = ("period_end_date", "read_window_start", "read_window_end", "bill_date", "due_days")


@admin.register(BillCycle)
class BillCycleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")
    inlines = [BillWindowInline]
    actions = ["start_bill_run"]

    @admin.action(description="Start bill run (the latest window whose read window has closed)")
    def start_bill_run(self, request, queryset):
        today = utility_today()
        pairs = []
        for cycle in queryset:
            closed = [w for w in cycle.windows.filter(period_end_date__lte=today).order_by("-bill_date")
                      if not runs.window_is_open(w, today=today)]
            window = closed[0] if closed else None
            if window is None:
                self.message_user(request, f"{cycle.code} has no window whose reads are in by {today} (an earlier "
                                           "start needs an override reason: use the Billing Hub's start form).",
                                  messages.WARNING)
                continue
            pairs.append((cycle, window.bill_date))
        _start(self, request, pairs)


@admin.register(BillWindow)
class BillWindowAdmin(admin.ModelAdmin):
    list_display = ("cycle", "period_end_date", "read_window_start", "read_window_end", "bill_date", "due_days")
    list_filter = ("cycle",)
    date_hierarchy = "bill_date"
    actions = ["start_bill_run"]

    @admin.action(description="Start bill run (read window closed; otherwise the hub's start form with a reason)")
    def start_bill_run(self, request, queryset):
        _start(self, request, [(w.cycle, w.bill_date) for w in queryset.select_related("cycle")])


class RateVersionInline(admin.StackedInline):
    model = RateVersion
    extra = 0
    fields = ("start_date", "end_date", "components", "notes")


@admin.register(RateSchedule)
class RateScheduleAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("code", "name", "commodity", "rate_class", "source")
    list_filter = ("commodity", "source")
    search_fields = ("code", "name")
    inlines = [RateVersionInline]
    readonly_fields = ("audit_history",)


@admin.register(RateVersion)
class RateVersionAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("schedule", "start_date", "end_date")
    list_filter = ("schedule",)
    readonly_fields = ("audit_history",)


class BillRunChunkInline(admin.TabularInline):
    model = BillRunChunk
    extra = 0
    fields = ("number", "status", "finished_at", "error")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BillRun)
class BillRunAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("id", "cycle", "bill_date", "status", "progress", "bills_created", "exceptions", "errors",
                    "started_at", "finished_at")
    list_filter = ("status", "cycle")
    readonly_fields = ("cycle", "bill_date", "period_end_date", "due_date", "status", "override_reason",
                       "idempotency_key",
                       "total_accounts", "done_accounts", "chunks_total", "bills_created", "exceptions", "errors",
                       "chunk_size", "timings", "error", "started_by", "created_at", "started_at", "progress_at",
                       "finished_at", "approved_by", "approved_at", "issued_by", "issued_at", "progress",
                       "audit_history")
    # Every stored field is shown read-only above (counters under their account names).
    exclude = ("progress_total", "progress_done")
    inlines = [BillRunChunkInline]
    actions = ["resume", "approve", "issue"]

    def has_add_permission(self, request):
        return False  # runs start from a cycle or window ("Start bill run"), with their key

    @admin.display(description="Progress")
    def progress(self, obj: BillRun) -> str:
        return format_html('<progress max="100" value="{}"></progress> {} / {} ({}%)', obj.progress_percent,
                           obj.done_accounts, obj.total_accounts, obj.progress_percent)

    def _each(self, request, queryset, call, done: str):
        for run in queryset:
            try:
                call(run)
            except runs.BillRunError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Run {run.pk}: {done}.", messages.SUCCESS)

    @admin.action(description="Resume (queue chunks not done)")
    def resume(self, request, queryset):
        self._each(request, queryset, lambda r: runs.bill_run_resume(bill_run_id=r.pk), "chunks queued again")

    @admin.action(description="Approve drafts")
    def approve(self, request, queryset):
        # More than one chunk: approved / issued by the billing workers, chunk by chunk.
        self._each(request, queryset, lambda r: runs.bill_run_approve(
            bill_run_id=r.pk, actor=Actor.of(request.user), enqueue=r.chunks_total > 1), "approved")

    @admin.action(description="Issue approved bills")
    def issue(self, request, queryset):
        now = timezone.now()
        self._each(request, queryset, lambda r: runs.bill_run_issue(
            bill_run_id=r.pk, now=now, actor=Actor.of(request.user), enqueue=r.chunks_total > 1), "issued")


class BillLineInline(admin.TabularInline):
    model = BillLine
    extra = 0
    can_delete = False
    fields = ("sequence", "description", "quantity", "unit", "price", "tier", "tou_period", "proration", "amount")
    readonly_fields = fields


@admin.register(BillSegment)
class BillSegmentAdmin(admin.ModelAdmin):
    list_display = ("id", "bill", "agreement_id", "rate_code", "period_start", "period_end", "subtotal", "live")
    readonly_fields = [f.name for f in BillSegment._meta.fields]
    inlines = [BillLineInline]


class BillSegmentInline(admin.TabularInline):
    model = BillSegment
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("account_id", "agreement_id", "rate_code", "period_start", "period_end", "subtotal", "live")
    readonly_fields = fields


class BillExceptionInline(admin.TabularInline):
    model = BillException
    extra = 0
    can_delete = False
    fields = ("rule", "message", "status", "resolved_by", "resolved_at")
    readonly_fields = fields


@admin.register(Bill)
class BillAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("__str__", "account_id", "kind", "status", "period_start", "period_end", "bill_date", "total",
                    "amount_due")
    list_filter = ("status", "kind")
    search_fields = ("bill_number", "=account_id")
    readonly_fields = [f.name for f in Bill._meta.fields] + ["audit_history"]
    inlines = [BillSegmentInline, BillExceptionInline]


class PreBillRuleForm(forms.ModelForm):
    """A rule's params are checked by the rule's own registry entry when staff save it, not
    first at the next bill run."""

    class Meta:
        model = PreBillRule
        fields = ("kind", "active", "params")

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind:
            try:
                prebill.prebill_rule_check(kind, data.get("params") or {})
            except prebill.PreBillConfigError as exc:
                raise forms.ValidationError({"params": str(exc)}) from exc
        return data


@admin.register(PreBillRule)
class PreBillRuleAdmin(AuditHistoryMixin, admin.ModelAdmin):
    form = PreBillRuleForm
    readonly_fields = ("audit_history",)
    list_display = ("kind", "active", "params")
    list_editable = ("active",)


@admin.register(BillException)
class BillExceptionAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("id", "bill", "rule", "status", "message", "created_at")
    list_filter = ("status", "rule")
    readonly_fields = ("bill", "rule", "message", "status", "resolved_by", "resolved_at", "audit_history")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ("account_id", "kind", "amount", "effective_date", "description", "posted_at")
    list_filter = ("kind",)
    search_fields = ("=account_id", "payment_reference")

    def has_change_permission(self, request, obj=None):
        return False  # append-only: post a reversal or an adjustment instead

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """Read-only: a request is asked for from the account page and decided in the Billing Hub
    (Adjustments awaiting approval), where the maker-checker rules are applied."""

    list_display = ("id", "account", "amount", "effective_date", "status", "requested_by", "requested_at",
                    "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("=account__account_number", "reason")
    readonly_fields = [f.name for f in AdjustmentRequest._meta.fields] + ["audit_history"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(BillTemplate)
class BillTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "updated_at")
