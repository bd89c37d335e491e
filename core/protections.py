"""Registry through which the field asks whether an account may be disconnected right now.

Collections (billing) owns the protection rules; service_orders sits above billing and may call
billing directly, but the field tools and integrations ask here, at the moment a crew is
dispatched, without knowing who answers. billing registers its checker in AppConfig.ready()."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProtectionDecision:
    hold: bool
    rule: str = ""  # the code of the rule that holds
    reason: str = ""
    until: dt.date | None = None  # None with hold: until staff end it (a dispute)


ALLOW = ProtectionDecision(hold=False)
Checker = Callable[..., ProtectionDecision]
_CHECKER: list[Checker] = []


def register_protection_checker(checker: Checker) -> None:
    _CHECKER[:] = [checker]


def disconnection_allowed(*, account_id: int, on_date: dt.date, now: dt.datetime) -> ProtectionDecision:
    """May the account be disconnected for non-payment on `on_date`? With no checker
    registered (billing not installed), nothing holds it."""
    if not _CHECKER:
        return ALLOW
    return _CHECKER[0](account_id=account_id, on_date=on_date, now=now, action="disconnect")
