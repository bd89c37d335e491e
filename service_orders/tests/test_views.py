"""What service_orders shows: the orders panel on the CSR hub's account 360 page (registered
in ServiceOrdersConfig.ready), and the admin pages of orders."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from cis.tests.factories import AccountFactory, ServicePointFactory
from core.panels import account_panels
from service_orders import services
from service_orders.models import OrderType, ServiceOrder

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 3, 20)


@pytest.fixture
def account_with_orders():
    account, sp = AccountFactory(account_number="7300000001"), ServicePointFactory()
    read = services.service_order_request(order_type=OrderType.FINAL_READ, due_date=DUE, source="cis.move:1",
                                          account_id=account.pk, service_point_id=sp.pk, reason="Moving out")
    check = services.service_order_request(order_type=OrderType.METER_CHECK, due_date=DUE + dt.timedelta(days=2),
                                           source="bill-exception:1", account_id=account.pk, reason="High usage")
    services.service_order_cancel_for_source(source="bill-exception:1")
    other = AccountFactory(account_number="7300000002")
    services.service_order_request(order_type=OrderType.CONNECT, due_date=DUE, source="other:1", account_id=other.pk,
                                   reason="Not this account")
    return account, read, check


def test_the_panel_is_registered_for_every_role():
    panel = next(p for p in account_panels() if p.key == "service_orders")
    assert (panel.title, panel.template, panel.order, panel.roles) == (
        "Service orders", "service_orders/panels/account_orders.html", 50, ())


def test_the_account_page_shows_the_accounts_orders_to_a_csr(client, csr, account_with_orders):
    account, read, check = account_with_orders
    client.force_login(csr)
    response = client.get(reverse("cis:account", args=[account.account_number]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="panel-service_orders"' in html
    for text in (read.order_number, "Final read (move out)", "Open", "2026-03-20", "Moving out",
                 check.order_number, "Meter check", "Cancelled", "2026-03-22", "High usage"):
        assert text in html
    assert html.index(check.order_number) < html.index(read.order_number)  # newest first
    assert "Not this account" not in html


def test_an_account_without_orders_says_so(client, csr):
    account = AccountFactory(account_number="7300000009")
    client.force_login(csr)
    html = client.get(reverse("cis:account", args=[account.account_number])).content.decode()
    assert 'id="panel-service_orders"' in html and "No service orders." in html


def test_the_admin_pages_of_orders_open_for_an_admin(admin_client, account_with_orders):
    account, read, _ = account_with_orders
    changelist = reverse("admin:service_orders_serviceorder_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    assert read.order_number in response.content.decode()
    for query in ({"q": read.order_number[:6]}, {"q": "cis.move"}, {"q": str(account.pk)}, {"status__exact": "open"},
                  {"order_type__exact": "meter_check"}, {"due_date__year": "2026"}):
        assert admin_client.get(changelist, query).status_code == 200
    found = admin_client.get(changelist, {"q": "cis.move:1"}).context["cl"].result_list
    assert [o.pk for o in found] == [read.pk]
    response = admin_client.get(reverse("admin:service_orders_serviceorder_change", args=[read.pk]))
    assert response.status_code == 200
    assert "Audit history" in response.content.decode()
    assert admin_client.get(reverse("admin:service_orders_serviceorder_history", args=[read.pk])).status_code == 200


def test_the_admin_edits_orders_but_does_not_add_or_delete_them(admin_client, account_with_orders):
    _, read, _ = account_with_orders
    assert admin_client.get(reverse("admin:service_orders_serviceorder_add")).status_code == 403
    assert admin_client.get(reverse("admin:service_orders_serviceorder_delete", args=[read.pk])).status_code == 403
    change = reverse("admin:service_orders_serviceorder_change", args=[read.pk])
    response = admin_client.post(change, {"order_type": "final_read", "status": "dispatched", "due_date": "2026-03-21",
                                          "reason": "Crew booked", "completed_at_0": "", "completed_at_1": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    read.refresh_from_db()
    assert (read.status, read.due_date, read.reason) == ("dispatched", dt.date(2026, 3, 21), "Crew booked")
    assert ServiceOrder.objects.filter(pk=read.pk, order_number=read.order_number).exists()


def test_a_csr_cannot_open_the_orders_admin(client, csr):
    client.force_login(csr)
    response = client.get(reverse("admin:service_orders_serviceorder_changelist"))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
