"""Dispatching a disconnect order asks the protections again (core.protections, billing's rule
engine): a customer protected since the collections run requested the order is held, with the
rule and until when, on the field page too; an unprotected one goes to the crew."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.payments.tests.helpers import issued_bill
from billing.services import (
    account_protection_add,
    collections_preset_load,
    collections_run_inline,
    contact_attempt_record,
)
from cis.tests.factories import AccountFactory, ServiceAgreementFactory
from core.actors import Actor
from service_orders import services
from service_orders.models import OrderType, ServiceOrder

pytestmark = pytest.mark.django_db
CLERK = Actor.system("dispatch test")
BILL_DATE = dt.date(2026, 5, 1)  # due May 22: outside the winter ban
DUE = BILL_DATE + dt.timedelta(days=21)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 4:
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def disconnect_orders():
    """Two residential accounts taken by the daily run to a disconnect order (same day)."""
    collections_preset_load()
    accounts = []
    for n in range(2):
        account = AccountFactory(customer__kind="person", customer__email=f"c{n}@example.org")
        ServiceAgreementFactory(account=account)
        issued_bill(account_id=account.pk, total="300.00", bill_date=BILL_DATE)
        accounts.append(account)
    for offset in (5, 16, 30, 45):
        collections_run_inline(run_date=DUE + dt.timedelta(days=offset), now=at(DUE + dt.timedelta(days=offset)))
    day = weekday(DUE + dt.timedelta(days=60))
    for account in accounts:
        contact_attempt_record(account_id=account.pk, method="phone", at=at(day - dt.timedelta(days=3), 9), actor=CLERK)
    collections_run_inline(run_date=day, now=at(day))
    orders = [ServiceOrder.objects.get(account_id=a.pk, order_type=OrderType.DISCONNECT) for a in accounts]
    assert [o.status for o in orders] == ["open", "open"]
    return day, accounts, orders


def test_a_customer_protected_after_the_order_was_raised_is_held_at_dispatch(disconnect_orders):
    day, (free, protected), (free_order, held_order) = disconnect_orders
    account_protection_add(account_id=protected.pk, kind="medical", start_date=day, reason="oxygen concentrator",
                           actor=CLERK)
    dispatched = services.service_order_dispatch(order=free_order, crew="Crew 4", now=at(day, 11), actor=CLERK)
    assert (dispatched.status, dispatched.crew, dispatched.held_rule) == ("dispatched", "Crew 4", "")
    held = services.service_order_dispatch(order=held_order, crew="Crew 4", now=at(day, 11), actor=CLERK)
    held.refresh_from_db()
    assert (held.status, held.crew, held.dispatched_at) == ("held", "", None)
    assert held.held_rule == "ON-MEDICAL" and "oxygen concentrator" in held.held_reason
    assert held.held_until == day + dt.timedelta(days=30)  # the certificate's 30 days, then the day after
    # Once the certificate has run out, dispatching again asks again and the crew gets it.
    later = weekday(day + dt.timedelta(days=31))
    again = services.service_order_dispatch(order=held, crew="Crew 7", now=at(later, 11), actor=CLERK)
    assert (again.status, again.crew) == ("dispatched", "Crew 7")


def test_the_calendar_rules_are_asked_at_dispatch_too(disconnect_orders):
    day, _, (order, _) = disconnect_orders
    saturday = day + dt.timedelta(days=(5 - day.weekday()) % 7)
    held = services.service_order_dispatch(order=order, crew="Crew 4", now=at(saturday, 11), actor=CLERK)
    assert (held.status, held.held_rule) == ("held", "ON-NO-DISCONNECT-DAYS")
    assert held.held_until == saturday + dt.timedelta(days=2)  # Monday


def test_orders_that_are_not_disconnects_are_not_asked_and_a_crew_is_required(disconnect_orders):
    day, (account, _), _ = disconnect_orders
    account_protection_add(account_id=account.pk, kind="staff_hold", start_date=day, reason="manager review", actor=CLERK)
    read = services.service_order_request(order_type=OrderType.METER_CHECK, due_date=day, source="test:1",
                                          account_id=account.pk, reason="check")
    with pytest.raises(services.DispatchError, match="Name the crew"):
        services.service_order_dispatch(order=read, crew="  ", now=at(day, 11), actor=CLERK)
    assert services.service_order_dispatch(order=read, crew="Crew 1", now=at(day, 11), actor=CLERK).status == "dispatched"
    with pytest.raises(services.DispatchError, match="only an open or held order"):
        services.service_order_dispatch(order=read, crew="Crew 1", now=at(day, 11), actor=CLERK)


def test_the_field_page_dispatches_and_shows_the_rule_and_date_that_hold_an_order(client, field_user, csr,
                                                                                 disconnect_orders):
    _, (_, protected), (free_order, order) = disconnect_orders
    # The page dispatches at the real clock: a dispute covering it holds the order whatever the
    # date (in winter the seasonal ban, asked first, is the rule named).
    today = timezone.localdate()
    account_protection_add(account_id=protected.pk, kind="dispute", start_date=today - dt.timedelta(days=1),
                           end_date=today + dt.timedelta(days=400), reason="bill 7 disputed", actor=CLERK)
    client.force_login(field_user)
    response = client.post(reverse("service_orders:order-dispatch", args=[order.pk]), {"crew": "Crew 2"}, follow=True)
    html = response.content.decode()
    order.refresh_from_db()
    assert order.status == "held" and order.held_rule in ("ON-DISPUTE", "ON-WINTER-BAN", "ON-NO-DISCONNECT-DAYS")
    assert f"Order {order.order_number} not dispatched: the account is protected by {order.held_rule}" in html
    until = f"until {order.held_until:%Y-%m-%d}" if order.held_until else "until staff end it"
    assert f'data-testid="held-{order.pk}"' in html and until in html
    # The account page's orders panel says it too.
    client.force_login(csr)
    panel = client.get(reverse("cis:account", args=[protected.account_number])).content.decode()
    assert f"{order.held_rule}: {order.held_reason}" in panel and until in panel
    client.force_login(field_user)
    # A meter check is not a disconnection: it goes to the crew.
    check = services.service_order_request(order_type=OrderType.METER_CHECK, due_date=today, source="test:2",
                                           account_id=protected.pk, reason="check")
    html = client.post(reverse("service_orders:order-dispatch", args=[check.pk]), {"crew": "Crew 2"},
                       follow=True).content.decode()
    assert f"Order {check.order_number} dispatched to Crew 2." in html
