"""Bills carried over from a legacy system (billing.services.bill_legacy_issue, what the demo
loads): issued through the one issue service, so the ledger, allocation and collections see
them as any bill; bad totals and dates are refused by field."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services import bill_legacy_issue
from billing.services.ledger import account_balance
from cis.tests.factories import AccountFactory
from core.actors import Actor

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("conversion test")


def test_a_legacy_bill_is_issued_with_its_ledger_entry():
    account = AccountFactory()
    bill = bill_legacy_issue(account_id=account.pk, total="123.45", bill_date=dt.date(2026, 5, 1),
                             due_date=dt.date(2026, 5, 22), actor=ACTOR, now=timezone.now())
    assert (bill.status, bill.total, bill.period_start, bill.bill_number) == (
        "issued", Decimal("123.45"), dt.date(2026, 4, 1), f"B{bill.pk:010d}")
    entry = LedgerEntry.objects.get(bill=bill)
    assert (entry.kind, entry.amount, entry.idempotency_key) == ("bill", Decimal("123.45"), f"bill:{bill.pk}")
    assert account_balance(account_id=account.pk) == Decimal("123.45")


@pytest.mark.parametrize(("total", "due", "field"), [("0", dt.date(2026, 5, 22), "total"),
                                                     ("10.005", dt.date(2026, 5, 22), "total"),
                                                     ("10.00", dt.date(2026, 4, 30), "due_date")])
def test_bad_totals_and_dates_are_refused_by_field(total, due, field):
    account = AccountFactory()
    with pytest.raises(ValidationError) as refused:
        bill_legacy_issue(account_id=account.pk, total=total, bill_date=dt.date(2026, 5, 1), due_date=due, actor=ACTOR,
                          now=timezone.now())
    assert field in refused.value.message_dict
    assert not LedgerEntry.objects.filter(account_id=account.pk).exists()
