"""Equal payment plans: plan type validation (form and database), the quote's workings on each
basis, eligibility reasons, roll and spread settlements, leaving the plan, a final bill and a
cancelled bill. Bills go through billing's own issue service (billing.services.runs.bill_issue)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing.budget.models import BudgetDeferral, BudgetPlan, BudgetPlanType, BudgetSettlement
from billing.models import Bill, BillSegment, LedgerEntry, RateSchedule, RateVersion
from billing.payments.tests.helpers import CLERK, charge, issued_bill
from billing.services import (
    BudgetError,
    bill_cancel,
    bill_issue,
    bills_issue,
    budget_eligibility,
    budget_enrol,
    budget_leave,
    budget_quote,
    deferred_balance,
    ledger,
)
from cis.tests.factories import AccountFactory, ServiceAgreementFactory

pytestmark = pytest.mark.django_db
ENROL = dt.date(2026, 1, 5)


def months(start: dt.date, count: int) -> list[dt.date]:
    out, day = [], start
    for _ in range(count):
        out.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


def plan_type(**kw) -> BudgetPlanType:
    defaults = dict(code="EPP", name="Equal payments", review_months=[], min_history_months=1)
    defaults.update(kw)
    return BudgetPlanType.objects.create(**defaults)


def with_history(totals: list[str], *, start=dt.date(2025, 1, 1)):
    account = AccountFactory()
    for day, total in zip(months(start, len(totals)), totals):
        issued_bill(account_id=account.pk, total=total, bill_date=day)
        ledger.ledger_post_payment(account_id=account.pk, amount=total, received_date=day + dt.timedelta(days=5))
    return account


@pytest.mark.parametrize("fields, field, message", [
    ({"lookback_months": 0}, "lookback_months", "between 1 and 24"),
    ({"lookback_months": 6, "min_history_months": 9}, "min_history_months", "cannot be longer than the look-back"),
    ({"review_months": [4, 12]}, "review_months", "12 is not"),
    ({"review_months": [4, 4]}, "review_months", "given twice"),
    ({"uplift_percent": D("60")}, "uplift_percent", "between 0 and 50"),
    ({"variance_percent": D("0")}, "variance_percent", "more than 0"),
    ({"settlement": "spread"}, "spread_months", "2 to 12 months"),
    ({"settlement": "true_up", "spread_months": 3}, "spread_months", "leave it empty"),
    ({"min_refund": D("-1")}, "min_refund", "cannot be negative"),
])
def test_a_plan_type_is_validated_with_precise_messages(fields, field, message):
    candidate = BudgetPlanType(code="X", name="X", **fields)
    with pytest.raises(ValidationError) as raised:
        candidate.full_clean()
    assert message in " ".join(raised.value.message_dict[field])


@pytest.mark.parametrize("fields", [{"review_months": [0, 4]}, {"settlement": "spread"}, {"uplift_percent": D("51")},
                                    {"lookback_months": 25}, {"settlement": "roll", "spread_months": 4}])
def test_the_database_refuses_a_bad_plan_type(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetPlanType.objects.create(code="X", name="X", **fields)


def test_the_quote_shows_the_bills_the_average_and_the_uplift():
    account = with_history(["100.00", "80.00", "61.00"])
    quote = budget_quote(account_id=account.pk, plan_type=plan_type(uplift_percent=D("10")), as_of=ENROL)
    assert [m["amount"] for m in quote.months] == ["100.00", "80.00", "61.00"]
    # (100 + 80 + 61) / 3 = 80.333.. -> 80.33; +10 % = 8.03; 88.36 a month.
    assert (quote.average, quote.uplift, quote.monthly_amount) == (D("80.33"), D("8.03"), D("88.36"))
    assert "Only 3 of 12 months" in quote.notes[0]


def _segment_bill(account, *, rate_code: str, kwh: str, total: str, day: dt.date) -> Bill:
    bill = issued_bill(account_id=account.pk, total=total, bill_date=day)
    agreement = ServiceAgreementFactory(account=account, rate_code=rate_code, start_date=day - dt.timedelta(days=400),
                                        end_date=None) if not BillSegment.objects.filter(account=account).exists() else None
    sa = agreement or BillSegment.objects.filter(account=account).first().agreement
    BillSegment.objects.create(bill=bill, account=account, agreement=sa, service_point=sa.service_point,
                               rate_code=rate_code, period_start=day - dt.timedelta(days=30), period_end=day,
                               determinants={"consumption": kwh}, subtotal=D(total))
    return bill


def test_the_consumption_basis_prices_the_average_usage_at_todays_rates():
    schedule = RateSchedule.objects.create(code="R1", name="Residential", rate_class="residential")
    RateVersion.objects.create(schedule=schedule, start_date=dt.date(2020, 1, 1), end_date=dt.date(2026, 1, 1), components=[
        {"kind": "fixed", "code": "customer", "params": {"amount": "10.00"}},
        {"kind": "flat", "code": "energy", "params": {"price": "0.10"}}])
    RateVersion.objects.create(schedule=schedule, start_date=dt.date(2026, 1, 1), components=[
        {"kind": "fixed", "code": "customer", "params": {"amount": "12.00"}},
        {"kind": "flat", "code": "energy", "params": {"price": "0.20"}}])
    account = AccountFactory()
    for day, kwh in zip(months(dt.date(2025, 9, 1), 3), ["400", "500", "600"]):
        _segment_bill(account, rate_code="R1", kwh=kwh, total="60.00", day=day)
    quote = budget_quote(account_id=account.pk, plan_type=plan_type(basis="consumption"), as_of=ENROL)
    # 500 kWh a month at January 2026's rate: 12.00 + 500 x 0.20 = 112.00 (not last year's 60.00).
    assert quote.monthly_amount == D("112.00")
    assert "Average 500.000 a month on R1" in quote.notes[-1]
    # A new neighbour on the same rate class, no bills yet: the rate class's average bill.
    newcomer = AccountFactory()
    ServiceAgreementFactory(account=newcomer, rate_code="R1", start_date=dt.date(2025, 12, 20))
    estimate = budget_quote(account_id=newcomer.pk, plan_type=plan_type(code="EPP2", basis="consumption"), as_of=ENROL)
    assert (estimate.source, estimate.monthly_amount) == ("rate_class", D("112.00"))
    billed = budget_quote(account_id=newcomer.pk, plan_type=plan_type(code="EPP3"), as_of=ENROL)
    assert (billed.source, billed.monthly_amount) == ("rate_class", D("60.00"))


def test_enrolment_is_refused_with_every_reason():
    account = with_history(["100.00"])
    charge(account_id=account.pk, amount="45.00", on=dt.date(2025, 10, 1))  # 96 days old on ENROL
    ServiceAgreementFactory(account=account, start_date=dt.date(2025, 9, 1))
    kind = plan_type(min_months_at_address=6)
    reasons = budget_eligibility(account_id=account.pk, plan_type=kind, as_of=ENROL)
    assert reasons == ["The account has 45.00 in arrears (30 days or more overdue); it must be paid first.",
                       "The customer has been at the address 4 months; the plan needs 6."]
    with pytest.raises(BudgetError) as raised:
        budget_enrol(account_id=account.pk, plan_type=kind, as_of=ENROL, actor=CLERK)
    assert raised.value.reasons == reasons and not BudgetPlan.objects.exists()


def test_one_active_plan_per_account_in_the_database():
    account = with_history(["100.00"])
    kind = plan_type()
    plan = budget_enrol(account_id=account.pk, plan_type=kind, as_of=ENROL, actor=CLERK)
    assert budget_eligibility(account_id=account.pk, plan_type=kind, as_of=ENROL) == [
        "The account is already on an equal payment plan."]
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetPlan.objects.create(account_id=account.pk, plan_type=kind, start_date=ENROL, monthly_amount=D("5"))
    with pytest.raises(Exception, match="Cannot update or delete"), transaction.atomic():
        issued_bill(account_id=account.pk, total="130.00", bill_date=dt.date(2026, 2, 1))
        BudgetDeferral.objects.filter(plan=plan).update(amount=D("1.00"))


def _year(account, plan, totals, start=dt.date(2026, 2, 1)):
    bills = []
    for day, total in zip(months(start, len(totals)), totals):
        bill = issued_bill(account_id=account.pk, total=total, bill_date=day)
        bills.append(bill)
        if bill.amount_due > 0:
            ledger.ledger_post_payment(account_id=account.pk, amount=bill.amount_due, received_date=day)
    return bills


def test_a_roll_settlement_carries_the_balance_into_next_years_amount():
    account = with_history(["100.00"] * 12)
    kind = plan_type(settlement="roll")
    plan = budget_enrol(account_id=account.pk, plan_type=kind, as_of=ENROL, actor=CLERK)
    bills = _year(account, plan, ["112.00"] * 12)  # 12.00 a month above the plan: 144.00 deferred
    assert [b.amount_due for b in bills] == [D("100.00")] * 12
    plan.refresh_from_db()
    assert plan.settlement.kind == "roll" and plan.settlement.balance == D("144.00")
    following = BudgetPlan.objects.get(previous=plan)
    # Next year: this year's 112.00 average + 144.00 / 12.
    assert following.monthly_amount == D("124.00") and deferred_balance(plan=following) == D("144.00")
    assert ledger.account_balance(account_id=account.pk) == 0


def test_a_spread_settlement_adds_instalments_to_the_next_bills():
    account = with_history(["100.00"] * 12)
    plan = budget_enrol(account_id=account.pk, plan_type=plan_type(settlement="spread", spread_months=3), as_of=ENROL,
                        actor=CLERK)
    _year(account, plan, ["110.00"] * 11 + ["110.01"])  # 120.01 deferred
    following = BudgetPlan.objects.get(previous=plan)
    assert (following.spread_total, following.spread_months, following.monthly_amount) == (D("120.01"), 3, D("110.00"))
    next_bills = _year(account, following, ["110.00"] * 3, start=dt.date(2027, 2, 1))
    # 40.00, 40.00 and the 40.01 left, on top of the plan amount.
    assert [b.amount_due for b in next_bills] == [D("150.00"), D("150.00"), D("150.01")]
    assert deferred_balance(plan=following) == 0


def test_leaving_posts_the_deferred_balance_and_a_small_credit_stays_on_the_account():
    account = with_history(["100.00"] * 12)
    plan = budget_enrol(account_id=account.pk, plan_type=plan_type(min_refund=D("10.00")), as_of=ENROL, actor=CLERK)
    _year(account, plan, ["96.00", "97.00"])  # 7.00 below plan: owed to the customer
    with pytest.raises(BudgetError, match="Say why"):
        budget_leave(plan=plan, on=dt.date(2026, 3, 15), reason=" ", actor=CLERK)
    settlement = budget_leave(plan=plan, on=dt.date(2026, 3, 15), reason="Customer asked", actor=CLERK)
    assert (settlement.kind, settlement.balance, settlement.refund_due) == ("left", D("-7.00"), D("0.00"))
    assert ledger.account_balance(account_id=account.pk) == D("-7.00")
    with pytest.raises(BudgetError, match="already settled"):
        budget_leave(plan=plan, on=dt.date(2026, 3, 16), reason="again", actor=CLERK)
    # Off the plan, the next bill asks its actual charges (less the credit).
    bill = issued_bill(account_id=account.pk, total="90.00", bill_date=dt.date(2026, 4, 1))
    assert bill.amount_due == D("83.00")


def test_a_final_bill_settles_the_plan_on_move_out():
    account = with_history(["100.00"] * 12)
    plan = budget_enrol(account_id=account.pk, plan_type=plan_type(), as_of=ENROL, actor=CLERK)
    _year(account, plan, ["130.00"])  # 30.00 deferred
    final = Bill.objects.create(account_id=account.pk, status=Bill.Status.APPROVED, kind=Bill.Kind.FINAL,
                                period_start=dt.date(2026, 2, 1), period_end=dt.date(2026, 2, 20),
                                bill_date=dt.date(2026, 2, 21), due_date=dt.date(2026, 3, 14), total=D("70.00"))
    final = bill_issue(bill=final, now=dt.datetime(2026, 2, 21, tzinfo=dt.timezone.utc), actor=CLERK)
    assert final.amount_due == D("100.00")  # 70.00 actual + the 30.00 deferred
    settlement = BudgetSettlement.objects.get(plan=plan)
    assert (settlement.kind, settlement.balance, settlement.bill_id) == ("left", D("30.00"), final.pk)
    assert not BudgetPlan.objects.filter(account_id=account.pk, status="active").exists()


def test_a_cancelled_bill_takes_its_plan_adjustment_with_it():
    account = with_history(["100.00"] * 12)
    plan = budget_enrol(account_id=account.pk, plan_type=plan_type(), as_of=ENROL, actor=CLERK)
    bill = issued_bill(account_id=account.pk, total="125.00", bill_date=dt.date(2026, 2, 1))
    assert bill.amount_due == D("100.00") and deferred_balance(plan=plan) == D("25.00")
    bill_cancel(bill=bill, reason="wrong read", effective_date=dt.date(2026, 2, 3),
                now=dt.datetime(2026, 2, 3, tzinfo=dt.timezone.utc), actor=CLERK)
    plan.refresh_from_db()
    assert deferred_balance(plan=plan) == 0 and plan.months_billed == 0
    assert ledger.account_balance(account_id=account.pk) == 0
    assert LedgerEntry.objects.filter(account_id=account.pk, kind="reversal").count() == 2


def test_a_batch_of_bills_issued_together_gets_the_plan_once_and_others_untouched():
    on_plan, off_plan = with_history(["100.00"] * 3), with_history(["50.00"] * 3)
    plan = budget_enrol(account_id=on_plan.pk, plan_type=plan_type(), as_of=ENROL, actor=CLERK)
    day = dt.date(2026, 2, 1)
    bills = [Bill.objects.create(account_id=a.pk, status=Bill.Status.APPROVED, period_start=dt.date(2026, 1, 1),
                                 period_end=day, bill_date=day, due_date=day + dt.timedelta(days=21), total=D(total))
             for a, total in ((on_plan, "140.00"), (off_plan, "55.00"))]
    now = dt.datetime(2026, 2, 1, 12, tzinfo=dt.timezone.utc)
    assert bills_issue(bills=bills, now=now, actor=CLERK) == 2  # the bulk path (no post_save on the bills' entries)
    bills_issue(bills=bills, now=now, actor=CLERK)  # issued already: nothing again
    first, second = (Bill.objects.get(pk=b.pk) for b in bills)
    assert (first.amount_due, second.amount_due) == (D("100.00"), D("55.00"))
    assert deferred_balance(plan=plan) == D("40.00") and BudgetDeferral.objects.count() == 1
    assert ledger.account_balance(account_id=on_plan.pk) == D("100.00")
