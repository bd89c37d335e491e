"""Pre-bill edits hold the bills they should (each rule with its threshold), and the
worklist's three actions: release, re-rate, send for a meter check."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.services import prebill, runs
from billing.models import Bill, BillException, PreBillRule, RateSchedule, RateVersion
from billing.tests.test_runs_helpers import FEB, MAR, NOW, load_hourly, metered_agreement, setup_billing
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db


def run_all(cycle):
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=10, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)
    run.refresh_from_db()
    return run


def rule(kind, **params):
    return PreBillRule.objects.create(kind=kind, params=params)


def issued(account_id, start, end, consumption, *, intervals=0, estimated=0):
    return Bill.objects.create(account_id=account_id, status="issued", period_start=start, period_end=end,
                               bill_date=end, due_date=end, consumption=consumption, interval_count=intervals,
                               estimated_intervals=estimated)


def held_rules(agreement):
    bill = Bill.objects.get(segments__agreement_id=agreement.pk, segments__live=True)
    return bill, sorted(bill.exceptions.values_list("rule", flat=True))


def test_usage_far_above_the_last_bill_is_held_and_within_the_band_is_not():
    cycle = setup_billing()
    rule("high_low_last_bill", high_percent=100, low_percent=70)
    high, _ = metered_agreement(rate_code="T-TIER")   # 24 kWh/day in February
    normal, _ = metered_agreement(rate_code="T-TIER")
    # January: 310 kWh / 31 days = 10/day -> February is +140%, over +100%.
    issued(high.account_id, dt.date(2026, 1, 1), FEB, D("310"))
    # 620 kWh / 31 days = 20/day -> +20%, inside the band.
    issued(normal.account_id, dt.date(2026, 1, 1), FEB, D("620"))
    run = run_all(cycle)
    bill, rules = held_rules(high)
    assert (bill.status, rules) == ("held", ["high_low_last_bill"])
    assert "140.0% above the last bill" in bill.exceptions.get().message
    assert held_rules(normal)[0].status == "draft"
    assert run.exceptions == 1


def test_usage_far_below_the_same_month_last_year_is_held():
    cycle = setup_billing()
    rule("high_low_last_year", high_percent=150, low_percent=70)
    agreement, _ = metered_agreement(rate_code="T-TIER")
    # Feb 2025: 2800 kWh / 28 days = 100/day; now 24/day = -76%.
    issued(agreement.account_id, dt.date(2025, 2, 1), dt.date(2025, 3, 1), D("2800"))
    run_all(cycle)
    assert held_rules(agreement)[1] == ["high_low_last_year"]


@pytest.mark.parametrize(("kind", "params", "setup", "expected"), [
    ("zero_consumption", {}, {"kwh_per_hour": 0}, True),
    ("zero_consumption", {}, {}, False),
    # 10 of 28 days estimated = 35.7% of intervals, over 25%; 7 days = 25.0% is not over.
    ("too_many_estimated", {"max_percent": 25}, {"estimated_days": 10}, True),
    ("too_many_estimated", {"max_percent": 25}, {"estimated_days": 7}, False),
    ("over_limit", {"limit": "90.00"}, {}, True),   # 94.40
    ("over_limit", {"limit": "95.00"}, {}, False),
    # Data for 20 of 28 days: 192 of 672 intervals missing.
    ("missing_determinants", {"max_missing_percent": 0}, {"data_to": dt.date(2026, 2, 21)}, True),
    ("missing_determinants", {"max_missing_percent": 30}, {"data_to": dt.date(2026, 2, 21)}, False),
])
def test_each_rule_holds_a_bill_past_its_threshold(kind, params, setup, expected):
    cycle = setup_billing()
    rule(kind, **params)
    agreement, _ = metered_agreement(rate_code="T-TIER", **setup)
    run_all(cycle)
    bill, rules = held_rules(agreement)
    assert (rules == [kind], bill.status == "held") == (expected, expected)


def test_a_third_estimated_bill_in_a_row_is_held():
    cycle = setup_billing()
    rule("consecutive_estimated", max_bills=2, estimated_bill_percent=10)
    agreement, _ = metered_agreement(rate_code="T-TIER", estimated_days=5)  # 120/672 = 17.9% estimated
    issued(agreement.account_id, dt.date(2025, 12, 1), dt.date(2026, 1, 1), D("300"), intervals=744, estimated=100)
    issued(agreement.account_id, dt.date(2026, 1, 1), FEB, D("300"), intervals=744, estimated=80)
    run_all(cycle)
    bill, rules = held_rules(agreement)
    assert rules == ["consecutive_estimated"]
    assert bill.exceptions.get().message == "3 estimated bills in a row (limit 2)."


def test_a_negative_bill_is_held():
    cycle = setup_billing()
    rule("negative_amount")
    schedule = RateSchedule.objects.create(code="T-CREDIT", name="credit")
    RateVersion.objects.create(schedule=schedule, start_date=dt.date(2020, 1, 1), components=[
        {"kind": "fixed", "code": "credit", "params": {"amount": "-5.00"}}])
    agreement, _ = metered_agreement(rate_code="T-CREDIT")
    run_all(cycle)
    bill, rules = held_rules(agreement)
    assert (bill.total, rules) == (D("-5.00"), ["negative_amount"])


def test_release_lets_the_bill_go_on_with_the_run():
    cycle = setup_billing()
    rule("over_limit", limit="50.00")
    agreement, _ = metered_agreement(rate_code="T-TIER")
    run = run_all(cycle)
    bill, _ = held_rules(agreement)

    prebill.bill_exception_release(exception=bill.exceptions.get(), now=NOW)

    bill.refresh_from_db()
    assert (bill.status, bill.exceptions.get().status) == ("draft", "released")
    runs.bill_run_approve(bill_run_id=run.pk)
    runs.bill_run_issue(bill_run_id=run.pk, now=NOW)
    bill.refresh_from_db()
    assert bill.status == "issued"
    with pytest.raises(prebill.PreBillError):
        prebill.bill_exception_release(exception=bill.exceptions.get(), now=NOW)


def test_rerate_after_the_missing_reads_arrive_replaces_the_held_bill():
    cycle = setup_billing()
    rule("missing_determinants", max_missing_percent=0)
    agreement, channel = metered_agreement(rate_code="T-TIER", data_to=dt.date(2026, 2, 21))
    run_all(cycle)
    held, _ = held_rules(agreement)
    # 480 kWh before the reads arrive: 10.00 + 480 x 0.10.
    assert held.total == D("58.00")
    load_hourly(channel, dt.date(2026, 2, 21), MAR, 1.0)

    new = prebill.bill_exception_rerate(exception=held.exceptions.get(), now=NOW, as_of=MAR)

    held.refresh_from_db()
    assert (held.status, held.exceptions.get().status) == ("cancelled", "rerated")
    assert (new.status, new.total, new.replaces_id, new.run_id) == ("draft", D("94.40"), held.pk, held.run_id)
    assert Bill.objects.get(segments__agreement_id=agreement.pk, segments__live=True) == new


def test_send_for_meter_check_creates_a_service_order_once_and_keeps_the_bill_held():
    cycle = setup_billing()
    rule("zero_consumption")
    agreement, _ = metered_agreement(rate_code="T-TIER", kwh_per_hour=0)
    run_all(cycle)
    bill, _ = held_rules(agreement)
    exception = bill.exceptions.get()

    prebill.bill_exception_meter_check(exception=exception, now=NOW, today=MAR)

    order = ServiceOrder.objects.get()
    assert (order.order_type, order.service_point_id, order.account_id, order.due_date) == (
        "meter_check", agreement.service_point_id, agreement.account_id, dt.date(2026, 3, 6))
    exception.refresh_from_db()
    bill.refresh_from_db()
    assert (exception.status, bill.status) == (BillException.Status.METER_CHECK, "held")
    with pytest.raises(prebill.PreBillError):
        prebill.bill_exception_meter_check(exception=exception, now=NOW, today=MAR)
    assert ServiceOrder.objects.count() == 1


def test_a_rule_with_unusable_params_fails_the_chunk_instead_of_billing_without_the_check():
    cycle = setup_billing()
    rule("over_limit", limit="ten thousand")
    metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=10, enqueue=False)
    results = [runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)
               for number in runs.bill_run_pending_chunks(bill_run_id=run.pk)]
    assert results == ["failed"]
    assert not Bill.objects.exists()


def test_the_seeded_rules_are_accepted_by_a_bill_run():
    cycle = setup_billing()
    assert prebill.prebill_rules_seed() == len(PreBillRule.Kind.values)
    agreement, _ = metered_agreement(rate_code="T-TIER")
    run_all(cycle)
    assert held_rules(agreement) == (Bill.objects.get(), [])
