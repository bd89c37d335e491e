"""payment_post: the one posting service (receipt, ledger, allocation, audit), duplicate
external references, and allocation order by age and charge kind."""
from __future__ import annotations

import datetime as dt

import pghistory.models
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.db import IntegrityError, ProgrammingError, transaction

from billing.models import Bill, LedgerEntry
from billing.payments.models import Allocation, AllocationPriority, Fee, Payment
from billing.payments.tests.helpers import CLERK, D, assert_consistent, bill_entry, charge, issued_bill, open_amounts
from billing.services import PaymentDuplicate, accounts_allocate, bills_issue, ledger, payment_post
from cis.tests.factories import AccountFactory
from core.actors import Actor

pytestmark = pytest.mark.django_db
JAN, FEB, MAR, APR = (dt.date(2026, m, 1) for m in (1, 2, 3, 4))


def post(account_id: int, amount: str, *, on: dt.date = MAR, channel: str = "cashier", tender: str = "cash",
         external_reference: str = "", actor: Actor = CLERK) -> Payment:
    return payment_post(account_id=account_id, amount=amount, received_date=on, channel=channel, tender_type=tender,
                        external_reference=external_reference, actor=actor)


def test_a_payment_gets_a_receipt_a_ledger_credit_and_who_and_why(billing_user):
    account = AccountFactory()
    payment = payment_post(account_id=account.pk, amount="80.10", received_date=MAR, channel="cashier",
                           tender_type="cheque", reference="CHQ 311", reason="walk-in", actor=Actor.of(billing_user))
    second = post(account.pk, "1.00")
    assert payment.receipt_number.startswith("R") and int(second.receipt_number[1:]) == int(payment.receipt_number[1:]) + 1
    entry = payment.ledger_entry
    assert (entry.kind, entry.amount, entry.effective_date, entry.created_by) == ("payment", D("-80.10"), MAR, billing_user)
    assert (payment.amount, payment.tender_type, payment.actor, payment.created_by) == (
        D("80.10"), "cheque", billing_user.username, billing_user)
    event = pghistory.models.Events.objects.tracks(payment).get()
    assert event.pgh_context["action"] == "payment_post" and event.pgh_context["reason"] == "walk-in"
    assert event.pgh_context["user"] == billing_user.pk
    assert ledger.account_balance(account_id=account.pk) == D("-81.10")


@pytest.mark.parametrize("amount, field", [("0", "amount"), ("-5.00", "amount"), ("12.345", "amount"),
                                           ("abc", "amount"), ("NaN", "amount")])
def test_bad_amounts_are_refused_and_nothing_is_posted(amount, field):
    account = AccountFactory()
    with pytest.raises(ValidationError) as raised:
        post(account.pk, amount)
    assert field in raised.value.message_dict
    assert not LedgerEntry.objects.filter(account_id=account.pk).exists()


def test_an_unknown_tender_or_channel_is_refused():
    account = AccountFactory()
    with pytest.raises(ValidationError, match="tender_type"):
        post(account.pk, "5.00", tender="bitcoin")
    with pytest.raises(ValidationError, match="channel"):
        post(account.pk, "5.00", channel="pigeon")
    assert not Payment.objects.exists()


def test_the_same_external_reference_on_a_channel_is_posted_once():
    account = AccountFactory()
    first = post(account.pk, "40.00", channel="lockbox", tender="cheque", external_reference="BOX7-0001")
    with pytest.raises(PaymentDuplicate) as raised:
        post(account.pk, "40.00", channel="lockbox", tender="cheque", external_reference="BOX7-0001")
    assert raised.value.payment == first
    # Another channel may use the same text; a blank reference is never a duplicate.
    post(account.pk, "40.00", channel="card", tender="card", external_reference="BOX7-0001")
    post(account.pk, "1.00")
    post(account.pk, "1.00")
    assert ledger.account_balance(account_id=account.pk) == D("-82.00")


def test_the_database_refuses_a_second_payment_with_the_same_channel_reference():
    account = AccountFactory()
    first = post(account.pk, "40.00", channel="lockbox", tender="cheque", external_reference="BOX7-0002")
    entry = ledger.ledger_post_payment(account_id=account.pk, amount="40.00", received_date=MAR)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(receipt_number="R-DUP", account_id=account.pk, channel="lockbox", tender_type="cheque",
                               amount=D("40.00"), received_date=MAR, external_reference=first.external_reference,
                               ledger_entry=entry, actor="sql")


def test_payment_rows_are_append_only():
    account = AccountFactory()
    charge(account_id=account.pk, amount="10.00", on=JAN)
    payment = post(account.pk, "10.00")
    assert Allocation.objects.filter(credit=payment.ledger_entry).exists()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount=D("1.00"))
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Allocation.objects.all().delete()


def test_a_payment_pays_the_oldest_bill_first_then_fees():
    account = AccountFactory()
    # A fee older than both bills: fees rank after bills by default, so the bills are paid first.
    fee_entry = charge(account_id=account.pk, amount="25.00", on=dt.date(2025, 12, 15))
    Fee.objects.create(account_id=account.pk, kind=Fee.Kind.RETURNED_PAYMENT, amount=D("25.00"), ledger_entry=fee_entry)
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=JAN))
    feb = bill_entry(issued_bill(account_id=account.pk, total="60.00", bill_date=FEB))
    payment = post(account.pk, "130.00")
    paid = {a.charge_id: a.amount for a in Allocation.objects.filter(credit=payment.ledger_entry)}
    assert paid == {jan.pk: D("100.00"), feb.pk: D("30.00")}
    assert open_amounts(account.pk) == {feb.pk: D("30.00"), fee_entry.pk: D("25.00")}
    post(account.pk, "55.00", on=MAR)
    assert open_amounts(account.pk) == {}
    assert_consistent(account.pk, as_of=MAR)


def test_the_priority_by_charge_kind_is_configuration():
    account = AccountFactory()
    AllocationPriority.objects.update_or_create(kind="adjustment", defaults={"rank": 1})  # adjustments before bills
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=JAN))
    adjustment = charge(account_id=account.pk, amount="20.00", on=FEB)
    post(account.pk, "50.00")
    assert open_amounts(account.pk) == {jan.pk: D("70.00")}
    assert adjustment.pk not in open_amounts(account.pk)
    assert_consistent(account.pk, as_of=MAR)


def test_an_overpayment_is_a_credit_applied_to_the_next_bill_when_it_is_posted():
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=JAN))
    payment = post(account.pk, "150.00", on=dt.date(2026, 1, 20))
    items_after_payment = open_amounts(account.pk)
    assert items_after_payment == {}
    assert_consistent(account.pk, as_of=dt.date(2026, 1, 20))
    feb = bill_entry(issued_bill(account_id=account.pk, total="80.00", bill_date=FEB))
    # The bill paid itself from the 50.00 credit when it was posted: 30.00 of it is open.
    assert open_amounts(account.pk) == {feb.pk: D("30.00")}
    assert {a.charge_id: a.amount for a in Allocation.objects.filter(credit=payment.ledger_entry)} == {
        jan.pk: D("100.00"), feb.pk: D("50.00")}
    assert ledger.account_balance(account_id=account.pk) == D("30.00")
    assert_consistent(account.pk, as_of=FEB)


def test_a_credit_adjustment_also_pays_charges():
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=JAN))
    ledger.ledger_post_adjustment(account_id=account.pk, amount="-40.00", effective_date=FEB, reason="goodwill")
    assert open_amounts(account.pk) == {jan.pk: D("60.00")}
    assert_consistent(account.pk, as_of=FEB)


def test_a_cancelled_bill_gives_its_payment_back_as_credit():
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=JAN))
    payment = post(account.pk, "100.00", on=dt.date(2026, 1, 15))
    ledger.ledger_reverse(entry=jan, reason="wrong meter", effective_date=dt.date(2026, 1, 20))
    items = open_amounts(account.pk)
    assert items == {}
    assert ledger.account_balance(account_id=account.pk) == D("-100.00")
    released = Allocation.objects.filter(credit=payment.ledger_entry, amount__lt=0).get()
    assert released.amount == D("-100.00") and released.reason == "Reversed in the ledger"
    feb = bill_entry(issued_bill(account_id=account.pk, total="70.00", bill_date=FEB))
    assert open_amounts(account.pk) == {}
    assert Allocation.objects.filter(charge=feb, credit=payment.ledger_entry).get().amount == D("70.00")
    assert_consistent(account.pk, as_of=FEB)


def test_accounts_allocate_settles_charges_posted_in_bulk_without_the_hook():
    account = AccountFactory()
    post(account.pk, "30.00", on=JAN)
    # A bill run issues with one bulk insert: no post_save, so nothing is allocated yet.
    (entry,) = LedgerEntry.objects.bulk_create([LedgerEntry(account_id=account.pk, kind="bill", amount=D("45.00"),
                                                            effective_date=FEB, description="Bill bulk")])
    assert open_amounts(account.pk) == {entry.pk: D("45.00")}
    assert_consistent(account.pk, as_of=FEB)  # consistent before settling, too
    assert accounts_allocate(account_ids=[account.pk, account.pk], on_date=FEB) == 1
    assert open_amounts(account.pk) == {entry.pk: D("15.00")}
    assert accounts_allocate(account_ids=[account.pk], on_date=FEB) == 0  # idempotent
    assert_consistent(account.pk, as_of=FEB)


def test_the_database_refuses_allocating_more_than_a_charge():
    account = AccountFactory()
    jan = charge(account_id=account.pk, amount="10.00", on=JAN)
    payment = post(account.pk, "10.00")
    other = ledger.ledger_post_payment(account_id=account.pk, amount="5.00", received_date=MAR)
    with pytest.raises(IntegrityError, match="outside 0..10.00"), transaction.atomic():
        Allocation.objects.create(account_id=account.pk, credit=other, charge=jan, amount=D("5.00"), allocated_date=MAR)
    with pytest.raises(IntegrityError, match="positive entry"), transaction.atomic():
        Allocation.objects.create(account_id=account.pk, credit=jan, charge=payment.ledger_entry, amount=D("1.00"),
                                  allocated_date=MAR)


def test_balance_and_aging_stay_consistent_through_a_mixed_year():
    account = AccountFactory()
    as_of = dt.date(2026, 12, 31)
    for month in range(1, 13):
        issued_bill(account_id=account.pk, total=f"{80 + month}.{month:02d}", bill_date=dt.date(2026, month, 1))
        if month % 3:
            post(account.pk, f"{70 + month * 2}.33", on=dt.date(2026, month, 20))
        if month == 6:
            charge(account_id=account.pk, amount="12.50", on=dt.date(2026, 6, 2))
        assert_consistent(account.pk, as_of=dt.date(2026, month, 28))
    assert_consistent(account.pk, as_of=as_of)
    aging = ledger.account_aging(account_id=account.pk, as_of=as_of)
    assert aging.total == ledger.account_balance(account_id=account.pk)


def test_accounts_allocate_settles_many_accounts_in_batches():
    accounts = [AccountFactory() for _ in range(5)]
    for account in accounts:
        post(account.pk, "20.00", on=JAN)
    entries = LedgerEntry.objects.bulk_create([
        LedgerEntry(account_id=a.pk, kind="bill", amount=D("12.34"), effective_date=FEB, description="Bill bulk")
        for a in accounts])
    assert accounts_allocate(account_ids=[a.pk for a in accounts], on_date=FEB, batch=2) == 5
    for account, entry in zip(accounts, entries):
        assert open_amounts(account.pk) == {}
        assert Allocation.objects.get(charge=entry).amount == D("12.34")
        assert_consistent(account.pk, as_of=FEB)


def test_bills_issued_together_by_a_run_are_paid_from_unapplied_credit():
    """A bill run issues its bills with one bulk insert of ledger entries (no post_save): an
    account in credit still pays its new bill from that credit, one without credit is left open."""
    in_credit, owing = AccountFactory(), AccountFactory()
    payment = post(in_credit.pk, "150.00", on=dt.date(2026, 1, 20))
    bills = [Bill.objects.create(account_id=account.pk, status=Bill.Status.APPROVED, period_start=FEB - dt.timedelta(days=30),
                                 period_end=FEB, bill_date=FEB, due_date=FEB + dt.timedelta(days=21), total=D("80.00"))
             for account in (in_credit, owing)]
    assert bills_issue(bills=bills, now=timezone.now(), actor=Actor.system("run test")) == 2
    credited_bill, owing_bill = (bill_entry(b) for b in bills)
    assert open_amounts(in_credit.pk) == {}
    assert {a.charge_id: a.amount for a in Allocation.objects.filter(credit=payment.ledger_entry)} == {
        credited_bill.pk: D("80.00")}
    assert open_amounts(owing.pk) == {owing_bill.pk: D("80.00")}
    for account in (in_credit, owing):
        assert_consistent(account.pk, as_of=FEB)
