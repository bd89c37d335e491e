"""Admin pieces every app's admin shares: the audit history shown on a tracked object's page."""
from __future__ import annotations

import json
from collections import defaultdict
from functools import cached_property
from urllib.parse import urlencode

import pghistory.models
from pghistory import config as pghistory_config
from pghistory.admin import EventsAdmin
from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from knox.models import get_digest_token
from knox.settings import CONSTANTS, knox_settings

from core.models import ApiToken

# Enough to answer "who changed this lately"; the full list is one click away in the events admin.
AUDIT_HISTORY_ROWS = 20


def _short(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model only services write: listed and shown, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditHistoryMixin:
    """Adds a read-only "Audit history" field to the change page of a pghistory-tracked model:
    the latest events with who, when, why and each field's before -> after, and a link to
    all of the object's events in the pghistory events admin.

    Add "audit_history" to `readonly_fields` (and to a fieldset when fieldsets are used)."""

    audit_hidden_fields: frozenset[str] = frozenset({"updated_at"})

    @admin.display(description="Audit history")
    def audit_history(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        events = list(
            pghistory.models.Events.objects.tracks(obj).order_by("-pgh_created_at", "-pgh_id")[: AUDIT_HISTORY_ROWS]
        )
        if not events:
            return "No recorded changes."
        user_ids: set[int] = {user for e in events if (user := (e.pgh_context or {}).get("user")) is not None}
        names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
        rows = []
        for event in events:
            context = event.pgh_context or {}
            user_id: int | None = context.get("user")
            if event.pgh_diff:
                changes = event.pgh_diff
            elif event.pgh_label == "insert":
                changes = {k: [None, v] for k, v in (event.pgh_data or {}).items() if v not in (None, "")}
            else:
                changes = {k: [v, None] for k, v in (event.pgh_data or {}).items() if v not in (None, "")}
            text = "; ".join(
                f"{field}: {_short(before)} → {_short(after)}"
                for field, (before, after) in sorted(changes.items())
                if field not in self.audit_hidden_fields
            )
            rows.append(
                (
                    f"{event.pgh_created_at:%Y-%m-%d %H:%M:%S %Z}",
                    event.pgh_label,
                    "system" if user_id is None else names.get(user_id, "system"),
                    context.get("reason") or context.get("url") or "",
                    text,
                )
            )
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows
        )
        query = urlencode({"method": "tracks", "obj": f"{obj._meta.label}:{obj.pk}"})
        events_model = pghistory_config.admin_queryset().model
        events_url = reverse(f"admin:{events_model._meta.app_label}_{events_model._meta.model_name}_changelist")
        return format_html(
            '<table class="audit-history"><thead><tr><th>When</th><th>Event</th><th>Who</th>'
            "<th>Why / where</th><th>Changes</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a href="{}?{}">All events of this {}</a></p>',
            body, events_url, query, obj._meta.verbose_name,
        )


# The events list counts at most this many rows: beyond it the page says "10,000+" worth of
# pages and a filter (event model, label, an object's events) narrows it down.
EVENTS_COUNT_CAP = 10_000


class EventsPaginator(Paginator):
    """A page of pghistory's aggregate events in two cheap steps instead of one slow one.

    pghistory.Events is a UNION ALL over every event table whose rows carry computed columns
    (the row as JSON, and the diff against the previous event of the same object, a correlated
    subquery per row). Ordering and slicing that union computes them for every event in the
    database before keeping 50: 7-10 s at demo size. Here the page's keys (model, event id) are
    found first, a query that reads only those columns (PostgreSQL drops the unused computed
    ones), then only those events are loaded with their data and diffs, one query per event
    model on the page. The count is capped (EVENTS_COUNT_CAP) instead of counting every event."""

    object_list: QuerySet  # the admin's filtered, ordered pghistory.Events queryset

    @cached_property
    def count(self) -> int:
        # Unordered: a count needs no sort of the union.
        return self.object_list.order_by().values_list("pgh_id")[:EVENTS_COUNT_CAP].count()

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = list(self.object_list.values_list("pgh_model", "pgh_id")[bottom:bottom + self.per_page])
        ids_by_model: dict[str, list[int]] = defaultdict(list)
        for model, pgh_id in keys:
            ids_by_model[model].append(pgh_id)
        loaded = {}
        for model, ids in ids_by_model.items():
            for event in self.object_list.filter(pgh_model=model, pgh_id__in=ids):
                loaded[(model, event.pgh_id)] = event
        return self._get_page([loaded[k] for k in keys if k in loaded], number, self)


class AuditEventsAdmin(EventsAdmin):
    """pghistory's events admin (PGHISTORY_ADMIN_CLASS) made fast at demo size: pages of 50
    through EventsPaginator, no second count of every event, newest first."""

    paginator = EventsPaginator
    list_per_page = 50
    show_full_result_count = False


class ApiTokenCreateForm(forms.ModelForm):
    """A new token: the secret is made here and shown once, on the next page."""

    class Meta:
        model = ApiToken
        fields = ["user", "name", "description", "expiry"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.token: str | None = None
        self.fields["expiry"].help_text = "Empty: the default lifetime (UTILIS_API_TOKEN_TTL_DAYS) from now."

    def save(self, commit: bool = True) -> ApiToken:
        obj = super().save(commit=False)
        digest, token = get_digest_token()
        obj.digest = digest
        obj.token_key = token[: CONSTANTS.TOKEN_KEY_LENGTH]
        if obj.expiry is None and knox_settings.TOKEN_TTL is not None:
            obj.expiry = timezone.now() + knox_settings.TOKEN_TTL
        self.token = token
        if commit:
            obj.save()
        return obj


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens by client and name. Revoke = delete (one, or several with the list action)."""

    list_display = ("name", "user", "token_key", "created", "expiry", "is_expired")
    list_filter = ("user",)
    search_fields = ("name", "description", "token_key", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = ("token_key", "created")
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name", "description", "expiry"]
        return ["user", "name", "description", "token_key", "created", "expiry"]

    def get_readonly_fields(self, request, obj=None):
        return ("user", "token_key", "created") if obj is not None else ()

    @admin.display(boolean=True, description="Expired")
    def is_expired(self, obj: ApiToken) -> bool:
        return obj.expiry is not None and obj.expiry <= timezone.now()

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change and isinstance(form, ApiTokenCreateForm) and form.token:
            self.message_user(
                request, f"Token for {obj.user}: {form.token} (shown only now: copy it).", messages.WARNING,
            )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        count, _ = queryset.delete()
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
