"""Issue 10, "Done when 5": deposits are required by rule (each trigger), billed in instalments
on the account's bills, paid and held apart from the account balance, accrue interest across a
rate change and are credited yearly, refunded on good payment history (to the account or by
cheque), applied to the final bill on move-out, and transferred to a new account of the same
customer. Bills go through billing's own issue service, payments and returns through the
payments services, the review through core.runs."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.deposits import rules
from billing.deposits.selectors import bill_deposit_note
from billing.deposits.models import (
    Deposit,
    DepositClass,
    DepositEntry,
    DepositInstalment,
    DepositInterest,
    DepositRecommendation,
    DepositRefund,
    DepositReview,
)
from billing.models import Bill, LedgerEntry
from billing.services import (
    DepositError,
    bill_cancel,
    deposit_apply,
    deposit_bill_next,
    deposit_refund,
    deposit_refund_paid,
    deposit_require,
    deposit_review_inline,
    deposit_transfer,
    deposit_waive,
    ledger,
    payment_post,
    payment_return,
    recommendation_accept,
    recommendation_dismiss,
)
from billing.tests.deposit_helpers import (
    CLERK,
    D,
    assert_held_adds_up,
    collection_action,
    issue,
    rates,
    residential_class,
    served_account,
)
from cis.tests.factories import AccountFactory, CustomerFactory, ServicePointFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def pay(account, amount: str, on: dt.date):
    return payment_post(account_id=account.pk, amount=amount, received_date=on, channel="cashier", tender_type="cash",
                        actor=CLERK)


def review(on: dt.date) -> DepositReview:
    return deposit_review_inline(run_date=on, now=NOW, chunk_size=2)


def open_recommendations(account, action: str) -> list[DepositRecommendation]:
    return list(DepositRecommendation.objects.filter(account=account, action=action, status="open"))


def previous_occupant_bills(sp, totals: list[str], start: dt.date) -> None:
    """Bills of an earlier customer at the same premise: what the premise's average is made of."""
    earlier = served_account(opened=start - dt.timedelta(days=40), service_point=sp)
    day = start
    for total in totals:
        issue(earlier, total=total, on=day)
        last, day = day, (day + dt.timedelta(days=32)).replace(day=1)
    earlier.agreements.update(end_date=last + dt.timedelta(days=1))  # moved out


# ---- Required by rule -------------------------------------------------------------------------


def test_a_new_customer_is_recommended_a_deposit_of_the_premise_average_times_the_multiple():
    deposit_class = residential_class()
    sp = ServicePointFactory()
    previous_occupant_bills(sp, ["100.00", "80.00", "90.00"], dt.date(2025, 9, 1))
    newcomer = served_account(opened=dt.date(2026, 1, 2), service_point=sp)
    # A long-standing customer opening a second account has good history: no deposit.
    loyal = CustomerFactory()
    AccountFactory(customer=loyal, opened_date=dt.date(2020, 3, 1))
    second = served_account(opened=dt.date(2026, 1, 2), customer=loyal)

    run = review(dt.date(2026, 1, 10))

    assert run.status == "done" and run.recommended >= 1
    (rec,) = open_recommendations(newcomer, "require")
    # Premise average (100 + 80 + 90) / 3 = 90.00 x 2 = 180.00 (below the cap of 2.5 x 90 = 225.00).
    assert (rec.trigger, rec.key, rec.amount, rec.deposit_class) == ("new_customer", "new_customer", D("180.00"), deposit_class)
    assert "0 of 12 months" in rec.reason
    assert not open_recommendations(second, "require")
    deposit = recommendation_accept(recommendation=rec, on=dt.date(2026, 1, 10), actor=CLERK)
    assert isinstance(deposit, Deposit)
    assert [i.amount for i in deposit.instalments.order_by("number")] == [D("60.00")] * 3
    assert deposit.workings["average_monthly_bill"] == "90.00" and deposit.workings["source"].startswith("premise")
    rec.refresh_from_db()
    assert rec.status == "accepted"


def test_the_amount_is_capped_and_raised_to_the_minimum():
    sp = ServicePointFactory()
    previous_occupant_bills(sp, ["100.00"], dt.date(2025, 12, 1))
    account = served_account(opened=dt.date(2026, 1, 2), service_point=sp)
    capped = rules.deposit_amount(account, deposit_class=residential_class(amount_multiple=D("2.50"), minimum_amount=D("400.00")),
                                  as_of=dt.date(2026, 1, 10))
    # 2.5 x 100 = 250, raised to the minimum 400, but never above the cap 2.5 x 100 = 250.
    assert capped.amount == D("250.00")
    assert capped.workings["notes"] == ["raised to the minimum 400.00", "capped at 2.50 x 100.00 = 250.00"]
    # No bills at the premise nor on the rate class: the minimum.
    bare = served_account(opened=dt.date(2026, 1, 2), rate_code="GS-1")
    minimum = rules.deposit_amount(bare, deposit_class=residential_class(code="RES2"), as_of=dt.date(2026, 1, 10))
    assert minimum.amount == D("50.00") and minimum.workings["source"] == "no bills: the minimum"


def test_a_disconnection_for_non_payment_requires_a_deposit_once():
    residential_class()
    account = served_account(opened=dt.date(2020, 1, 1))
    action = collection_action(account, kind="disconnect", on=dt.date(2026, 3, 2))
    review(dt.date(2026, 3, 3))
    (rec,) = open_recommendations(account, "require")
    assert (rec.trigger, rec.key) == ("disconnection", f"disconnection:{action.pk}")
    # Run again the same day, and the next day: nothing new (idempotent).
    assert review(dt.date(2026, 3, 3)).pk == DepositReview.objects.get(run_date=dt.date(2026, 3, 3)).pk
    review(dt.date(2026, 3, 4))
    assert DepositRecommendation.objects.filter(account=account).count() == 1
    # Dismissed, it is not recommended again.
    recommendation_dismiss(recommendation=rec, on=dt.date(2026, 3, 4), actor=CLERK, note="Medical hardship on file")
    review(dt.date(2026, 3, 5))
    assert not open_recommendations(account, "require")


def test_returned_payments_require_a_deposit_at_the_classes_count():
    residential_class(returned_payments_trigger=2)
    account = served_account(opened=dt.date(2020, 1, 1))
    issue(account, total="300.00", on=dt.date(2026, 1, 1))
    first = pay(account, "100.00", dt.date(2026, 1, 5))
    second = pay(account, "100.00", dt.date(2026, 2, 5))
    payment_return(payment=first, kind="nsf", return_date=dt.date(2026, 1, 9), reason="NSF", actor=CLERK, fee="0")
    review(dt.date(2026, 1, 10))
    assert not open_recommendations(account, "require")  # one return: not yet
    returned = payment_return(payment=second, kind="chargeback", return_date=dt.date(2026, 2, 9), reason="Disputed",
                              actor=CLERK, fee="0")
    review(dt.date(2026, 2, 10))
    (rec,) = open_recommendations(account, "require")
    assert (rec.trigger, rec.key) == ("returned_payments", f"returned_payments:{returned.pk}")
    assert "2 returned payments in 12 months" in rec.reason


def test_a_waiver_is_recorded_with_who_and_why_and_asks_nothing_again():
    residential_class()
    account = served_account(opened=dt.date(2026, 1, 2))
    with pytest.raises(ValidationError) as raised:
        deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="New customer", waiver="low_income",
                        trigger="new_customer", trigger_key="new_customer")
    assert "Name the letter" in raised.value.message_dict["waiver_reference"][0]
    waived = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="Reference letter checked",
                             waiver="reference_letter", waiver_reference="Hydro Two letter 2025-12-01",
                             trigger="new_customer", trigger_key="new_customer")
    assert (waived.status, waived.waiver, waived.closed_on) == ("waived", "reference_letter", dt.date(2026, 1, 5))
    assert not waived.instalments.exists()
    event = waived.events.order_by("pgh_id").last()
    assert event.pgh_context.metadata["reason"] == "Reference letter checked"
    assert event.pgh_context.metadata["action"] == "deposit_waive"
    review(dt.date(2026, 1, 10))
    assert not open_recommendations(account, "require")


# ---- Billed in instalments, paid and held apart ------------------------------------------------


def test_instalments_are_billed_on_the_next_bills_and_held_apart_once_paid():
    residential_class()
    account = served_account(opened=dt.date(2025, 12, 1))
    deposit = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="New customer",
                              amount="150.00", trigger="new_customer", trigger_key="new_customer")
    first = issue(account, total="80.00", on=dt.date(2026, 2, 1))
    assert first.amount_due == D("130.00")  # the bill and instalment 1 of 3 (50.00)
    pay(account, "130.00", dt.date(2026, 2, 10))
    review(dt.date(2026, 2, 11))
    deposit.refresh_from_db()
    assert deposit.held_amount == D("50.00") and deposit.interest_from == dt.date(2026, 2, 10)
    bills = [first] + [issue(account, total="80.00", on=day) for day in (dt.date(2026, 3, 1), dt.date(2026, 4, 1))]
    assert [b.amount_due for b in bills] == [D("130.00"), D("130.00"), D("260.00")]
    assert [i.bill_id for i in deposit.instalments.order_by("number")] == [b.pk for b in bills]
    assert LedgerEntry.objects.filter(account=account, fee__kind="deposit").count() == 3
    # A fourth bill carries nothing more.
    fourth = issue(account, total="80.00", on=dt.date(2026, 5, 1))
    assert fourth.amount_due == D("340.00")
    pay(account, "340.00", dt.date(2026, 5, 10))  # everything
    review(dt.date(2026, 5, 11))
    deposit.refresh_from_db()
    assert deposit.held_amount == D("150.00")
    # Held apart: the account owes nothing, and the 150.00 is not a credit on it either.
    assert ledger.account_balance(account_id=account.pk) == D("0.00")
    assert not LedgerEntry.objects.filter(account=account, deposit_entry__isnull=False).exists()
    assert list(DepositEntry.objects.filter(deposit=deposit).values_list("kind", "amount")) == [
        ("payment", D("50.00")), ("payment", D("50.00")), ("payment", D("50.00"))]
    assert_held_adds_up(deposit)


def test_a_returned_payment_takes_the_instalment_back_out_of_the_deposit():
    residential_class(instalments=1)
    account = served_account(opened=dt.date(2025, 12, 1))
    deposit = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="New customer",
                              amount="100.00")
    issue(account, total="40.00", on=dt.date(2026, 2, 1))
    payment = pay(account, "140.00", dt.date(2026, 2, 5))
    review(dt.date(2026, 2, 6))
    deposit.refresh_from_db()
    assert deposit.held_amount == D("100.00")
    payment_return(payment=payment, kind="nsf", return_date=dt.date(2026, 2, 9), reason="NSF", actor=CLERK, fee="0")
    review(dt.date(2026, 2, 10))
    deposit.refresh_from_db()
    assert deposit.held_amount == D("0.00")
    assert deposit.entries.order_by("id").last().kind == "payment_undone"
    assert_held_adds_up(deposit)


# ---- Interest -----------------------------------------------------------------------------


def _held_deposit(account, *, on: dt.date, amount: str = "150.00") -> Deposit:
    deposit = deposit_require(account=account, as_of=on, actor=CLERK, reason="New customer", amount=amount)
    for _ in range(deposit.deposit_class.instalments):
        deposit_bill_next(deposit=deposit, on=on, actor=CLERK)
    pay(account, amount, on)
    review(on)
    deposit.refresh_from_db()
    assert deposit.held_amount == D(amount)
    return deposit


def test_interest_accrues_across_a_rate_change_and_is_credited_yearly_to_the_account():
    residential_class(good_history_months=84)  # no refund within the test
    rates((dt.date(2025, 1, 1), "3.0000"), (dt.date(2026, 7, 1), "5.0000"))
    account = served_account(opened=dt.date(2026, 1, 15))
    deposit = _held_deposit(account, on=dt.date(2026, 2, 1))
    review(dt.date(2027, 1, 31))
    assert not DepositInterest.objects.filter(deposit=deposit).exists()  # not due before the anniversary
    review(dt.date(2027, 2, 1))
    (credit,) = DepositInterest.objects.filter(deposit=deposit)
    # 150 x 3 % x 150/365 (Feb 1 to Jul 1) + 150 x 5 % x 215/365 (Jul 1 to Feb 1) = 1.849315 + 4.417808 = 6.27
    assert [(w["days"], w["annual_percent"], w["interest"]) for w in credit.workings] == [
        (150, "3.0000", "1.849315"), (215, "5.0000", "4.417808")]
    assert (credit.period_start, credit.period_end, credit.amount) == (dt.date(2026, 2, 1), dt.date(2027, 2, 1), D("6.27"))
    assert credit.ledger_entry.amount == D("-6.27") and credit.ledger_entry.kind == "adjustment"
    deposit.refresh_from_db()
    assert deposit.interest_from == dt.date(2027, 2, 1) and deposit.held_amount == D("150.00")
    review(dt.date(2027, 2, 2))
    assert DepositInterest.objects.filter(deposit=deposit).count() == 1


def test_interest_may_be_added_to_the_deposit_instead():
    residential_class(good_history_months=84, interest_credit="deposit", interest_credit_months=6)
    rates((dt.date(2025, 1, 1), "2.0000"))
    account = served_account(opened=dt.date(2026, 1, 15))
    deposit = _held_deposit(account, on=dt.date(2026, 1, 1), amount="365.00")
    review(dt.date(2026, 7, 1))
    deposit.refresh_from_db()
    # 365 x 2 % x 181/365 = 3.62, added to the deposit held (no ledger credit).
    assert deposit.held_amount == D("368.62")
    assert DepositInterest.objects.get(deposit=deposit).ledger_entry is None
    assert_held_adds_up(deposit)


# ---- Refunded on good history ----------------------------------------------------------------


def test_good_payment_history_recommends_a_refund_credited_to_the_account_with_interest():
    residential_class()
    rates((dt.date(2025, 1, 1), "3.6500"))
    account = served_account(opened=dt.date(2026, 1, 15))
    deposit = _held_deposit(account, on=dt.date(2026, 2, 1))
    collection_action(account, kind="disconnect_notice", on=dt.date(2026, 6, 1))  # one incident: still good
    review(dt.date(2026, 12, 1))
    assert not open_recommendations(account, "refund")  # 10 months
    review(dt.date(2027, 2, 1))
    (rec,) = open_recommendations(account, "refund")
    assert "good payment history: 12 months, 1 incident(s)" in rec.reason
    refund = recommendation_accept(recommendation=rec, on=dt.date(2027, 2, 3), actor=CLERK)
    assert isinstance(refund, DepositRefund)
    assert (refund.method, refund.status, refund.amount) == ("account", "paid", D("150.00"))
    assert refund.ledger_entry.amount == D("-150.00")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.held_amount, deposit.closed_on) == ("refunded", D("0.00"), dt.date(2027, 2, 3))
    # Interest: yearly credit on 2027-02-01 (150 x 3.65 % x 365/365 = 5.48) and 2 more days at refund (0.03).
    assert list(DepositInterest.objects.filter(deposit=deposit).values_list("amount", flat=True)) == [D("5.48"), D("0.03")]
    assert ledger.account_balance(account_id=account.pk) == D("-155.51")
    assert_held_adds_up(deposit)


def test_two_incidents_break_good_history_and_no_refund_is_recommended():
    residential_class()
    account = served_account(opened=dt.date(2026, 1, 15))
    _held_deposit(account, on=dt.date(2026, 2, 1))
    collection_action(account, kind="disconnect_notice", on=dt.date(2026, 6, 1))
    issue(account, total="50.00", on=dt.date(2026, 7, 1))
    nsf = pay(account, "50.00", dt.date(2026, 7, 5))
    payment_return(payment=nsf, kind="nsf", return_date=dt.date(2026, 7, 9), reason="NSF", actor=CLERK, fee="0")
    review(dt.date(2027, 2, 1))
    assert not open_recommendations(account, "refund")
    history = rules.payment_history(account_ids=[account.pk], since=dt.date(2026, 2, 1), as_of=dt.date(2027, 2, 1),
                                    deposit_class=residential_class(code="X"))
    assert not history.good and "2 incidents in 12 months (more than 1)" in history.explain()


def test_a_cheque_refund_waits_for_its_cheque_number():
    residential_class(refund_method="cheque")
    account = served_account(opened=dt.date(2026, 1, 15))
    deposit = _held_deposit(account, on=dt.date(2026, 2, 1))
    refund = deposit_refund(deposit=deposit, on=dt.date(2026, 3, 1), actor=CLERK, reason="Customer asked; history good")
    assert (refund.method, refund.status, refund.ledger_entry) == ("cheque", "pending", None)
    assert refund.payee == account.customer.display_name and "Toronto" in refund.mailing_address
    assert ledger.account_balance(account_id=account.pk) == D("0.00")  # nothing credited to the account
    with pytest.raises(ValidationError) as raised:
        deposit_refund_paid(refund=refund, cheque_number=" ", paid_on=dt.date(2026, 3, 2), actor=CLERK)
    assert raised.value.message_dict["cheque_number"] == ["Enter the cheque number."]
    with pytest.raises(ValidationError) as raised:
        deposit_refund_paid(refund=refund, cheque_number="100234", paid_on=dt.date(2026, 2, 2), actor=CLERK)
    assert "before the refund (2026-03-01)" in raised.value.message_dict["paid_on"][0]
    paid = deposit_refund_paid(refund=refund, cheque_number="100234", paid_on=dt.date(2026, 3, 4), actor=CLERK)
    assert (paid.status, paid.cheque_number) == ("paid", "100234")
    with pytest.raises(DepositError, match="not a cheque waiting"):
        deposit_refund_paid(refund=refund, cheque_number="100235", paid_on=dt.date(2026, 3, 4), actor=CLERK)


# ---- Applied on move-out, transferred ------------------------------------------------------------


def test_the_final_bill_takes_the_deposit_and_cancels_unpaid_instalments():
    residential_class()
    rates((dt.date(2025, 1, 1), "3.6500"))
    account = served_account(opened=dt.date(2025, 12, 1))
    deposit = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="New customer", amount="150.00")
    issue(account, total="80.00", on=dt.date(2026, 2, 1))
    issue(account, total="80.00", on=dt.date(2026, 3, 1))
    pay(account, "260.00", dt.date(2026, 3, 5))  # both bills and two instalments
    review(dt.date(2026, 3, 6))
    deposit.refresh_from_db()
    assert deposit.held_amount == D("100.00")
    # Moved out: the final bill of 120.00. The third instalment was never billed (cancelled).
    final = issue(account, total="120.00", on=dt.date(2026, 4, 1), kind=Bill.Kind.FINAL)
    deposit.refresh_from_db()
    assert (deposit.status, deposit.held_amount) == ("applied", D("0.00"))
    # Interest 100 x 3.65 % x 27/365 (Mar 5 to Apr 1) = 0.27, and the 100.00 applied.
    assert DepositInterest.objects.get(deposit=deposit).amount == D("0.27")
    assert final.amount_due == D("120.00") - D("100.00") - D("0.27")
    assert ledger.account_balance(account_id=account.pk) == final.amount_due
    assert list(deposit.instalments.values_list("status", flat=True).order_by("number")) == ["billed", "billed", "cancelled"]
    applied = deposit.entries.get(kind="applied")
    assert applied.amount == D("-100.00") and applied.ledger_entry.amount == D("-100.00")
    assert bill_deposit_note(final) == "Security deposit of 100.00 applied to this bill."
    assert_held_adds_up(deposit)


def test_a_billed_unpaid_instalment_is_reversed_when_the_deposit_is_applied():
    residential_class(instalments=2)
    account = served_account(opened=dt.date(2025, 12, 1))
    deposit = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="New customer", amount="100.00")
    issue(account, total="80.00", on=dt.date(2026, 2, 1))  # 80 + 50 instalment, unpaid
    final = issue(account, total="20.00", on=dt.date(2026, 3, 1), kind=Bill.Kind.FINAL)
    deposit.refresh_from_db()
    assert deposit.status == "cancelled"  # nothing was held: closed, nothing applied
    # The unpaid instalment's charge is reversed: the final bill asks 80 + 20, not 150.
    assert final.amount_due == D("100.00") == ledger.account_balance(account_id=account.pk)


def test_a_deposit_is_transferred_to_a_new_account_of_the_same_customer():
    residential_class()
    account = served_account(opened=dt.date(2025, 12, 1))
    deposit = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="New customer", amount="150.00")
    issue(account, total="80.00", on=dt.date(2026, 2, 1))
    pay(account, "130.00", dt.date(2026, 2, 5))
    new_home = served_account(opened=dt.date(2026, 3, 1), customer=account.customer)
    stranger = served_account(opened=dt.date(2026, 3, 1))
    with pytest.raises(DepositError, match="belongs to another customer"):
        deposit_transfer(deposit=deposit, to_account=stranger, on=dt.date(2026, 3, 1), actor=CLERK, reason="Moved")
    with pytest.raises(DepositError, match="not the one it is on"):
        deposit_transfer(deposit=deposit, to_account=account, on=dt.date(2026, 3, 1), actor=CLERK, reason="Moved")
    moved = deposit_transfer(deposit=deposit, to_account=new_home, on=dt.date(2026, 3, 1), actor=CLERK, reason="Moved house")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.held_amount) == ("transferred", D("0.00"))
    assert (moved.account, moved.status, moved.held_amount, moved.transferred_from) == (new_home, "active", D("50.00"), deposit)
    # The two instalments not yet billed are billed on the new account's bills.
    assert list(moved.instalments.values_list("number", "amount", "status").order_by("number")) == [
        (2, D("50.00"), "scheduled"), (3, D("50.00"), "scheduled")]
    bill = issue(new_home, total="70.00", on=dt.date(2026, 4, 1))
    assert bill.amount_due == D("120.00")
    assert_held_adds_up(deposit)
    assert_held_adds_up(moved)


# ---- Bad input, database protections ------------------------------------------------------------


@pytest.mark.parametrize("fields, field, message", [
    ({"amount_multiple": D("3.00")}, "amount_multiple", "above the cap of 2.50"),
    ({"amount_multiple": D("0")}, "amount_multiple", "positive number of average monthly bills"),
    ({"instalments": 13}, "instalments", "1 to 12 instalments"),
    ({"interest_credit_months": 18}, "interest_credit_months", "at least yearly"),
    ({"lookback_months": 30}, "lookback_months", "between 1 and 24"),
    ({"minimum_amount": D("-1")}, "minimum_amount", "cannot be negative"),
])
def test_a_deposit_class_is_validated_with_precise_messages(fields, field, message):
    with pytest.raises(ValidationError) as raised:
        DepositClass(code="X", name="X", **fields).full_clean()
    assert message in " ".join(raised.value.message_dict[field])


def test_bad_requests_get_precise_errors():
    residential_class()
    sp = ServicePointFactory()
    previous_occupant_bills(sp, ["100.00"], dt.date(2025, 12, 1))
    account = served_account(opened=dt.date(2026, 1, 2), service_point=sp)
    with pytest.raises(ValidationError) as raised:
        deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason=" ")
    assert raised.value.message_dict["reason"] == ["Say why the deposit is required."]
    with pytest.raises(ValidationError) as raised:
        deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="x", amount="300.00")
    assert raised.value.message_dict["amount"] == ["300.00 is above the cap of 2.50 average monthly bills (250.00)."]
    with pytest.raises(ValidationError) as raised:
        deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="x", amount="12.345")
    assert "at most 2 decimal places" in raised.value.message_dict["amount"][0]
    deposit = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="x")
    with pytest.raises(DepositError, match="already has an active RES deposit"):
        deposit_require(account=account, as_of=dt.date(2026, 1, 6), actor=CLERK, reason="again")
    with pytest.raises(ValidationError) as raised:
        deposit_refund(deposit=deposit, on=dt.date(2026, 2, 1), actor=CLERK, reason="x", method="cash")
    assert "not 'cash'" in raised.value.message_dict["method"][0]
    with pytest.raises(ValidationError) as raised:
        deposit_waive(deposit=deposit, waiver="friendly", waiver_reference="x", on=dt.date(2026, 1, 6), actor=CLERK, reason="x")
    assert "Unknown waiver 'friendly'" in raised.value.message_dict["waiver"][0]
    deposit_waive(deposit=deposit, waiver="low_income", waiver_reference="LEAP 2026-17", on=dt.date(2026, 1, 6), actor=CLERK,
                  reason="LEAP approved")
    with pytest.raises(DepositError, match="is waived and cannot be applied"):
        deposit_apply(deposit=deposit, on=dt.date(2026, 2, 1), actor=CLERK, reason="x")
    nobody = served_account(opened=dt.date(2026, 1, 2), customer=CustomerFactory(kind="organisation", organisation_name="Acme"))
    with pytest.raises(DepositError, match="No active deposit class matches"):
        deposit_require(account=nobody, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="x")


def test_a_deposit_holding_money_cannot_be_waived():
    residential_class(instalments=1)
    account = served_account(opened=dt.date(2026, 1, 15))
    deposit = _held_deposit(account, on=dt.date(2026, 2, 1), amount="90.00")
    with pytest.raises(DepositError, match="already holds 90.00: refund it instead"):
        deposit_waive(deposit=deposit, waiver="low_income", waiver_reference="LEAP", on=dt.date(2026, 2, 2), actor=CLERK,
                      reason="x")


def test_the_database_protects_the_held_amount_and_the_deposit_ledger():
    residential_class(instalments=1)
    account = served_account(opened=dt.date(2026, 1, 15))
    deposit = _held_deposit(account, on=dt.date(2026, 2, 1), amount="90.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Deposit.objects.filter(pk=deposit.pk).update(held_amount=D("-1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Deposit.objects.create(account=account, deposit_class=deposit.deposit_class, trigger="manual", trigger_key="other",
                               required_on=dt.date(2026, 2, 1), amount=D("10.00"))  # a second active deposit of the class
    entry = deposit.entries.first()
    with pytest.raises(Exception, match="Cannot update|append_only|protected"), transaction.atomic():
        DepositEntry.objects.filter(pk=entry.pk).update(amount=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        DepositEntry.objects.create(deposit=deposit, account=account, kind="refund", amount=D("5.00"),
                                    effective_date=dt.date(2026, 2, 1), description="wrong sign", idempotency_key="x", actor="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        DepositInstalment.objects.filter(deposit=deposit).update(paid=D("91.00"))


def test_the_review_shows_progress_and_counts_its_work():
    residential_class()
    for _ in range(3):
        served_account(opened=dt.date(2026, 1, 2))
    run = review(dt.date(2026, 1, 10))
    assert (run.status, run.accounts_total, run.chunks_total, run.progress_done, run.recommended) == ("done", 3, 2, 3, 3)
    assert review(dt.date(2026, 1, 10)).recommended == 3  # the same run: nothing twice
    assert DepositRecommendation.objects.count() == 3


def test_a_cancelled_bill_gives_its_unpaid_instalment_back_to_the_next_bill():
    residential_class(instalments=2)
    account = served_account(opened=dt.date(2025, 12, 1))
    deposit = deposit_require(account=account, as_of=dt.date(2026, 1, 5), actor=CLERK, reason="New customer", amount="100.00")
    wrong = issue(account, total="80.00", on=dt.date(2026, 2, 1))
    bill_cancel(bill=wrong, reason="Wrong read", effective_date=dt.date(2026, 2, 3), now=NOW, actor=CLERK)
    assert ledger.account_balance(account_id=account.pk) == D("0.00")  # the bill and its instalment reversed
    again = issue(account, total="75.00", on=dt.date(2026, 2, 4))
    assert again.amount_due == D("125.00")
    assert list(deposit.instalments.values_list("number", "status", "bill_id").order_by("number")) == [
        (1, "cancelled", wrong.pk), (2, "billed", again.pk), (3, "scheduled", None)]


def test_a_customer_whose_old_account_has_a_broken_history_gives_a_deposit_on_a_new_one():
    residential_class()
    old = served_account(opened=dt.date(2019, 1, 1))
    collection_action(old, kind="disconnect_notice", on=dt.date(2025, 6, 1))
    collection_action(served_account(opened=dt.date(2019, 1, 1), customer=old.customer), kind="disconnect_notice",
                      on=dt.date(2025, 9, 1))
    new = served_account(opened=dt.date(2026, 1, 2), customer=old.customer)
    (requirement,) = rules.deposit_triggers(new, as_of=dt.date(2026, 1, 10), deposit_class=DepositClass.objects.get())
    assert requirement.trigger == "new_customer"
    assert "2 incidents in 12 months (more than 1)" in requirement.reason
    # The old accounts are not new: no new-customer deposit for them.
    assert rules.deposit_triggers(old, as_of=dt.date(2026, 1, 10), deposit_class=DepositClass.objects.get()) == []
