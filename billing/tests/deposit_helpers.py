"""Shared set-up for the deposit tests (billing/tests/test_deposits*.py): deposit classes, rates,
bills issued through billing's own issue service (so the bill-issue hook runs), and the check
that the held-deposit ledger adds up."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from billing.collections.models import CollectionAction, CollectionCase
from billing.deposits.models import Deposit, DepositClass, DepositEntry, DepositInterestRate
from billing.models import Bill, BillSegment
from billing.services.runs import bill_issue
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from core.actors import Actor

D = Decimal
CLERK = Actor.system("deposits test")


def residential_class(**kw) -> DepositClass:
    fields = dict(code="RES", name="Residential", customer_kind="person", rate_class="residential", minimum_amount=D("50.00"),
                  amount_multiple=D("2.00"), cap_multiple=D("2.50"), instalments=3, good_history_months=12, max_incidents=1)
    fields.update(kw)
    return DepositClass.objects.create(**fields)


def rates(*pairs: tuple[dt.date, str]) -> None:
    for start, percent in pairs:
        DepositInterestRate.objects.create(start_date=start, annual_percent=D(percent))


def served_account(*, opened: dt.date, service_point=None, customer=None, rate_code: str = "RES-TOU", **kw):
    """An account with an agreement at `service_point` (a new residential one by default)."""
    extra = {"customer": customer} if customer is not None else {}
    account = AccountFactory(opened_date=opened, **extra, **kw)
    sp = service_point or ServicePointFactory()
    ServiceAgreementFactory(account=account, service_point=sp, start_date=opened, rate_code=rate_code)
    return account


def issue(account, *, total: str, on: dt.date, kind: str = Bill.Kind.REGULAR, segment: bool = True) -> Bill:
    """A bill of `total` issued on `on` through bill_issue (the deposit hook runs), with one live
    segment at the account's service point so the premise's average monthly bill sees it."""
    bill = Bill.objects.create(account=account, kind=kind, status=Bill.Status.APPROVED, period_start=on - dt.timedelta(days=30),
                               period_end=on, bill_date=on, due_date=on + dt.timedelta(days=21), total=D(total))
    if segment:
        agreement = account.agreements.order_by("pk").first()
        BillSegment.objects.create(bill=bill, account=account, agreement=agreement, service_point=agreement.service_point,
                                   rate_code=agreement.rate_code, period_start=bill.period_start, period_end=on,
                                   subtotal=D(total))
    bill = bill_issue(bill=bill, now=timezone.now(), actor=CLERK)
    bill.refresh_from_db()
    return bill


def collection_action(account, *, kind: str, on: dt.date) -> CollectionAction:
    case = CollectionCase.objects.filter(account=account, status=CollectionCase.Status.OPEN).first() or \
        CollectionCase.objects.create(account=account, customer_class="residential", opened_on=on, oldest_due_date=on)
    return CollectionAction.objects.create(case=case, account=account, kind=kind, action_date=on, overdue_amount=D("100.00"))


def assert_held_adds_up(deposit: Deposit) -> None:
    deposit.refresh_from_db()
    total = DepositEntry.objects.filter(deposit=deposit).aggregate(s=Sum("amount"))["s"] or D("0.00")
    assert deposit.held_amount == total
