"""Admin pieces every app's admin shares: the audit history shown on a tracked object's page."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pghistory.models
from pghistory import config as pghistory_config
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html, format_html_join

# Enough to answer "who changed this lately"; the full list is one click away in the events admin.
AUDIT_HISTORY_ROWS = 20


def _short(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


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
