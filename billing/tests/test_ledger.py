import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import ProgrammingError, connection, transaction

from billing.services import ledger
from billing.models import LedgerEntry
from cis.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
D = Decimal
# Ledger entries point at real accounts (a foreign key): five of them, numbered 1 to 5.
ACCOUNT: dict[int, int] = {}


@pytest.fixture(autouse=True)
def _accounts():
    ACCOUNT.update({n: AccountFactory().pk for n in (1, 2, 3, 4, 5)})


def test_payment_is_a_credit_and_balance_is_the_sum():
    ledger.ledger_post_adjustment(account_id=ACCOUNT[1], amount="120.50", effective_date=dt.date(2026, 1, 1), reason="opening")
    ledger.ledger_post_payment(account_id=ACCOUNT[1], amount="100.00", received_date=dt.date(2026, 1, 10), reference="CHQ 12")
    assert ledger.account_balance(account_id=ACCOUNT[1]) == D("20.50")


def test_posted_rows_cannot_be_edited_or_deleted_by_the_database():
    entry = ledger.ledger_post_payment(account_id=ACCOUNT[1], amount="10.00", received_date=dt.date(2026, 1, 10))
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("-5.00"))
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM billing_ledgerentry WHERE id = %s", [entry.pk])


def test_reversal_offsets_the_entry_once_only():
    entry = ledger.ledger_post_adjustment(account_id=ACCOUNT[2], amount="-15.00", effective_date=dt.date(2026, 2, 1), reason="goodwill")
    rev = ledger.ledger_reverse(entry=entry, reason="posted to wrong account", effective_date=dt.date(2026, 2, 2))
    assert rev.amount == D("15.00") and rev.reverses == entry
    assert ledger.account_balance(account_id=ACCOUNT[2]) == D("0.00")
    with pytest.raises(ledger.LedgerError, match="already reversed"):
        ledger.ledger_reverse(entry=entry, reason="again", effective_date=dt.date(2026, 2, 3))


def test_bad_amounts_get_field_messages():
    with pytest.raises(ValidationError) as err:
        ledger.ledger_post_payment(account_id=ACCOUNT[1], amount="12.345", received_date=dt.date(2026, 1, 1))
    assert "2 decimal places" in str(err.value.message_dict["amount"])
    with pytest.raises(ValidationError) as err:
        ledger.ledger_post_adjustment(account_id=ACCOUNT[1], amount="5", effective_date=dt.date(2026, 1, 1), reason=" ")
    assert "reason" in err.value.message_dict
    with pytest.raises(ValidationError):
        ledger.ledger_post_payment(account_id=ACCOUNT[1], amount="abc", received_date=dt.date(2026, 1, 1))


def test_idempotency_key_posts_once():
    a = ledger.ledger_post_payment(account_id=ACCOUNT[3], amount="50.00", received_date=dt.date(2026, 1, 1), idempotency_key="bank:1")
    b = ledger.ledger_post_payment(account_id=ACCOUNT[3], amount="50.00", received_date=dt.date(2026, 1, 1), idempotency_key="bank:1")
    assert a.pk == b.pk and ledger.account_balance(account_id=ACCOUNT[3]) == D("-50.00")


def test_aging_applies_credits_to_the_oldest_charges_first():
    as_of = dt.date(2026, 6, 30)
    # charges: 100 at 120 days old (90+), 80 at 75 days (60), 60 at 45 days (30), 40 at 10 days (current)
    for amount, days in (("100.00", 120), ("80.00", 75), ("60.00", 45), ("40.00", 10)):
        ledger.ledger_post_adjustment(account_id=ACCOUNT[4], amount=amount, effective_date=as_of - dt.timedelta(days=days), reason="charge")
    # a payment of 130 clears the 100 (90+) and 30 of the 80 (60 bucket leaves 50)
    ledger.ledger_post_payment(account_id=ACCOUNT[4], amount="130.00", received_date=as_of - dt.timedelta(days=5))
    aging = ledger.account_aging(account_id=ACCOUNT[4], as_of=as_of)
    assert (aging.current, aging.days_30, aging.days_60, aging.days_90_plus) == (D("40.00"), D("60.00"), D("50.00"), D("0.00"))
    assert aging.total == ledger.account_balance(account_id=ACCOUNT[4]) == D("150.00")


def test_overpayment_shows_as_negative_current():
    ledger.ledger_post_adjustment(account_id=ACCOUNT[5], amount="20.00", effective_date=dt.date(2026, 1, 1), reason="x")
    ledger.ledger_post_payment(account_id=ACCOUNT[5], amount="50.00", received_date=dt.date(2026, 1, 2))
    aging = ledger.account_aging(account_id=ACCOUNT[5], as_of=dt.date(2026, 3, 1))
    assert aging.current == D("-30.00") and aging.total == D("-30.00")
