"""What collections registers from BillingConfig.ready: the Collections panel on the account
360 page (the case, its steps, which rule holds it and until when), the admin pages, the
core.runs sweeper's run kind and core.protections' checker (asked when a crew is dispatched)."""
from __future__ import annotations

from django.utils import timezone

from billing.collections import admin as collections_admin
from billing.collections import letters  # noqa: F401 - its Celery tasks register
from billing.collections import selectors
from billing.collections.models import CollectionRunChunk
from billing.collections.protections import protection_check
from billing.collections.services import enqueue_chunks
from core.clock import utility_zone
from core.panels import AccountPanel, register_account_panel
from core.protections import register_protection_checker
from core.roles import Role
from core.runs.registry import RunKind, register_run_kind


def collections_panel_context(request, account) -> dict:
    now = timezone.now()
    return selectors.account_collections(account=account, on=now.astimezone(utility_zone()).date(), now=now)


def register() -> None:
    register_account_panel(AccountPanel(
        key="billing.collections", title="Collections", template="billing/collections/panel.html",
        context=collections_panel_context, order=22, roles=(Role.CSR, Role.BILLING)))
    collections_admin.register()
    register_run_kind(RunKind("billing.collections_run", CollectionRunChunk, enqueue_chunks))
    register_protection_checker(protection_check)
