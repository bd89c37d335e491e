"""Django admin for the customer & premise core.

Tables here grow past 100k rows, so: every foreign key is an autocomplete (never a dropdown),
search goes through the derived, indexed search columns (normalised name and address,
phone digits, compact id number) instead of Django's default `icontains` over many columns,
and change lists skip the full-table count. Moves are made by the CSR wizard and the due-move
task; here they are read-only apart from the two actions."""
from __future__ import annotations

import copy
import re

import pghistory
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Q

from cis import services
from cis.models import (
    Account,
    Complaint,
    Contact,
    Customer,
    Move,
    MoveRequest,
    Note,
    Premise,
    ServiceAgreement,
    ServicePoint,
    normalise_text,
    phone_digits,
)
from core import clock as core_clock
from core import privacy
from core.admin import AuditHistoryMixin, ReadOnlyAdmin


def _name_q(term: str, prefix: str = "") -> Q:
    """Name match on the trigram-indexed, accent-free search column."""
    return Q(**{f"{prefix}search_name__contains": normalise_text(term)})


def _customer_q(term: str, prefix: str = "", *, ids: bool = True) -> Q:
    """`ids=False` for a user who may not read ID numbers (core.privacy): a match would confirm
    a guessed number."""
    q = Q(**{f"{prefix}customer_number__istartswith": term}) | _name_q(term, prefix)
    if "@" in term:
        q |= Q(**{f"{prefix}email__startswith": term.lower()})
    digits = phone_digits(term)
    if len(digits) >= 4 and re.fullmatch(r"[\d\s()+.-]+", term):
        q |= Q(**{f"{prefix}phone_search__contains": digits})
    ident = re.sub(r"[\s-]", "", term).upper()
    if ids and len(ident) >= 4:
        q |= Q(**{f"{prefix}id_number_search": ident})
    return q


def _audit_history_without_personal(model_admin, obj, model_label: str) -> str:
    """The audit history with the model's personal-data columns (core.privacy) left out."""
    view = copy.copy(model_admin)
    view.audit_hidden_fields = model_admin.audit_hidden_fields | frozenset(privacy.personal_fields(model_label))
    return AuditHistoryMixin.audit_history(view, obj)


class AuditedAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """Saves and deletes made here carry reason 'admin' in the audit trail; the pghistory
    middleware already records the user and URL."""

    show_full_result_count = False
    list_per_page = 50

    def get_search_results(self, request, queryset, search_term):
        # A subclass with `search_q(term) -> Q` searches its indexed columns with it; the
        # autocomplete widgets of other admins use the same method.
        search_q = getattr(self, "search_q", None)
        term = search_term.strip()
        if search_q is None or not term:
            return super().get_search_results(request, queryset, search_term)
        if getattr(self, "search_q_matches_ids", False):
            return queryset.filter(search_q(term, ids=privacy.may_read(request.user, privacy.PersonalData.GOVERNMENT_ID))), False
        return queryset.filter(search_q(term)), False

    def save_model(self, request, obj, form, change):
        with pghistory.context(reason="admin"):
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with pghistory.context(reason="admin"):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with pghistory.context(reason="admin"):
            super().delete_queryset(request, queryset)


@admin.register(Customer)
class CustomerAdmin(AuditedAdmin):
    list_display = ("customer_number", "display_name", "kind", "email", "phone", "preferred_language", "created_at")
    list_filter = ("kind", "preferred_language", "preferred_contact_method", "id_type")
    search_fields = ("customer_number", "search_name", "email", "phone_search", "id_number_search")
    search_help_text = "Customer number, name (accents ignored), email, phone or ID number."
    raw_id_fields = ("portal_user",)
    readonly_fields = (
        "customer_number", "display_name", "search_name", "phone_search", "id_number_search",
        "created_at", "updated_at", "audit_history",
    )
    fieldsets = (
        (None, {"fields": ("customer_number", "kind", "first_name", "last_name", "organisation_name", "display_name")}),
        ("Identification", {"fields": ("id_type", "id_number")}),
        ("Contact", {"fields": ("phone", "phone_alt", "email", "preferred_language", "preferred_contact_method", "portal_user")}),
        ("Mailing address", {"fields": (
            "mailing_address_line1", "mailing_address_line2", "mailing_city", "mailing_region",
            "mailing_postal_code", "mailing_country",
        )}),
        ("Derived search keys", {"classes": ("collapse",), "fields": ("search_name", "phone_search", "id_number_search")}),
        ("History", {"fields": ("created_at", "updated_at", "audit_history")}),
    )

    search_q_matches_ids = True

    def search_q(self, term: str, *, ids: bool = True) -> Q:
        return _customer_q(term, ids=ids)

    # A staff user who may not read ID numbers (core.privacy) sees the number masked, cannot
    # change it, and the audit history leaves the ID columns out.
    _MASKED_SWAPS = {"id_number": "masked_id_number", "audit_history": "audit_history_without_ids"}

    def _masked(self, request) -> frozenset[str]:
        return privacy.masked_fields(request.user, "cis.Customer")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        hidden = self._masked(request)
        if not hidden:
            return fieldsets
        return [
            (name, {**options, "fields": tuple(
                self._MASKED_SWAPS.get(f, f) for f in options["fields"] if f not in hidden or f in self._MASKED_SWAPS
            )})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        hidden = self._masked(request)
        if not hidden:
            return readonly
        return tuple(f for f in readonly if f not in hidden) + tuple(self._MASKED_SWAPS.values())

    @admin.display(description="ID number")
    def masked_id_number(self, obj) -> str:
        return privacy.mask(obj.id_number) or "—"

    @admin.display(description="Audit history")
    def audit_history_without_ids(self, obj) -> str:
        return _audit_history_without_personal(self, obj, "cis.Customer")

    def save_model(self, request, obj, form, change):
        if not obj.customer_number:
            obj.customer_number = services.next_customer_number()
        super().save_model(request, obj, form, change)


class AgreementInline(admin.TabularInline):
    """The account's agreements at a glance; they are changed on their own page or by a move."""

    model = ServiceAgreement
    fields = ("agreement_number", "service_point", "rate_code", "start_date", "end_date")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ("-start_date",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("service_point")


@admin.register(Account)
class AccountAdmin(AuditedAdmin):
    list_display = ("account_number", "customer", "status", "bill_cycle_code", "opened_date", "closed_date", "parent")
    list_filter = ("status", "bill_cycle_code")
    list_select_related = ("customer", "parent")
    search_fields = ("account_number", "customer__search_name", "customer__customer_number")
    search_help_text = "Account number (prefix), customer name or number, phone, email or ID number."
    autocomplete_fields = ("customer", "parent")
    date_hierarchy = "opened_date"
    readonly_fields = ("account_number", "created_at", "updated_at", "audit_history")
    inlines = (AgreementInline,)
    fieldsets = (
        (None, {"fields": ("account_number", "customer", "status", "parent", "bill_cycle_code", "opened_date", "closed_date")}),
        ("Billing address", {"fields": (
            "billing_address_line1", "billing_address_line2", "billing_city", "billing_region",
            "billing_postal_code", "billing_country",
        )}),
        ("History", {"fields": ("created_at", "updated_at", "audit_history")}),
    )

    search_q_matches_ids = True

    def search_q(self, term: str, *, ids: bool = True) -> Q:
        return Q(account_number__startswith=re.sub(r"\s", "", term)) | _customer_q(term, prefix="customer__", ids=ids)

    def save_model(self, request, obj, form, change):
        if not obj.account_number:
            obj.account_number = services.next_account_number()
        super().save_model(request, obj, form, change)


class ServicePointInline(admin.TabularInline):
    model = ServicePoint
    fields = ("sp_number", "commodity", "status", "route", "read_sequence", "rate_class")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


@admin.register(Premise)
class PremiseAdmin(AuditedAdmin):
    list_display = ("premise_number", "address_line1", "address_line2", "city", "postal_code", "premise_type", "parent")
    list_filter = ("premise_type", "region")
    list_select_related = ("parent",)
    search_fields = ("premise_number", "search_address")
    search_help_text = "Premise number or address (e.g. '12 maple'); accents ignored."
    autocomplete_fields = ("parent",)
    readonly_fields = ("premise_number", "search_address", "created_at", "updated_at", "audit_history")
    inlines = (ServicePointInline,)
    fieldsets = (
        (None, {"fields": ("premise_number", "premise_type", "parent", "meter_chamber")}),
        ("Address", {"fields": ("address_line1", "address_line2", "city", "region", "postal_code", "country", "search_address")}),
        ("Location", {"fields": ("latitude", "longitude")}),
        ("History", {"fields": ("created_at", "updated_at", "audit_history")}),
    )

    def search_q(self, term: str) -> Q:
        return Q(premise_number__istartswith=term) | Q(search_address__contains=normalise_text(term))

    def save_model(self, request, obj, form, change):
        if not obj.premise_number:
            obj.premise_number = services.next_premise_number()
        super().save_model(request, obj, form, change)


@admin.register(ServicePoint)
class ServicePointAdmin(AuditedAdmin):
    list_display = ("sp_number", "premise", "commodity", "status", "route", "read_sequence", "rate_class")
    list_filter = ("commodity", "status", "rate_class")
    list_select_related = ("premise",)
    search_fields = ("sp_number", "premise__search_address", "route")
    search_help_text = "Service point number, premise address, or read route."
    autocomplete_fields = ("premise",)
    readonly_fields = ("sp_number", "created_at", "updated_at", "audit_history")

    def search_q(self, term: str) -> Q:
        return (
            Q(sp_number__istartswith=term)
            | Q(route__iexact=term)
            | Q(premise__search_address__contains=normalise_text(term))
        )

    def save_model(self, request, obj, form, change):
        if not obj.sp_number:
            obj.sp_number = services.next_service_point_number()
        super().save_model(request, obj, form, change)


@admin.register(ServiceAgreement)
class ServiceAgreementAdmin(AuditedAdmin):
    list_display = ("agreement_number", "account", "service_point", "rate_code", "start_date", "end_date")
    list_filter = ("service_point__commodity", ("end_date", admin.EmptyFieldListFilter), "rate_code")
    list_select_related = ("account", "service_point")
    search_fields = ("agreement_number", "account__account_number", "service_point__sp_number")
    search_help_text = "Agreement, account or service point number (prefix), or customer name."
    autocomplete_fields = ("account", "service_point")
    date_hierarchy = "start_date"
    readonly_fields = ("agreement_number", "created_at", "updated_at", "audit_history")

    def search_q(self, term: str) -> Q:
        compact = re.sub(r"\s", "", term)
        return (
            Q(agreement_number__istartswith=compact)
            | Q(account__account_number__startswith=compact)
            | Q(service_point__sp_number__istartswith=compact)
            | _name_q(term, prefix="account__customer__")
        )

    def save_model(self, request, obj, form, change):
        if not obj.agreement_number:
            obj.agreement_number = services.next_agreement_number()
        super().save_model(request, obj, form, change)


def _local_today():
    # The admin is a caller: it owns reading the clock, in the utility's own time zone.
    return core_clock.utility_today()


@admin.register(Move)
class MoveAdmin(admin.ModelAdmin):
    list_display = (
        "id", "kind", "status", "effective_date", "account", "service_point", "rate_code",
        "requested_by", "requested_at", "completed_at",
    )
    list_filter = ("status", "kind")
    list_select_related = ("account", "service_point", "requested_by")
    search_fields = ("account__account_number", "service_point__sp_number")
    search_help_text = "Account or service point number (prefix), or customer name."
    date_hierarchy = "effective_date"
    show_full_result_count = False
    actions = ("apply_due_moves_now", "cancel_selected_pending_moves")
    # Applying a move changes agreements, accounts and read orders together: only the
    # services do that, so every field here is read-only.
    readonly_fields = (
        "kind", "status", "account", "service_point", "effective_date", "rate_code", "agreement",
        "outcome", "requested_by", "requested_at", "completed_at",
    )
    # Acts on every due move, so it runs without a selection too.
    actions_without_selection = frozenset({"apply_due_moves_now"})

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        compact = re.sub(r"\s", "", term)
        return queryset.filter(
            Q(account__account_number__startswith=compact)
            | Q(service_point__sp_number__istartswith=compact)
            | _name_q(term, prefix="account__customer__")
        ), False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if (
            request.method == "POST"
            and request.POST.get("action") in self.actions_without_selection
            and not request.POST.getlist(ACTION_CHECKBOX_NAME)
        ):
            # Django refuses actions with nothing ticked; "select across" (every row of the
            # list) plus a placeholder tick gets past that, and this action ignores rows anyway.
            post = request.POST.copy()
            post["select_across"] = "1"
            post.setlist(ACTION_CHECKBOX_NAME, ["all"])
            request.POST = post
        return super().changelist_view(request, extra_context)

    @admin.action(description="Apply due moves now (all pending moves dated today or earlier)", permissions=["change"])
    def apply_due_moves_now(self, request, queryset):
        today = _local_today()
        applied = services.moves_apply_due(today=today, user=request.user)
        still_due = Move.objects.filter(status=Move.Status.PENDING, effective_date__lte=today).count()
        self.message_user(request, f"Applied {applied} due move(s) for {today:%Y-%m-%d}.", messages.SUCCESS)
        if still_due:
            self.message_user(
                request, f"{still_due} due move(s) could not be applied; their outcome says why.", messages.WARNING
            )

    @admin.action(description="Cancel selected pending moves", permissions=["change"])
    def cancel_selected_pending_moves(self, request, queryset):
        cancelled, refused = 0, []
        for move in queryset.select_related("service_point"):
            try:
                services.move_cancel(move=move, user=request.user)
                cancelled += 1
            except services.MoveError as exc:
                refused.append(f"{move}: {exc}")
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} pending move(s).", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)


@admin.register(MoveRequest)
class MoveRequestAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    """Customers' requests and new customers' applications from the portal. Read-only: the
    portal makes them and the Pending Moves hub completes or declines them with the move
    services (a completed request's account, customer and moves are made there)."""

    list_display = ("id", "kind", "status", "requested_at", "account", "applicant", "move_out_date", "move_in_date",
                    "handled_by", "handled_at")
    list_filter = ("status", "kind")
    list_select_related = ("account__customer", "handled_by")
    search_fields = ("account__account_number", "applicant_email")
    search_help_text = "Account number (prefix) or the applicant's email (prefix)."
    date_hierarchy = "requested_at"
    show_full_result_count = False
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        # A staff user who may not read ID numbers (core.privacy) sees the applicant's masked,
        # and the audit history without it.
        masked = "applicant_id_number" in privacy.masked_fields(request.user, "cis.MoveRequest")
        names = [f.name for f in MoveRequest._meta.fields if f.name != "id"]
        if masked:
            names[names.index("applicant_id_number")] = "masked_applicant_id_number"
        return [*names, "audit_history_without_ids" if masked else "audit_history"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description="applicant")
    def applicant(self, obj) -> str:
        return obj.applicant_name() or "—"

    @admin.display(description="applicant ID number")
    def masked_applicant_id_number(self, obj) -> str:
        return privacy.mask(obj.applicant_id_number) or "—"

    @admin.display(description="Audit history")
    def audit_history_without_ids(self, obj) -> str:
        return _audit_history_without_personal(self, obj, "cis.MoveRequest")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(account__account_number__startswith=re.sub(r"\s", "", term))
                               | Q(applicant_email__startswith=term.lower())), False


class _AccountEntryAdmin(AuditedAdmin):
    list_select_related = ("account", "created_by")
    autocomplete_fields = ("account",)
    date_hierarchy = "created_at"
    search_fields = ("account__account_number",)
    search_help_text = "Account number (prefix) or customer name."
    readonly_fields = ("created_by", "created_at", "updated_at", "audit_history")

    def search_q(self, term: str) -> Q:
        return Q(account__account_number__startswith=re.sub(r"\s", "", term)) | _name_q(term, prefix="account__customer__")

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Contact)
class ContactAdmin(_AccountEntryAdmin):
    list_display = ("created_at", "account", "channel", "subject", "status", "follow_up_date", "created_by")
    list_filter = ("channel", "status")


@admin.register(Note)
class NoteAdmin(_AccountEntryAdmin):
    list_display = ("created_at", "account", "pinned", "short_text", "created_by")
    list_filter = ("pinned",)

    @admin.display(description="text")
    def short_text(self, obj) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"


@admin.register(Complaint)
class ComplaintAdmin(_AccountEntryAdmin):
    list_display = ("created_at", "account", "category", "status", "follow_up_date", "resolved_date", "created_by")
    list_filter = ("category", "status")
