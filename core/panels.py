"""Registry of panels on the account 360 page.

Apps add panels without editing `cis/`: in their AppConfig.ready() they call
`register_account_panel(...)` with a function that takes (request, account) and returns the
template context for the panel (or None to hide it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class AccountPanel:
    key: str
    title: str
    template: str
    context: Callable[[Any, Any], dict | None]
    order: int = 100
    roles: tuple[str, ...] = ()


_PANELS: dict[str, AccountPanel] = {}


def register_account_panel(panel: AccountPanel) -> None:
    _PANELS[panel.key] = panel


def account_panels() -> list[AccountPanel]:
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.key))
