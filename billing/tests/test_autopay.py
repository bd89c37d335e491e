"""Autopay: enrolment (validation, encryption at rest, masking, one active per account), the
NACHA PPD debit file for bills due on a date (layout, totals, idempotency, holds above the
maximum) and the returns file read back into returned payments (issue 10, "Done when 2")."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from billing.models import Bill
from billing.payments import autopay, nacha
from billing.payments.autopay_models import AutopayDebit, AutopayEnrolment
from billing.payments.models import Fee, Payment, PaymentReturn, PaymentSettings
from billing.payments.tests.helpers import CLERK, D, assert_consistent, issued_bill
from billing.services import ledger, payment_post
from cis.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
DUE = dt.date(2026, 2, 22)  # issued_bill: bill date + 21 days
BILL_DATE = dt.date(2026, 2, 1)
ROUTING = "011000015"  # a valid ABA check sum
ROUTING_2 = "091000019"


def enrol(account, *, number="123456789", routing=ROUTING, max_amount=None, account_type="checking"):
    return autopay.autopay_enrol(account_id=account.pk, routing_number=routing, account_number=number,
                                 account_type=account_type, holder_name="Éloïse Bédard", start_date=dt.date(2026, 1, 1),
                                 max_amount=max_amount, actor=CLERK)


def test_routing_numbers_are_checked_with_the_aba_check_sum():
    assert nacha.aba_checksum_ok(ROUTING) and nacha.aba_checksum_ok(ROUTING_2)
    account = AccountFactory()
    with pytest.raises(ValidationError) as bad:
        enrol(account, routing="011000016")
    assert bad.value.message_dict["routing_number"] == [
        "011000016 is not a valid routing number: its check digit should be 5, not 6 (ABA check sum). "
        "Check the number on the cheque or with the bank."]
    with pytest.raises(ValidationError) as short:
        autopay.autopay_enrol(account_id=account.pk, routing_number="12345", account_number="12", account_type="cheque",
                              holder_name=" ", start_date=DUE, max_amount="-1", actor=CLERK)
    assert set(short.value.message_dict) == {"routing_number", "account_number", "account_type", "holder_name",
                                             "max_amount"}
    assert short.value.message_dict["account_number"] == ["A bank account number is 4 to 17 digits."]
    assert not AutopayEnrolment.objects.exists()


def test_bank_details_are_encrypted_at_rest_and_shown_masked():
    account = AccountFactory()
    enrolment = enrol(account, number="000123456789")
    with connection.cursor() as cursor:
        cursor.execute("SELECT routing_number_encrypted, account_number_encrypted, account_last4 "
                       "FROM billing_autopayenrolment WHERE id = %s", [enrolment.pk])
        routing_stored, number_stored, last4 = cursor.fetchone()
    assert "123456789" not in number_stored and ROUTING not in routing_stored
    assert autopay.decrypt(number_stored) == "000123456789" and autopay.decrypt(routing_stored) == ROUTING
    assert last4 == "6789" and autopay.masked_account(enrolment) == "•••• 6789"
    # A short account number shows none of its digits.
    other = enrol(AccountFactory(), number="98765")
    assert other.account_last4 == "" and autopay.masked_account(other) == "••••"


def test_one_active_enrolment_per_account_in_the_database():
    account = AccountFactory()
    first = enrol(account)
    with pytest.raises(autopay.AutopayError, match="already has an active"):
        enrol(account)
    with pytest.raises(IntegrityError), transaction.atomic():
        AutopayEnrolment.objects.create(account=account, routing_number_encrypted="x", account_number_encrypted="y",
                                        account_type="checking", holder_name="X", start_date=DUE, actor="t")
    with pytest.raises(ValidationError):
        autopay.autopay_cancel(enrolment=first, reason=" ", actor=CLERK)
    cancelled = autopay.autopay_cancel(enrolment=first, reason="Customer asked", actor=CLERK)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "Customer asked"
    with pytest.raises(autopay.AutopayError, match="already cancelled"):
        autopay.autopay_cancel(enrolment=first, reason="again", actor=CLERK)
    assert enrol(account).status == "active"  # a new enrolment after the cancelled one
    events = first.events.order_by("pgh_id")
    assert [e.status for e in events] == ["active", "cancelled"]
    assert events.last().pgh_context.metadata["reason"] == "Customer asked"


def _records(content: str) -> list[str]:
    lines = content.splitlines()
    assert all(len(line) == 94 for line in lines) and len(lines) % 10 == 0
    return lines


def test_the_debit_file_is_a_ppd_file_and_posts_each_debit_once():
    accounts = [AccountFactory() for _ in range(4)]
    enrol(accounts[0])
    enrol(accounts[1], number="55554444", routing=ROUTING_2, account_type="savings")
    enrol(accounts[2], max_amount="50.00")  # its bill of 80.00 is held
    bills = [issued_bill(account_id=a.pk, total=t, bill_date=BILL_DATE)
             for a, t in zip(accounts, ("100.00", "42.17", "80.00", "60.00"))]
    issued_bill(account_id=accounts[0].pk, total="10.00", bill_date=dt.date(2026, 1, 2))  # due another day

    run = autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    records = _records(run.content)
    kinds = [r[0] for r in records]
    assert kinds == ["1", "5", "6", "6", "8", "9"] + ["9"] * 4
    header, batch, first, second, control, file_control = records[:6]
    assert header[3:13] == " 021000021" and header[13:23] == "1234567890" and header[33] == "A"
    assert header[34:40] == "094101"
    assert batch[1:4] == "225" and batch[50:53] == "PPD" and batch[40:50] == "1234567890"
    assert batch[69:75] == "260222" and batch[79:87] == "02100002"
    assert first[1:3] == "27" and first[3:12] == ROUTING and first[12:29] == "123456789".ljust(17)
    assert first[29:39] == "0000010000" and first[39:54].strip() == accounts[0].account_number
    assert second[1:3] == "37" and second[3:12] == ROUTING_2 and second[29:39] == "0000004217"
    assert control[4:10] == "000002" and control[10:20] == str(1100001 + 9100001).rjust(10, "0")
    assert control[20:32] == "000000014217" and control[32:44] == "0" * 12
    assert file_control[1:7] == "000001" and file_control[7:13] == "000001" and file_control[13:21] == "00000002"
    assert file_control[31:43] == "000000014217"
    assert records[6] == "9" * 94

    debits = {d.bill_id: d for d in AutopayDebit.objects.all()}
    assert set(debits) == {bills[0].pk, bills[1].pk, bills[2].pk}
    assert debits[bills[2].pk].status == "held" and not debits[bills[2].pk].trace_number
    sent = debits[bills[0].pk]
    assert sent.status == "sent" and sent.trace_number == first[79:94] and sent.trace_number.startswith("02100002")
    payment = sent.payment
    assert (payment.channel, payment.tender_type, payment.amount, payment.received_date, payment.external_reference) \
        == ("autopay", "eft", D("100.00"), DUE, sent.trace_number)
    assert ledger.account_balance(account_id=accounts[0].pk) == D("10.00")  # the other bill is still owed
    assert [d.pk for d in run.held] == [debits[bills[2].pk].pk]

    # The same due date again: nothing new, the same file handed back.
    again = autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    assert again.file is None and again.content == run.content
    assert Payment.objects.filter(channel="autopay").count() == 2 and AutopayDebit.objects.count() == 3
    # The database keeps one debit per bill.
    with pytest.raises(IntegrityError), transaction.atomic():
        AutopayDebit.objects.create(bill=bills[0], enrolment=sent.enrolment, account=accounts[0], due_date=DUE,
                                    amount=D("1.00"), status="held")
    # A bill enrolled later for the same date goes in a second file (modifier B), alone.
    enrol(accounts[3])
    later = autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    assert later.file is not None and later.file.file_id_modifier == "B"
    assert [r[0] for r in _records(later.content)].count("6") == 1


def test_a_bill_already_paid_is_not_debited_and_a_partial_payment_is_netted():
    paid, partial = AccountFactory(), AccountFactory()
    for account in (paid, partial):
        enrol(account)
        issued_bill(account_id=account.pk, total="90.00", bill_date=BILL_DATE)
    for account, amount in ((paid, "90.00"), (partial, "30.00")):
        payment_post(account_id=account.pk, amount=amount, received_date=dt.date(2026, 2, 10), channel="cashier",
                     tender_type="cash", actor=CLERK)
    autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    assert list(AutopayDebit.objects.values_list("account_id", "amount")) == [(partial.pk, D("60.00"))]


def test_the_returns_file_returns_payments_with_fees_and_cancels_closed_accounts():
    """Issue 10, "Done when 2": a debit file for the bills due on a date, then a returns file
    reversing two of them with fees."""
    PaymentSettings.objects.update_or_create(id=1, defaults={"returned_payment_fee": D("35.00")})
    accounts = [AccountFactory() for _ in range(3)]
    enrolments = [enrol(a, number=f"4000000{i}21") for i, a in enumerate(accounts)]
    for account in accounts:
        issued_bill(account_id=account.pk, total="75.50", bill_date=BILL_DATE)
    autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    debits = list(AutopayDebit.objects.order_by("account_id"))
    entries = [nacha.DebitEntry(routing_number=ROUTING, account_number=f"4000000{i}21", account_type="checking",
                                amount=d.amount, individual_id="x", individual_name="x", trace_number=d.trace_number)
               for i, d in enumerate(debits)]
    content = nacha.write_returns_file(originator=autopay.originator(), returns=[(entries[0], "R01"), (entries[1], "R02")],
                                       created_at=dt.datetime(2026, 2, 25, 9, 30))
    bad = content.splitlines()
    bad.insert(2, "6" + "x" * 50)  # a short record
    result = autopay.autopay_returns_import(content="\n".join(bad) + "\n", actor=CLERK)
    assert [d.pk for d in result.returned] == [debits[0].pk, debits[1].pk]
    assert [(e.line_number, e.field) for e in result.errors] == [(3, "record")]
    for debit in debits[:2]:
        debit.refresh_from_db()
        returned = PaymentReturn.objects.get(payment=debit.payment)
        assert returned.kind == "nsf" and returned.return_date == dt.date(2026, 2, 25)
        assert Fee.objects.get(payment_return=returned).amount == D("35.00")
        assert ledger.account_balance(account_id=debit.account_id) == D("110.50")  # the bill again + the fee
        assert_consistent(debit.account_id, as_of=dt.date(2026, 2, 28))
    assert (debits[0].status, debits[0].return_code, debits[1].return_code) == ("returned", "R01", "R02")
    assert "R01 (insufficient funds)" in PaymentReturn.objects.get(payment=debits[0].payment).reason
    # R02 (account closed) cancels the enrolment; R01 does not.
    statuses = {e.pk: e.status for e in AutopayEnrolment.objects.all()}
    assert statuses == {enrolments[0].pk: "active", enrolments[1].pk: "cancelled", enrolments[2].pk: "active"}
    assert [e.pk for e in result.cancelled] == [enrolments[1].pk]
    assert ledger.account_balance(account_id=accounts[2].pk) == D("0.00")

    # The same file again changes nothing.
    again = autopay.autopay_returns_import(content=content, actor=CLERK)
    assert again.returned == [] and len(again.already) == 2 and again.errors == []
    assert PaymentReturn.objects.count() == 2 and Fee.objects.count() == 2


def test_a_return_of_an_unknown_trace_or_wrong_amount_is_reported_by_line():
    account = AccountFactory()
    enrol(account)
    issued_bill(account_id=account.pk, total="20.00", bill_date=BILL_DATE)
    autopay.autopay_debit_file(due_date=DUE, actor=CLERK)
    debit = AutopayDebit.objects.get()
    wrong_amount = nacha.DebitEntry(routing_number=ROUTING, account_number="123456789", account_type="checking",
                                    amount=D("21.00"), individual_id="x", individual_name="x",
                                    trace_number=debit.trace_number)
    unknown = nacha.DebitEntry(routing_number=ROUTING, account_number="123456789", account_type="checking",
                               amount=D("20.00"), individual_id="x", individual_name="x", trace_number="021000029999999")
    content = nacha.write_returns_file(originator=autopay.originator(), returns=[(wrong_amount, "R01"), (unknown, "R03")],
                                       created_at=dt.datetime(2026, 2, 25, 9, 30))
    result = autopay.autopay_returns_import(content=content, actor=CLERK)
    assert [(e.line_number, e.field) for e in result.errors] == [(3, "amount"), (6, "original_trace_number")]
    assert not PaymentReturn.objects.exists()


def test_bills_of_autopay_accounts_say_so():
    account = AccountFactory()
    enrol(account, number="000123456789")
    bill = issued_bill(account_id=account.pk, total="20.00", bill_date=BILL_DATE)
    assert autopay.bill_autopay_note(bill) == \
        "Paid by pre-authorised debit on February 22, 2026 from account •••• 6789."
    other = issued_bill(account_id=AccountFactory().pk, total="20.00", bill_date=BILL_DATE)
    assert autopay.bill_autopay_note(other) == ""
    assert Bill.objects.count() == 2
