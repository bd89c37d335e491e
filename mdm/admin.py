"""Django admin for meters, channels, installations and the import runs.

Interval data is not edited here (a channel-day is arrays, and every change must keep its
prior version): VEE and the Meter Hub write it through mdm.services. Import runs and their
quarantine are read-only apart from the discard action."""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from mdm import importing
from mdm.models import (
    BilledThrough,
    Channel,
    ChannelMultiplier,
    ImportRun,
    Installation,
    Meter,
    QuarantinedRecord,
    RegisterRead,
    ReplacementReadNotice,
    VirtualMeter,
)


class ChannelInline(admin.TabularInline):
    model = Channel
    extra = 0
    fields = ["channel_number", "unit", "direction", "interval_minutes", "dials"]


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
    list_display = ["serial_number", "kind", "manufacturer", "model", "ami_capable", "status"]
    list_filter = ["kind", "status", "ami_capable"]
    search_fields = ["=serial_number", "serial_number__istartswith"]
    show_full_result_count = False
    inlines = [ChannelInline]


class MultiplierInline(admin.TabularInline):
    model = ChannelMultiplier
    extra = 0


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["__str__", "unit", "direction", "interval_minutes"]
    list_filter = ["unit", "direction", "interval_minutes"]
    search_fields = ["meter__serial_number__istartswith"]
    autocomplete_fields = ["meter"]
    show_full_result_count = False
    inlines = [MultiplierInline]


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    list_display = ["meter", "service_point_id", "commodity", "installed_at", "removed_at", "install_read", "removal_read"]
    list_filter = ["commodity"]
    search_fields = ["meter__serial_number__istartswith", "=service_point_id"]
    autocomplete_fields = ["meter"]
    show_full_result_count = False


@admin.register(VirtualMeter)
class VirtualMeterAdmin(admin.ModelAdmin):
    list_display = ["service_point_id", "name"]
    search_fields = ["=service_point_id", "name"]


class QuarantineInline(admin.TabularInline):
    model = QuarantinedRecord
    fk_name = "import_run"
    extra = 0
    can_delete = False
    fields = ("line", "field", "message", "raw", "status")
    readonly_fields = fields
    max_num = 0


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "file_name", "format", "status", "records", "intervals_loaded", "intervals_unchanged",
                    "intervals_corrected", "quarantined", "created_at"]
    list_filter = ["status", "format"]
    search_fields = ["file_name", "=sha256"]
    show_full_result_count = False
    inlines = [QuarantineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(admin.ModelAdmin):
    list_display = ["file_name", "line", "field", "message", "status", "resolved_at"]
    list_filter = ["status", "field"]
    search_fields = ["file_name", "raw"]
    readonly_fields = ["import_run", "file_name", "line", "field", "message", "raw", "fixed_raw", "resubmit_run",
                       "resolved_by", "resolved_at", "status"]
    show_full_result_count = False
    actions = ["discard"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Discard the selected open records")
    def discard(self, request, queryset):
        now = timezone.now()
        done = 0
        for record in queryset.filter(status=QuarantinedRecord.Status.OPEN):
            importing.quarantine_record_discard(record=record, now=now, user=request.user)
            done += 1
        messages.success(request, f"{done} record(s) discarded.")


@admin.register(ReplacementReadNotice)
class ReplacementReadNoticeAdmin(admin.ModelAdmin):
    list_display = ["service_point_id", "channel", "period_start", "period_end", "created_at", "picked_up_at"]
    list_filter = ["picked_up_at"]
    readonly_fields = ["service_point_id", "channel", "period_start", "period_end", "reason", "import_run", "created_at"]


@admin.register(BilledThrough)
class BilledThroughAdmin(admin.ModelAdmin):
    list_display = ["service_point_id", "billed_through_date", "updated_at"]
    search_fields = ["=service_point_id"]


@admin.register(RegisterRead)
class RegisterReadAdmin(admin.ModelAdmin):
    """Where metering staff correct a stored register read (a changed read in a later file is
    quarantined, never overwritten silently)."""

    list_display = ["channel", "read_at", "value", "read_type", "import_run"]
    list_filter = ["read_type"]
    search_fields = ["channel__meter__serial_number__istartswith"]
    autocomplete_fields = ["channel"]
    readonly_fields = ["import_run"]
    show_full_result_count = False


# ---- VEE configuration and runs ----------------------------------------------------------------

from django import forms  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from mdm.models import VeeFinding, VeeRuleSet, VeeRuleSetAssignment, VeeRun, VeeWorklistItem  # noqa: E402
from mdm.vee_config import RuleSetConfigError, rule_set_from_json  # noqa: E402


class VeeRuleSetForm(forms.ModelForm):
    class Meta:
        model = VeeRuleSet
        fields = ["name", "description", "rules"]

    def clean_rules(self):
        # Refuse what VEE could not run: a typo must not silently switch a rule off.
        rules = self.cleaned_data["rules"]
        try:
            rule_set_from_json(self.cleaned_data.get("name") or "rule set", rules)
        except RuleSetConfigError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return rules


class AssignmentInline(admin.TabularInline):
    model = VeeRuleSetAssignment
    extra = 0
    fields = ["scope", "scope_value", "priority", "start_date", "end_date"]


@admin.register(VeeRuleSet)
class VeeRuleSetAdmin(admin.ModelAdmin):
    form = VeeRuleSetForm
    list_display = ["name", "version", "updated_at"]
    readonly_fields = ["version"]
    inlines = [AssignmentInline]

    def save_model(self, request, obj, form, change):
        # A new version changes the configuration fingerprint, so a later VEE run is a new run.
        if change and "rules" in form.changed_data:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(VeeRuleSetAssignment)
class VeeRuleSetAssignmentAdmin(admin.ModelAdmin):
    list_display = ["rule_set", "scope", "scope_value", "priority", "start_date", "end_date"]
    list_filter = ["scope", "rule_set"]


@admin.register(VeeRun)
class VeeRunAdmin(admin.ModelAdmin):
    list_display = ["id", "scope", "start_date", "end_date", "status", "progress", "channel_days_validated",
                    "channel_days_changed", "intervals_estimated", "findings_count", "worklist_items", "created_at"]
    list_filter = ["status"]
    exclude = ["channel_ids"]
    readonly_fields = [f.name for f in VeeRun._meta.fields if f.name != "channel_ids"]

    @admin.display(description="Progress")
    def progress(self, obj):
        # Polled live by static/js/run-progress.js, like the Meter Hub's VEE runs page.
        from django.urls import reverse

        return format_html(
            '<span data-progress-url="{}" data-status="{}"><progress max="{}" value="{}" data-field="bar"></progress> '
            '<span data-field="counts">{}/{}</span></span>',
            reverse("mdm:vee-run-progress", args=[obj.pk]), obj.status, obj.progress_total or 1, obj.progress_done,
            obj.progress_done, obj.progress_total,
        )

    class Media:
        js = ["js/run-progress.js"]

    def has_add_permission(self, request):
        return False  # runs start from the Meter Hub, the command or an import


@admin.register(VeeWorklistItem)
class VeeWorklistItemAdmin(admin.ModelAdmin):
    list_display = ["channel", "local_date", "rule", "message", "status", "resolved_by", "resolved_at"]
    list_filter = ["status", "rule"]
    readonly_fields = ["channel", "local_date", "rule", "message", "slots", "vee_run", "created_at", "resolved_by",
                       "resolved_at", "status", "reason"]

    def has_add_permission(self, request):
        return False  # items come from VEE; they are worked in the Meter Hub worklist


@admin.register(VeeFinding)
class VeeFindingAdmin(admin.ModelAdmin):
    list_display = ["vee_run", "channel", "local_date", "rule", "message"]
    list_filter = ["rule"]
    readonly_fields = ["vee_run", "channel", "local_date", "rule", "slots", "message"]

    def has_add_permission(self, request):
        return False
