"""The set-based chunk (billing.collections.bulk.accounts_collect) against the per-account
reference (accounts_collect_each): twin accounts, identical in every way, are taken through the
same days, the twins of one side by one path, those of the other by the other; every step,
skip, case state, late charge, promise, arrangement, order and balance must come out the same.
No timing here: bench/collections_run.py measures."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from billing.collections import bulk
from billing.collections.models import (
    CollectionAction,
    CollectionCase,
    CollectionSkip,
    LateCharge,
    PaymentArrangement,
    PromiseToPay,
)
from billing.collections.services import accounts_collect_each, overdue_for, overdue_for_many
from billing.services import (
    account_protection_add,
    contact_attempt_record,
    extreme_weather_declare,
    payment_arrangement_create,
    payment_post,
    payment_return,
    promise_to_pay_create,
)
from billing.models import LedgerEntry
from billing.services.ledger import account_balance, ledger_post_adjustment, ledger_reverse
from billing.tests.test_collections_run import CLERK, DUE, delinquent
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db
DAYS = [5, 8, 12, 16, 17, 30, 31, 45, 46, 60, 61, 62, 63, 65, 66, 72, 76, 92, 120, 121, 164, 165]


def _pay(account, amount: str, on: dt.date):
    return payment_post(account_id=account.pk, amount=amount, received_date=on, channel="cashier", tender_type="cash",
                        actor=CLERK)


def _pay_then_bounce(account) -> None:
    payment_return(payment=_pay(account, "300.00", _at(6)), kind="nsf", return_date=_at(7), reason="NSF",
                   actor=CLERK)


def _charge(account) -> None:
    ledger_post_adjustment(account_id=account.pk, amount="50.00", effective_date=DUE - dt.timedelta(days=40),
                           reason="meter tampering fee")


def _reverse_charge(account) -> None:
    entry = LedgerEntry.objects.get(account_id=account.pk, kind="adjustment", reason="meter tampering fee")
    ledger_reverse(entry=entry, reason="charged in error", effective_date=_at(29))


def _at(day: int) -> dt.date:
    return DUE + dt.timedelta(days=day)


# Each scenario: (set-up of one account, what happens on some days: {day: callable(account)}).
def _plain(account):
    pass


def _closed(account):
    account.status, account.closed_date = "closed", DUE
    account.save()


def _commercial(account):
    account.customer.kind, account.customer.organisation_name = "organisation", "Acme"
    account.customer.save()


def _medical(account):
    account_protection_add(account_id=account.pk, kind="medical", start_date=_at(1), reason="oxygen", actor=CLERK)


def _staff_hold(account):
    account_protection_add(account_id=account.pk, kind="staff_hold", start_date=_at(25), end_date=_at(47),
                           reason="manager review", actor=CLERK)


def _dispute(account):
    account_protection_add(account_id=account.pk, kind="dispute", start_date=_at(10), reason="meter read disputed",
                           actor=CLERK)


def _promise_broken(account):
    promise_to_pay_create(account_id=account.pk, promised_date=_at(10), amount="300.00", on=_at(2), actor=CLERK)


def _promise_kept(account):
    promise_to_pay_create(account_id=account.pk, promised_date=_at(14), amount="100.00", on=_at(2), actor=CLERK)


def _arrangement_broken(account):
    payment_arrangement_create(account_id=account.pk, arrears="300.00", instalments=3, first_due=_at(10), on=_at(3),
                               actor=CLERK)


def _arrangement_kept(account):
    payment_arrangement_create(account_id=account.pk, arrears="300.00", instalments=2, first_due=_at(10), on=_at(3),
                               actor=CLERK)


def _small(account):
    pass  # set up with a 30.00 bill: under the final notice's minimum


def _current(account):
    _pay(account, "300.00", DUE - dt.timedelta(days=3))


def _contact(account):
    contact_attempt_record(account_id=account.pk, method="phone", actor=CLERK,
                           at=timezone.make_aware(dt.datetime.combine(_at(57), dt.time(9))))


def _weather(account):
    """Contacted later: ready on day 62, when the weather days (61, 62) and the weekend (64, 65) hold it."""
    contact_attempt_record(account_id=account.pk, method="phone", actor=CLERK,
                           at=timezone.make_aware(dt.datetime.combine(_at(60), dt.time(9))))


def _pre_disconnected(account):
    case = CollectionCase.objects.create(account=account, customer_class="residential", opened_on=DUE,
                                         oldest_due_date=DUE, disconnected=True, last_step="disconnect")
    for kind in ("reminder", "late_charge", "final_notice", "disconnect_notice", "disconnect"):
        CollectionAction.objects.create(case=case, account=account, kind=kind, action_date=DUE,
                                        overdue_amount=Decimal("300"))


SCENARIOS = {
    "plain": ("300.00", "pat@example.org", _plain, {}),
    "no email": ("300.00", "", _plain, {}),
    "commercial": ("900.00", "acme@example.org", _commercial, {}),
    "closed": ("300.00", "pat@example.org", _closed, {}),
    "medical": ("300.00", "pat@example.org", _medical, {}),
    "staff hold": ("300.00", "pat@example.org", _staff_hold, {}),
    "dispute": ("300.00", "pat@example.org", _dispute, {}),
    "promise broken": ("300.00", "pat@example.org", _promise_broken, {}),
    "promise kept": ("300.00", "pat@example.org", _promise_kept, {8: lambda a: _pay(a, "100.00", _at(7))}),
    "arrangement broken": ("300.00", "pat@example.org", _arrangement_broken, {}),
    "arrangement kept": ("300.00", "pat@example.org", _arrangement_kept,
                         {12: lambda a: _pay(a, "150.00", _at(9))}),
    "small": ("30.00", "pat@example.org", _small, {}),
    "current": ("300.00", "pat@example.org", _current, {}),
    "contacted": ("300.00", "pat@example.org", _contact, {}),
    "paid after disconnect": ("300.00", "pat@example.org", _contact,
                              {72: lambda a: _pay(a, "400.00", _at(70))}),
    "partly paid": ("300.00", "pat@example.org", _contact, {31: lambda a: _pay(a, "260.00", _at(30))}),
    "returned payment": ("300.00", "pat@example.org", _plain, {8: _pay_then_bounce}),
    "reversed charge": ("300.00", "pat@example.org", _charge, {30: _reverse_charge}),
    "weather": ("300.00", "pat@example.org", _weather, {}),
    "pre-disconnected": ("300.00", "pat@example.org", _pre_disconnected, {}),
}


def _state(account) -> dict:
    cases = list(CollectionCase.objects.filter(account_id=account.pk).order_by("id").values_list(
        "status", "customer_class", "opened_on", "closed_on", "oldest_due_date", "overdue_amount", "last_step",
        "disconnected", "held_by", "held_until", "evaluated_on"))
    return {
        "actions": list(CollectionAction.objects.filter(account_id=account.pk).order_by("action_date", "id").values_list(
            "kind", "action_date", "overdue_amount", "detail", "email_to")),
        "orders": sorted(ServiceOrder.objects.filter(account_id=account.pk).values_list("order_type", "due_date")),
        "skips": list(CollectionSkip.objects.filter(case__account_id=account.pk).order_by("on_date", "step")
                      .values_list("on_date", "step", "rule", "reason", "until")),
        "cases": cases,
        "late": list(LateCharge.objects.filter(account_id=account.pk).order_by("month").values_list("month", "base",
                                                                                                    "amount")),
        "promises": list(PromiseToPay.objects.filter(account_id=account.pk).values_list("status", "resolved_on")),
        "arrangements": list(PaymentArrangement.objects.filter(account_id=account.pk).values_list("status",
                                                                                                  "resolved_on")),
        "balance": account_balance(account_id=account.pk),
    }


def test_the_set_based_chunk_takes_exactly_the_steps_of_the_per_account_path():
    twins = {}
    for name, (total, email, setup, _) in SCENARIOS.items():
        pair = []
        for _side in range(2):
            account = delinquent(total=total, email=email)
            setup(account)
            pair.append(account)
        twins[name] = pair
    # The same area for every account: an extreme weather day there holds both sides' disconnections.
    area = twins["weather"][0].agreements.first().service_point.premise.city
    extreme_weather_declare(date=_at(61), area=area, reason="heat warning", actor=CLERK)
    extreme_weather_declare(date=_at(62), area="", reason="ice everywhere", actor=CLERK)
    for day in DAYS:
        on = _at(day)
        for name, (_, _, _, events) in SCENARIOS.items():
            if day in events:
                for account in twins[name]:
                    events[day](account)
        now = timezone.make_aware(dt.datetime.combine(on, dt.time(10)))
        everyone = [a.pk for pair in twins.values() for a in pair]
        assert overdue_for_many(everyone, as_of=on) == overdue_for(everyone, as_of=on), day  # the chunk's and the page's
        with transaction.atomic():
            each = accounts_collect_each(account_ids=[p[0].pk for p in twins.values()], on=on, now=now)
        with transaction.atomic():
            chunk = bulk.accounts_collect(account_ids=[p[1].pk for p in twins.values()], on=on, now=now)
        assert (len(each.actions), each.holds, each.closed) == (len(chunk.actions), chunk.holds, chunk.closed), day
    reached = set()
    for name, (reference, candidate) in twins.items():
        expected = _state(reference)
        assert _state(candidate) == expected, name
        reached |= {kind for kind, *_ in expected["actions"]}
        reached |= {f"held:{rule}" for _, _, rule, _, _ in expected["skips"]}
    # The mix reaches every step and the protections it is meant to.
    assert {"reminder", "late_charge", "final_notice", "disconnect_notice", "disconnect", "write_off",
            "reconnect"} <= reached
    assert {"held:ON-MEDICAL", "held:ON-STAFF-HOLD", "held:ON-DISPUTE", "held:ON-PROMISE", "held:ON-ARRANGEMENT",
            "held:ON-CONTACT-48H", "held:ON-EXTREME-WEATHER", "held:ON-NO-DISCONNECT-DAYS"} <= reached, reached


def test_a_chunk_done_again_the_same_day_adds_nothing():
    accounts = [delinquent() for _ in range(3)]
    ids = [a.pk for a in accounts]
    now = timezone.make_aware(dt.datetime.combine(_at(16), dt.time(10)))
    with transaction.atomic():
        bulk.accounts_collect(account_ids=ids, on=_at(5), now=now)
    with transaction.atomic():
        first = bulk.accounts_collect(account_ids=ids, on=_at(16), now=now)
    before = (CollectionAction.objects.count(), LateCharge.objects.count(), account_balance(account_id=ids[0]))
    with transaction.atomic():
        again = bulk.accounts_collect(account_ids=ids, on=_at(16), now=now)
    assert len(first.actions) == 3 and again.actions == []
    assert (CollectionAction.objects.count(), LateCharge.objects.count(), account_balance(account_id=ids[0])) == before


def test_an_open_case_of_an_account_without_ledger_entries_is_closed():
    account = delinquent()
    other = type(account).objects.create(account_number="7000000001", customer=account.customer, bill_cycle_code="C01",
                                         opened_date=dt.date(2024, 1, 1))
    CollectionCase.objects.create(account=other, customer_class="residential", opened_on=DUE, oldest_due_date=DUE)
    with transaction.atomic():
        outcome = bulk.accounts_collect(account_ids=[other.pk], on=_at(5), now=timezone.now())
    assert outcome.closed == 1
    assert CollectionCase.objects.get(account=other).status == "paid"
