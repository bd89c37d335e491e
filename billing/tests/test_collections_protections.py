"""Protections and arrangements of the collections run: extreme weather for an area, medical
renewals limited, a broken arrangement resumes the plan, a closed account's final bill is
written off, a commercial customer follows the commercial plan, bad input is refused precisely."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.collections.models import CollectionAction, CollectionCase, CollectionSkip
from billing.collections.protections import protections_evaluate
from billing.services import (
    account_protection_add,
    extreme_weather_declare,

    payment_arrangement_create,
    promise_to_pay_create,
)
from billing.services.ledger import account_balance
from billing.tests.test_collections_run import CLERK, DUE, delinquent, kinds, run
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db


def test_extreme_weather_holds_a_disconnection_only_in_its_area():
    account = delinquent()
    tuesday = dt.date(2026, 7, 7)
    area = account.agreements.first().service_point.premise.city
    extreme_weather_declare(date=tuesday, area="Elsewhere", reason="ice storm", actor=CLERK)
    rules = {h.rule for h in protections_evaluate(account_id=account.pk, on_date=tuesday, now=timezone.now(), action="disconnect")}
    assert "ON-EXTREME-WEATHER" not in rules
    extreme_weather_declare(date=tuesday, area=area, reason="heat warning", actor=CLERK)
    holds = protections_evaluate(account_id=account.pk, on_date=tuesday, now=timezone.now(), action="disconnect")
    assert holds[0].rule == "ON-EXTREME-WEATHER" and holds[0].until == tuesday + dt.timedelta(days=1)
    with pytest.raises(ValidationError):
        extreme_weather_declare(date=tuesday, area=area, reason="again", actor=CLERK)


def test_a_medical_certificate_renews_at_most_twice():
    account = delinquent()
    start = dt.date(2026, 6, 1)
    first = account_protection_add(account_id=account.pk, kind="medical", start_date=start, reason="dialysis", actor=CLERK)
    second = account_protection_add(account_id=account.pk, kind="medical", start_date=first.end_date + dt.timedelta(days=1),
                                    reason="renewed", actor=CLERK)
    third = account_protection_add(account_id=account.pk, kind="medical", start_date=second.end_date + dt.timedelta(days=1),
                                   reason="renewed", actor=CLERK)
    assert (second.renewal_number, third.renewal_number, third.renews_id) == (1, 2, second.pk)
    with pytest.raises(ValidationError, match="renewed 2 times"):
        account_protection_add(account_id=account.pk, kind="medical", start_date=third.end_date + dt.timedelta(days=1),
                               reason="again", actor=CLERK)


def test_a_broken_arrangement_resumes_the_plan():
    account = delinquent()
    made = DUE + dt.timedelta(days=3)
    first_due = DUE + dt.timedelta(days=10)
    arrangement = payment_arrangement_create(account_id=account.pk, arrears="300.00", instalments=3, first_due=first_due,
                                             on=made, actor=CLERK)
    assert [i.amount for i in arrangement.instalments.all()] == [Decimal("100.00")] * 3
    run(DUE + dt.timedelta(days=5))
    assert kinds(account) == [] and CollectionSkip.objects.get().rule == "ON-ARRANGEMENT"
    run(first_due)  # the first instalment is due today: still kept
    assert kinds(account) == []
    # The first instalment was not paid: more is overdue than what is not yet due.
    run(first_due + dt.timedelta(days=1))
    arrangement.refresh_from_db()
    assert arrangement.status == "broken"
    assert kinds(account) == ["reminder"]


def test_a_closed_accounts_final_bill_is_written_off_and_never_disconnected():
    account = delinquent()
    account.status, account.closed_date = "closed", DUE
    account.save()
    for days in (5, 16, 30, 45, 60, 120):
        run(DUE + dt.timedelta(days=days))
    assert kinds(account) == ["reminder", "late_charge", "final_notice", "write_off"]
    assert account_balance(account_id=account.pk) == Decimal("0.00")
    assert CollectionCase.objects.get(account_id=account.pk).status == "written_off"


def test_a_commercial_customer_follows_the_commercial_plan():
    account = delinquent()
    account.customer.kind = "organisation"
    account.customer.organisation_name = "Acme"
    account.customer.save()
    run(DUE + dt.timedelta(days=3))  # commercial reminder at +3 (residential: +5)
    assert kinds(account) == ["reminder"]
    assert CollectionCase.objects.get(account_id=account.pk).customer_class == "commercial"
    assert CollectionAction.objects.get(account_id=account.pk).overdue_amount == Decimal("300.00")


@pytest.mark.parametrize("kwargs, field", [
    ({"promised_date": DUE - dt.timedelta(days=1), "amount": "10.00"}, "promised_date"),
    ({"promised_date": DUE + dt.timedelta(days=90), "amount": "10.00"}, "promised_date"),
    ({"promised_date": DUE, "amount": "-1"}, "amount"),
    ({"promised_date": DUE, "amount": "1.234"}, "amount"),
    ({"promised_date": DUE, "amount": "NaN"}, "amount"),
])
def test_bad_promises_are_refused_naming_the_field(kwargs, field):
    account = delinquent()
    with pytest.raises(ValidationError) as error:
        promise_to_pay_create(account_id=account.pk, on=DUE, actor=CLERK, **kwargs)
    assert field in error.value.message_dict


def test_a_home_disconnected_before_the_winter_ban_gets_a_reconnect_order_due_by_nov_15():
    account = delinquent()
    case = CollectionCase.objects.create(account=account, customer_class="residential", opened_on=DUE,
                                         oldest_due_date=DUE, disconnected=True, last_step="disconnect")
    for kind in ("reminder", "late_charge", "final_notice", "disconnect_notice", "disconnect"):
        CollectionAction.objects.create(case=case, account=account, kind=kind, action_date=DUE, overdue_amount=Decimal("300"))
    run(dt.date(2026, 10, 20))  # more than 14 days before the ban: nothing yet
    assert not CollectionAction.objects.filter(case=case, kind="reconnect").exists()
    run(dt.date(2026, 11, 2))
    reconnect = CollectionAction.objects.get(case=case, kind="reconnect")
    assert "seasonal ban" in reconnect.detail
    order = ServiceOrder.objects.get(account_id=account.pk, order_type="connect")
    assert order.due_date == dt.date(2026, 11, 15)
    run(dt.date(2026, 11, 3))
    assert ServiceOrder.objects.filter(account_id=account.pk, order_type="connect").count() == 1
