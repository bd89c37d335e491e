"""Shared set-up for the payments tests (billing/tests/test_payments_*.py): bills issued through
billing's own issue service, charges and the ledger/allocation consistency check."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from billing.models import Bill, LedgerEntry
from billing.payments import selectors
from billing.services import ledger
from billing.services.runs import bill_issue
from core.actors import Actor

D = Decimal
CLERK = Actor.system("payments test")


def issued_bill(*, account_id: int, total: str, bill_date: dt.date) -> Bill:
    """A bill of `total` issued on `bill_date` through billing.services.runs.bill_issue (its
    ledger entry posted by ledger_post_bill, as for off-cycle, final and rebills)."""
    bill = Bill.objects.create(account_id=account_id, status=Bill.Status.APPROVED, period_start=bill_date - dt.timedelta(days=30),
                               period_end=bill_date, bill_date=bill_date, due_date=bill_date + dt.timedelta(days=21),
                               total=D(total))
    return bill_issue(bill=bill, now=timezone.now(), actor=CLERK)


def charge(*, account_id: int, amount: str, on: dt.date) -> LedgerEntry:
    return ledger.ledger_post_adjustment(account_id=account_id, amount=amount, effective_date=on, reason="test charge")


def bill_entry(bill: Bill) -> LedgerEntry:
    return LedgerEntry.objects.get(bill=bill, kind=LedgerEntry.Kind.BILL)


def open_amounts(account_id: int) -> dict[int, Decimal]:
    return {c.entry_id: c.open for c in selectors.account_open_items(account_id=account_id).charges}


def assert_consistent(account_id: int, *, as_of: dt.date) -> None:
    """Open charges less unapplied credit equal the ledger balance, and so does aging's total."""
    items = selectors.account_open_items(account_id=account_id)
    balance = ledger.account_balance(account_id=account_id)
    assert items.owed - items.credit == balance
    assert selectors.account_aging_by_allocation(account_id=account_id, as_of=as_of).total == balance
