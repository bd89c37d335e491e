"""core.field_work: lower layers ask for field work through a registry; service_orders is the
registered handler, one order per (source, kind); with no handler the request is refused."""
from __future__ import annotations

import datetime as dt

import pytest

from cis.tests.factories import AccountFactory, ServicePointFactory
from core import field_work
from core.field_work import (
    FieldWorkKind,
    FieldWorkTicket,
    FieldWorkUnavailable,
    field_work_cancel_for_source,
    field_work_request,
    register_field_work_handler,
)
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 3, 20)


@pytest.fixture
def saved_handler():
    saved = list(field_work._HANDLER)
    yield
    field_work._HANDLER[:] = saved


def test_a_request_reaches_the_service_orders_handler(csr):
    account, sp = AccountFactory(), ServicePointFactory()
    ticket = field_work_request(kind=FieldWorkKind.METER_CHECK, due_date=DUE, source="test:1", account_id=account.pk,
                                service_point_id=sp.pk, reason="Check the meter", user=csr)
    assert isinstance(ticket, FieldWorkTicket)
    order = ServiceOrder.objects.get()
    assert (ticket.id, ticket.order_number, ticket.order_type, ticket.status, ticket.due_date, ticket.reason) == (
        order.pk, order.order_number, "meter_check", "open", DUE, "Check the meter")
    assert (order.account_id, order.service_point_id, order.source, order.created_by) == (
        account.pk, sp.pk, "test:1", csr)
    assert order.order_number == f"SO{order.pk:08d}"


def test_requests_are_idempotent_per_source_and_kind():
    first = field_work_request(kind=FieldWorkKind.FINAL_READ, due_date=DUE, source="cis.move:7")
    again = field_work_request(kind=FieldWorkKind.FINAL_READ, due_date=DUE + dt.timedelta(days=3),
                               source="cis.move:7", reason="asked again")
    assert again == first  # the first order, its due date and reason unchanged
    other_kind = field_work_request(kind=FieldWorkKind.INITIAL_READ, due_date=DUE, source="cis.move:7")
    other_source = field_work_request(kind=FieldWorkKind.FINAL_READ, due_date=DUE, source="cis.move:8")
    assert len({first.id, other_kind.id, other_source.id}) == 3
    assert ServiceOrder.objects.count() == 3


def test_cancel_for_source_cancels_that_sources_open_work():
    read = field_work_request(kind=FieldWorkKind.FINAL_READ, due_date=DUE, source="cis.move:9")
    field_work_request(kind=FieldWorkKind.INITIAL_READ, due_date=DUE, source="cis.move:9")
    keep = field_work_request(kind=FieldWorkKind.FINAL_READ, due_date=DUE, source="cis.move:10")
    ServiceOrder.objects.filter(pk=read.id).update(status=ServiceOrder.Status.COMPLETED)
    assert field_work_cancel_for_source(source="cis.move:9") == 1  # the completed one stays completed
    statuses = dict(ServiceOrder.objects.values_list("pk", "status"))
    assert statuses[read.id] == "completed" and statuses[keep.id] == "open"
    assert sorted(statuses.values()) == ["cancelled", "completed", "open"]
    assert field_work_cancel_for_source(source="cis.move:9") == 0


def test_with_no_handler_field_work_is_unavailable(saved_handler):
    field_work._HANDLER.clear()
    with pytest.raises(FieldWorkUnavailable, match="service_orders"):
        field_work_request(kind=FieldWorkKind.METER_CHECK, due_date=DUE, source="x")
    with pytest.raises(FieldWorkUnavailable):
        field_work_cancel_for_source(source="x")
    assert not ServiceOrder.objects.exists()


def test_registering_a_handler_replaces_the_one_before(saved_handler):
    seen = []

    class Recorder:
        def request(self, request):
            seen.append(request)
            return FieldWorkTicket(1, None, request.kind, "open", request.due_date, request.reason)

        def cancel_for_source(self, source):
            seen.append(source)
            return 0

    register_field_work_handler(Recorder())
    assert len(field_work._HANDLER) == 1
    ticket = field_work_request(kind="disconnect", due_date=DUE, source="collections:3", account_id=5)
    assert field_work_cancel_for_source(source="collections:3") == 0
    assert (ticket.order_type, seen[0].source, seen[0].account_id, seen[1]) == (
        "disconnect", "collections:3", 5, "collections:3")
    assert not ServiceOrder.objects.exists()
