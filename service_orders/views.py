"""The field crew's start page: the open service orders, soonest due first."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.permissions import role_required
from core.roles import Role
from service_orders import selectors


@role_required(Role.FIELD_CREW)
def field_home(request: HttpRequest) -> HttpResponse:
    return render(request, "service_orders/field_home.html", {"orders": selectors.service_orders_open(limit=200)})
