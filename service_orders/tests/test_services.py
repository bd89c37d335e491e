"""service_orders.services and selectors: orders are numbered SO00000001-style, one per
(source, type), with the user who asked; cancelling by source touches only open orders; an
account's orders come newest first."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import F

from cis.tests.factories import AccountFactory, ServicePointFactory
from service_orders import selectors, services
from service_orders.models import ServiceOrder
from service_orders.services import OrderType

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 3, 20)


def order(source="test:1", order_type=OrderType.FINAL_READ, **fields):
    return services.service_order_request(order_type=order_type, due_date=fields.pop("due_date", DUE),
                                          source=source, **fields)


def test_a_request_creates_a_numbered_open_order_with_who_asked(csr):
    account, sp = AccountFactory(), ServicePointFactory()
    created = order(account_id=account.pk, service_point_id=sp.pk, reason="Move out on the 20th", user=csr)
    created.refresh_from_db()
    assert created.order_number == f"SO{created.pk:08d}" and len(created.order_number) == 10
    assert (created.order_type, created.status, created.due_date, created.reason, created.source) == (
        "final_read", "open", DUE, "Move out on the 20th", "test:1")
    assert (created.account_id, created.service_point_id, created.created_by) == (account.pk, sp.pk, csr)
    assert str(created) == f"{created.order_number} Final read (move out)"


def test_numbers_follow_the_ids():
    first, second = order("n:1"), order("n:2")
    assert [first.order_number, second.order_number] == [f"SO{first.pk:08d}", f"SO{second.pk:08d}"]
    assert int(second.order_number[2:]) > int(first.order_number[2:])


def test_anonymous_or_no_user_records_nobody():
    assert order("a:1", user=AnonymousUser()).created_by is None
    assert order("a:2").created_by is None


def test_the_same_source_and_type_returns_the_first_order_unchanged(csr, billing_user):
    first = order("cis.move:5", reason="first", user=csr)
    again = order("cis.move:5", reason="second", due_date=DUE + dt.timedelta(days=7), user=billing_user)
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.order_number, again.reason, again.due_date, again.created_by) == (first.order_number, "first", DUE, csr)
    other_type = order("cis.move:5", order_type=OrderType.INITIAL_READ)
    assert other_type.pk != first.pk
    assert ServiceOrder.objects.count() == 2


def test_orders_without_a_source_are_not_deduplicated():
    # The unique (source, type) constraint leaves out the empty source.
    one = order("", order_type=OrderType.CONNECT, account_id=AccountFactory().pk)
    two = order("", order_type=OrderType.CONNECT, account_id=AccountFactory().pk)
    assert one.pk != two.pk and one.order_number != two.order_number


def test_cancel_for_source_cancels_only_its_open_orders():
    open_read = order("cis.move:9")
    dispatched = order("cis.move:9", order_type=OrderType.INITIAL_READ)
    completed = order("cis.move:9", order_type=OrderType.METER_CHECK)
    other = order("cis.move:10")
    ServiceOrder.objects.filter(pk=dispatched.pk).update(status=ServiceOrder.Status.DISPATCHED)
    ServiceOrder.objects.filter(pk=completed.pk).update(status=ServiceOrder.Status.COMPLETED)

    assert services.service_order_cancel_for_source(source="cis.move:9") == 1

    statuses = dict(ServiceOrder.objects.values_list("pk", "status"))
    assert statuses == {open_read.pk: "cancelled", dispatched.pk: "dispatched", completed.pk: "completed",
                        other.pk: "open"}
    assert services.service_order_cancel_for_source(source="cis.move:9") == 0
    assert services.service_order_cancel_for_source(source="nothing") == 0


def test_an_accounts_orders_come_newest_first_up_to_the_limit():
    account, elsewhere = AccountFactory(), AccountFactory()
    made = [order(f"s:{i}", account_id=account.pk) for i in range(5)]
    order("s:other", account_id=elsewhere.pk)
    # Newest by created_at, whatever the ids say: make the first one the newest.
    ServiceOrder.objects.filter(pk=made[0].pk).update(created_at=F("created_at") + dt.timedelta(days=1))

    listed = [o.pk for o in selectors.service_orders_for_account(account_id=account.pk)]
    assert listed == [made[0].pk, made[4].pk, made[3].pk, made[2].pk, made[1].pk]
    assert [o.pk for o in selectors.service_orders_for_account(account_id=account.pk, limit=2)] == listed[:2]
    assert list(selectors.service_orders_for_account(account_id=AccountFactory().pk)) == []


def test_the_default_limit_is_twenty():
    account = AccountFactory()
    for i in range(22):
        order(f"lim:{i}", account_id=account.pk)
    assert len(selectors.service_orders_for_account(account_id=account.pk)) == 20
