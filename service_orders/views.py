"""The field crew's start page: the open service orders, soonest due first, each dispatched to
a crew from here (a disconnect order is checked against the protections at that moment)."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.actors import Actor
from core.permissions import role_required
from core.roles import Role
from service_orders import selectors, services
from service_orders.models import ServiceOrder


@role_required(Role.FIELD_CREW)
def field_home(request: HttpRequest) -> HttpResponse:
    return render(request, "service_orders/field_home.html", {"orders": selectors.service_orders_open(limit=200)})


@require_POST
@role_required(Role.FIELD_CREW)
def order_dispatch(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(ServiceOrder, pk=order_id)
    try:
        order = services.service_order_dispatch(order=order, crew=request.POST.get("crew", ""), now=timezone.now(),
                                                actor=Actor.of(request.user))
    except services.DispatchError as exc:
        messages.error(request, f"Order {order.order_number} not dispatched: {exc}")
        return redirect("service_orders:field-home")
    if order.status == ServiceOrder.Status.HELD:
        until = f"until {order.held_until}" if order.held_until else "until staff end it"
        messages.error(request, f"Order {order.order_number} not dispatched: the account is protected by "
                                f"{order.held_rule} ({order.held_reason}) {until}.")
    else:
        messages.success(request, f"Order {order.order_number} dispatched to {order.crew}.")
    return redirect("service_orders:field-home")
