"""Writes for service orders. Other apps create orders only through these functions."""
from __future__ import annotations

import datetime as dt

from django.db import transaction

from core.actors import Actor
from core.clock import utility_zone
from core.protections import ALLOW, disconnection_allowed
from service_orders.models import OrderType, ServiceOrder

__all__ = ["DispatchError", "OrderType", "service_order_cancel_for_source", "service_order_dispatch",
           "service_order_request"]


def service_order_request(
    *,
    order_type: str,
    due_date: dt.date,
    source: str,
    account_id: int | None = None,
    service_point_id: int | None = None,
    reason: str = "",
    user=None,
) -> ServiceOrder:
    """Create an order, or return the one already created for the same `source` and type
    (idempotent, so re-applying a move never doubles the field work). An order without a
    source (typed in by staff) is always a new one: only a source names a repeat."""
    fields = {
        "due_date": due_date,
        "account_id": account_id,
        "service_point_id": service_point_id,
        "reason": reason,
        "created_by": user if user is not None and user.is_authenticated else None,
    }
    with transaction.atomic():
        if source:
            order, created = ServiceOrder.objects.get_or_create(source=source, order_type=order_type, defaults=fields)
        else:
            order, created = ServiceOrder.objects.create(source="", order_type=order_type, **fields), True
        if created:
            order.order_number = f"SO{order.pk:08d}"
            order.save(update_fields=["order_number"])
    return order


def service_order_cancel_for_source(*, source: str) -> int:
    """Cancel the open orders a source created (e.g. a cancelled pending move)."""
    return ServiceOrder.objects.filter(source=source, status=ServiceOrder.Status.OPEN).update(
        status=ServiceOrder.Status.CANCELLED
    )


class DispatchError(Exception):
    """An order that cannot be dispatched as asked (said to the dispatcher)."""


def service_order_dispatch(*, order: ServiceOrder, crew: str, now: dt.datetime, actor: Actor) -> ServiceOrder:
    """Send an open (or held) order to a crew. A disconnect order asks the protections again
    (core.protections.disconnection_allowed, on the utility's local date of `now`): a protected
    account's order is not dispatched but held, with the rule, its reason and until when, and
    may be dispatched again later (it is asked again then). Audited with who and why.
    Raises DispatchError (no crew, or the order is not open or held)."""
    crew = " ".join((crew or "").split())
    if not crew:
        raise DispatchError("Name the crew the order goes to.")
    if len(crew) > 100:
        raise DispatchError("A crew name is at most 100 characters.")
    with transaction.atomic():
        locked = ServiceOrder.objects.select_for_update().get(pk=order.pk)
        if locked.status not in (ServiceOrder.Status.OPEN, ServiceOrder.Status.HELD):
            raise DispatchError(f"Order {locked.order_number} is {locked.get_status_display().lower()}: only an open "
                                "or held order is dispatched.")
        decision = ALLOW
        if locked.order_type == OrderType.DISCONNECT and locked.account_id is not None:
            decision = disconnection_allowed(account_id=locked.account_id, on_date=now.astimezone(utility_zone()).date(),
                                             now=now)
        if decision.hold:
            until = f" until {decision.until}" if decision.until else " until staff end it"
            why = f"Held at dispatch by {decision.rule}: {decision.reason}{until}"
            with actor.with_reason(why[:200]).audit("service_order_hold"):
                locked.status, locked.held_rule, locked.held_reason = ServiceOrder.Status.HELD, decision.rule[:40], decision.reason[:300]
                locked.held_until, locked.held_at = decision.until, now
                locked.save(update_fields=["status", "held_rule", "held_reason", "held_until", "held_at"])
            return locked
        with actor.with_reason(actor.reason or f"Dispatched to {crew}").audit("service_order_dispatch"):
            locked.status, locked.crew, locked.dispatched_at = ServiceOrder.Status.DISPATCHED, crew, now
            locked.dispatched_by_id = actor.user_id
            locked.save(update_fields=["status", "crew", "dispatched_at", "dispatched_by"])
    return locked
