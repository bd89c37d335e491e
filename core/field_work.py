"""Registry through which lower layers ask for field work.

A move needs a final or initial read, a pre-bill exception a meter check, collections (later)
a disconnection: the apps that decide this (cis, billing) sit below service_orders, which owns
orders, crews and their completion. service_orders registers its handler in
AppConfig.ready(); callers use `field_work_request` / `field_work_cancel_for_source` and get a
plain FieldWorkTicket back, never a service-order model.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol


class FieldWorkKind:
    """The kinds of field work lower layers ask for (service_orders.OrderType values)."""

    FINAL_READ = "final_read"
    INITIAL_READ = "initial_read"
    METER_CHECK = "meter_check"
    DISCONNECT = "disconnect"  # collections: non-payment
    CONNECT = "connect"  # collections: reconnect when paid


@dataclass(frozen=True)
class FieldWorkRequest:
    kind: str
    due_date: dt.date
    source: str  # idempotency key: one order per (source, kind)
    account_id: int | None = None
    service_point_id: int | None = None
    reason: str = ""
    user: Any = None


@dataclass(frozen=True)
class FieldWorkTicket:
    """What the caller learns about the order that will do the work."""

    id: int
    order_number: str | None
    order_type: str
    status: str
    due_date: dt.date
    reason: str


class FieldWorkHandler(Protocol):
    def request(self, request: FieldWorkRequest) -> FieldWorkTicket: ...

    def cancel_for_source(self, source: str) -> int: ...


class FieldWorkUnavailable(RuntimeError):
    """No app that does field work is installed (service_orders is not in INSTALLED_APPS)."""


_HANDLER: list[FieldWorkHandler] = []


def register_field_work_handler(handler: FieldWorkHandler) -> None:
    _HANDLER[:] = [handler]


def _handler() -> FieldWorkHandler:
    if not _HANDLER:
        raise FieldWorkUnavailable("No field-work handler is registered: is service_orders installed?")
    return _HANDLER[0]


def field_work_request(*, kind: str, due_date: dt.date, source: str, account_id: int | None = None,
                       service_point_id: int | None = None, reason: str = "", user=None) -> FieldWorkTicket:
    """Ask for field work; idempotent per (source, kind). Raises FieldWorkUnavailable."""
    return _handler().request(FieldWorkRequest(kind, due_date, source, account_id, service_point_id, reason, user))


def field_work_cancel_for_source(*, source: str) -> int:
    """Cancel the open work a source asked for (a cancelled pending move). Raises FieldWorkUnavailable."""
    return _handler().cancel_for_source(source)
