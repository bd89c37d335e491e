"""Issue 10, "Done when 3": an equal payment plan calculated, enrolled, billed for a year of
real bill cycles (winter and summer usage through MDM and the rating engine), reviewed at
month 4 (re-sized) and 8 (within the threshold) and trued up on the anniversary bill, with
every month's amount due, the deferred balance and the ledger checked to the cent."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest

from billing.budget.models import BudgetDeferral, BudgetPlan, BudgetPlanType, BudgetReview, BudgetSettlement
from billing.models import Bill, BillCycle, BillWindow
from billing.payments import selectors as payment_selectors
from billing.services import budget_enrol, budget_quote, deferred_balance, ledger, payment_post, runs
from billing.tests.test_runs_helpers import NOW, TZ, setup_billing
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from core.actors import Actor
from core.money import money
from mdm import services as mdm_services
from mdm.flags import Flag
from mdm.services import StagedDay
from mdm.tests.factories import ChannelFactory, MeterFactory

pytestmark = pytest.mark.django_db
CLERK = Actor.system("budget test")
# kWh per hour for each calendar month: electric heat, a cold winter, a mild summer.
LAST_YEAR = {1: 1.6, 2: 1.5, 3: 1.2, 4: 0.9, 5: 0.7, 6: 0.6, 7: 0.8, 8: 0.8, 9: 0.6, 10: 0.8, 11: 1.1, 12: 1.4}
# This year's winter is colder (month 4 review re-sizes); spring to autumn is like last year.
THIS_YEAR = {1: 2.1, 2: 1.9, 3: 1.5, 4: 1.0, 5: 0.7, 6: 0.6, 7: 0.8, 8: 0.8, 9: 0.6, 10: 0.8, 11: 1.1, 12: 1.4}


def first_of_next(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def expected_total(month_start: dt.date, kwh_per_hour: float) -> D:
    """T-TIER by hand: 10.00 + 500 kWh at 0.10 + the rest at 0.20 (a whole month is standard).
    Hours are local hours (the DST months have 743 or 745)."""
    start = dt.datetime.combine(month_start, dt.time(), TZ).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(first_of_next(month_start), dt.time(), TZ).astimezone(dt.timezone.utc)
    kwh = D(str(kwh_per_hour)) * D(int((end - start).total_seconds() // 3600))
    return money(D("10.00") + min(kwh, D(500)) * D("0.10") + max(kwh - 500, D(0)) * D("0.20"))


def local_hours(day: dt.date) -> int:
    start = dt.datetime.combine(day, dt.time(), TZ).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), TZ).astimezone(dt.timezone.utc)
    return int((end - start).total_seconds() // 3600)


def load_month(channel, start: dt.date, end: dt.date, kwh_per_hour: float) -> None:
    """Constant hourly usage over [start, end), 23 or 25 hours on the DST days."""
    days, day = [], start
    while day < end:
        hours = local_hours(day)
        days.append(StagedDay(channel.pk, day, 60, np.full(hours, kwh_per_hour, dtype=np.float64),
                              np.full(hours, int(Flag.ACTUAL), dtype=np.int16)))
        day += dt.timedelta(days=1)
    mdm_services.interval_days_merge(days=days, now=NOW)


def bill_month(cycle: BillCycle, channel, month_start: dt.date, kwh_per_hour: float) -> Bill:
    """Load the month's intervals, run the cycle for it, approve and issue it."""
    bill_date = first_of_next(month_start)
    BillWindow.objects.get_or_create(cycle=cycle, bill_date=bill_date, defaults=dict(
        period_end_date=bill_date, read_window_start=bill_date - dt.timedelta(days=3),
        read_window_end=bill_date - dt.timedelta(days=1), due_days=21))
    load_month(channel, month_start, bill_date, kwh_per_hour)
    now = dt.datetime.combine(bill_date, dt.time(12), dt.timezone.utc)
    run = runs.bill_run_start(cycle=cycle, bill_date=bill_date, now=now, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        assert runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=now) == "done"
    runs.bill_run_approve(bill_run_id=run.pk, actor=CLERK, now=now)
    runs.bill_run_issue(bill_run_id=run.pk, now=now, actor=CLERK)
    return Bill.objects.get(run=run)


def test_a_year_on_an_equal_payment_plan_is_billed_reviewed_and_trued_up_to_the_cent():
    cycle = setup_billing()
    account = AccountFactory(bill_cycle_code="C01")
    sp = ServicePointFactory()
    ServiceAgreementFactory(account=account, service_point=sp, rate_code="T-TIER", start_date=dt.date(2025, 1, 1))
    channel = ChannelFactory(meter=MeterFactory(), interval_minutes=60)
    mdm_services.meter_install(meter=channel.meter, service_point_id=sp.pk, commodity="electric",
                               installed_at=dt.datetime(2024, 12, 1, tzinfo=TZ))
    paid = D("0.00")
    actual_billed = D("0.00")
    history = {}
    # Last year, before the plan: billed as anyone, paid in full.
    for month in range(1, 13):
        start = dt.date(2025, month, 1)
        bill = bill_month(cycle, channel, start, LAST_YEAR[month])
        assert bill.total == expected_total(start, LAST_YEAR[month]), (bill.status, list(bill.exceptions.values_list("rule", "message")), list(bill.segments.values_list("determinants", flat=True)))
        history[bill.bill_date.month] = bill.total
        actual_billed += bill.total
        payment_post(account_id=account.pk, amount=bill.amount_due, received_date=bill.bill_date + dt.timedelta(days=10),
                     channel="cashier", tender_type="cash", actor=CLERK)
        paid += bill.amount_due
    assert ledger.account_balance(account_id=account.pk) == 0

    plan_type = BudgetPlanType.objects.create(code="EPP", name="Equal payments", review_months=[4, 8],
                                              variance_percent=D("15"), settlement="true_up", min_refund=D("5.00"))
    enrol_on = dt.date(2026, 1, 2)
    quote = budget_quote(account_id=account.pk, plan_type=plan_type, as_of=enrol_on)
    average = money(sum(history.values()) / 12)
    assert (quote.source, len(quote.months), quote.average, quote.monthly_amount) == ("history", 12, average, average)
    plan = budget_enrol(account_id=account.pk, plan_type=plan_type, as_of=enrol_on, actor=CLERK)
    assert plan.monthly_amount == average

    amount = average
    planned_to_date = actual_to_date = D("0.00")
    for month in range(1, 13):
        start = dt.date(2026, month, 1)
        bill = bill_month(cycle, channel, start, THIS_YEAR[month])
        assert bill.total == expected_total(start, THIS_YEAR[month])  # the actual charges stay on the bill
        actual_billed += bill.total
        actual_to_date += bill.total
        planned_to_date += amount
        assert bill.balance_forward == 0  # last month's amount due was paid in full
        true_up = D("0.00")
        if month == 12:
            true_up = actual_to_date - planned_to_date
        # The plan amount is what is due (plus the true-up on the anniversary bill).
        assert bill.amount_due == amount + true_up, f"month {month}"
        plan.refresh_from_db()
        if month < 12:
            assert deferred_balance(plan=plan) == actual_to_date - planned_to_date
        # Ledger + deferred = everything charged - everything paid; aging sees only what is due.
        deferred = sum(BudgetDeferral.objects.filter(account_id=account.pk).values_list("amount", flat=True), D("0.00"))
        assert ledger.account_balance(account_id=account.pk) + deferred == actual_billed - paid
        assert ledger.account_balance(account_id=account.pk) == bill.amount_due
        assert payment_selectors.account_aging_by_allocation(account_id=account.pk, as_of=bill.bill_date).total == bill.amount_due
        if month == 4:
            review = BudgetReview.objects.get(plan=plan, month=4)
            assert review.resized and review.variance_percent > 15
            # Re-sized: last year's remaining months, scaled by this winter against last winter,
            # plus the 4 months' shortfall, over the 8 months left.
            elapsed = [2, 3, 4, 5]
            upcoming = [6, 7, 8, 9, 10, 11, 12, 1]
            expected = money(sum(history[m] for m in upcoming) * actual_to_date / sum(history[m] for m in elapsed))
            new = money((expected + actual_to_date - planned_to_date) / 8)
            assert (review.old_amount, review.new_amount, plan.monthly_amount) == (amount, new, new)
            amount = new
        if month == 8:
            review = BudgetReview.objects.get(plan=plan, month=8)
            assert not review.resized and abs(review.variance_percent) <= 15
            assert review.actual_to_date == actual_to_date and review.plan_to_date == planned_to_date
        if month == 12:
            break  # a true-up credit: nothing to pay
        payment_post(account_id=account.pk, amount=bill.amount_due, received_date=bill.bill_date + dt.timedelta(days=10),
                     channel="cashier", tender_type="cash", actor=CLERK)
        paid += bill.amount_due

    plan.refresh_from_db()
    settlement = BudgetSettlement.objects.get(plan=plan)
    assert (plan.status, plan.months_billed, settlement.kind) == ("settled", 12, "true_up")
    assert settlement.balance == actual_to_date - planned_to_date
    assert deferred_balance(plan=plan) == 0
    # The winter re-size over-collected: the anniversary bill credits it back, and being at
    # least the smallest refund (5.00) it is due to the customer as a refund.
    assert true_up < -5 and bill.amount_due == amount + true_up < 0
    assert settlement.refund_due == -true_up
    # The ledger balance is what was billed minus paid: the credit.
    assert ledger.account_balance(account_id=account.pk) == actual_billed - paid == bill.amount_due
    # The next plan year started from this year's bills.
    following = BudgetPlan.objects.get(previous=plan)
    this_year = Bill.objects.filter(account_id=account.pk, bill_date__gt=enrol_on).order_by("bill_date")
    assert following.status == "active" and following.monthly_amount == money(sum(b.total for b in this_year) / 12)
