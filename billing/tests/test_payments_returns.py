"""payment_return / payment_reverse: the ledger reversal, reopened charges, the returned-payment
fee as an open charge of kind "fee", and the credit rating."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from billing import selectors
from billing.models import LedgerEntry
from billing.payments.models import Allocation, Fee, PaymentSettings
from billing.payments.tests.helpers import CLERK, D, assert_consistent, bill_entry, issued_bill, open_amounts
from billing.services import PaymentAlreadyReturned, ledger, payment_post, payment_return, payment_reverse
from cis.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


def pay(account_id: int, amount: str, on: dt.date = dt.date(2026, 1, 15)):
    return payment_post(account_id=account_id, amount=amount, received_date=on, channel="lockbox",
                        tender_type="cheque", actor=CLERK)


def test_an_nsf_return_reverses_the_payment_reopens_its_charges_and_charges_the_fee():
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=JAN))
    payment = pay(account.pk, "100.00")
    assert open_amounts(account.pk) == {}
    returned = payment_return(payment=payment, kind="nsf", return_date=dt.date(2026, 1, 22),
                              reason="Bank returned the cheque", actor=CLERK)
    reversal = returned.reversal_entry
    assert (reversal.kind, reversal.amount, reversal.reverses_id) == ("reversal", D("100.00"), payment.ledger_entry_id)
    fee = Fee.objects.get(payment_return=returned)
    assert (fee.amount, fee.kind, fee.ledger_entry.amount) == (D("25.00"), "returned_payment", D("25.00"))
    # The bill is open again in full, and the fee is an open charge of kind "fee".
    items = {c.entry_id: (c.kind, c.open) for c in selectors.account_open_items(account_id=account.pk).charges}
    assert items == {jan.pk: ("bill", D("100.00")), fee.ledger_entry_id: ("fee", D("25.00"))}
    assert ledger.account_balance(account_id=account.pk) == D("125.00")
    release = Allocation.objects.get(credit=payment.ledger_entry, amount__lt=0)
    assert release.amount == D("-100.00") and "NSF" in release.reason
    assert returned.counts_for_credit and returned.actor == CLERK.username
    assert_consistent(account.pk, as_of=dt.date(2026, 1, 31))


def test_the_fee_is_configuration_and_can_be_waived_per_return():
    account = AccountFactory()
    PaymentSettings.objects.update_or_create(id=1, defaults={"returned_payment_fee": D("42.50")})
    first = payment_return(payment=pay(account.pk, "10.00"), kind="chargeback", return_date=FEB, reason="disputed",
                           actor=CLERK)
    second = payment_return(payment=pay(account.pk, "10.00"), kind="nsf", return_date=FEB, reason="NSF", fee="0",
                            actor=CLERK)
    assert Fee.objects.get(payment_return=first).amount == D("42.50")
    assert not Fee.objects.filter(payment_return=second).exists()
    assert ledger.account_balance(account_id=account.pk) == D("42.50")
    with pytest.raises(ValidationError, match="fee"):
        payment_return(payment=pay(account.pk, "10.00"), kind="nsf", return_date=FEB, reason="x", fee="-1",
                       actor=CLERK)


def test_other_credit_pays_the_reopened_charges():
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=JAN))
    bounced = pay(account.pk, "100.00")
    pay(account.pk, "60.00", on=dt.date(2026, 1, 16))  # an overpayment: 60.00 of credit
    payment_return(payment=bounced, kind="nsf", return_date=dt.date(2026, 1, 25), reason="NSF", actor=CLERK)
    fee_entry = Fee.objects.get().ledger_entry
    assert open_amounts(account.pk) == {jan.pk: D("40.00"), fee_entry.pk: D("25.00")}
    assert_consistent(account.pk, as_of=dt.date(2026, 1, 31))


def test_a_payment_is_returned_once():
    account = AccountFactory()
    payment = pay(account.pk, "30.00")
    payment_return(payment=payment, kind="nsf", return_date=FEB, reason="NSF", actor=CLERK)
    with pytest.raises(PaymentAlreadyReturned):
        payment_return(payment=payment, kind="nsf", return_date=FEB, reason="NSF again", actor=CLERK)
    with pytest.raises(PaymentAlreadyReturned):
        payment_reverse(payment=payment, effective_date=FEB, reason="oops", actor=CLERK)
    assert LedgerEntry.objects.filter(account_id=account.pk, kind="reversal").count() == 1
    assert Fee.objects.count() == 1


def test_a_return_needs_a_reason_a_real_kind_and_a_date_after_the_payment():
    payment = pay(AccountFactory().pk, "30.00")
    with pytest.raises(ValidationError, match="reason"):
        payment_return(payment=payment, kind="nsf", return_date=FEB, reason=" ", actor=CLERK)
    with pytest.raises(ValidationError, match="kind"):
        payment_return(payment=payment, kind="posting_error", return_date=FEB, reason="x", actor=CLERK)
    with pytest.raises(ValidationError, match="return_date"):
        payment_return(payment=payment, kind="nsf", return_date=JAN, reason="x", actor=CLERK)
    assert not LedgerEntry.objects.filter(kind="reversal").exists()


def test_a_reversal_charges_no_fee_and_does_not_count_for_credit():
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="50.00", bill_date=JAN))
    payment = pay(account.pk, "50.00")
    undone = payment_reverse(payment=payment, effective_date=dt.date(2026, 1, 16), reason="wrong account", actor=CLERK)
    assert undone.kind == "posting_error" and not undone.counts_for_credit
    assert not Fee.objects.exists()
    assert open_amounts(account.pk) == {jan.pk: D("50.00")}
    assert selectors.account_credit_rating(account_id=account.pk, as_of=FEB).returns == 0
    assert_consistent(account.pk, as_of=FEB)


def test_the_credit_rating_counts_returns_of_the_last_twelve_months():
    account = AccountFactory()
    assert selectors.account_credit_rating(account_id=account.pk, as_of=MAR).rating == "good"
    for received, returned in ((dt.date(2025, 2, 1), dt.date(2025, 2, 20)), (dt.date(2025, 6, 1), dt.date(2025, 6, 10)),
                               (dt.date(2026, 1, 5), dt.date(2026, 1, 12))):
        payment_return(payment=pay(account.pk, "10.00", on=received), kind="nsf", return_date=returned,
                       reason="NSF", actor=CLERK)
    rating = selectors.account_credit_rating(account_id=account.pk, as_of=MAR)
    assert (rating.returns, rating.months, rating.score, rating.rating) == (2, 12, 50, "poor")
    later = selectors.account_credit_rating(account_id=account.pk, as_of=dt.date(2026, 6, 11))
    assert (later.returns, later.rating) == (1, "fair")
    PaymentSettings.objects.update_or_create(id=1, defaults={"credit_rating_months": 24})
    assert selectors.account_credit_rating(account_id=account.pk, as_of=MAR).returns == 3
    other = AccountFactory()
    assert selectors.account_credit_rating(account_id=other.pk, as_of=MAR).returns == 0
