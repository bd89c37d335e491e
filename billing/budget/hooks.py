"""A registry of what runs when bills are issued, so features (equal payment plans) hook into
bill issue without editing billing/services/runs. `bills_issue` calls `bill_issue_hooks_run`
inside its transaction, after the bills' ledger entries and before their PDFs are queued;
a hook may post ledger entries and change the bills' amount due (and updates the objects)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_HOOKS: dict[str, Callable[..., None]] = {}


def register_bill_issue_hook(name: str, hook: Callable[..., None]) -> None:
    """`hook(bills=, now=, actor=)`; registering a name again replaces it (idempotent ready())."""
    _HOOKS[name] = hook


def bill_issue_hooks_run(*, bills: list, now: dt.datetime, actor) -> None:
    for hook in list(_HOOKS.values()):
        hook(bills=bills, now=now, actor=actor)
