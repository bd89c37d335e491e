"""Bill runs end to end in-process (chunks run by calling the chunk service, as a worker
would): hand-computed bills, parent summary bills, partial first bills, re-runs, approve and
issue with the ledger and MDM's billed-through dates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from billing.services import runs
from billing.models import Bill, BillLine, BillRun, BillRunChunk, BillSegment, LedgerEntry, RateSchedule, RateVersion
from billing.services.runs.drafting import billed_to
from billing.tests.test_runs_helpers import FEB, MAR, NOW, metered_agreement, setup_billing
from cis.tests.factories import AccountFactory
from mdm.models import BilledThrough

pytestmark = pytest.mark.django_db


def run_all(cycle, *, chunk_size=2) -> BillRun:
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=chunk_size, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        assert runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW) == "done"
    run.refresh_from_db()
    return run


def bill_of(agreement) -> Bill:
    return Bill.objects.get(segments__agreement_id=agreement.pk, segments__live=True)


def test_bills_a_tiered_a_tou_and_a_demand_customer_to_the_cent():
    cycle = setup_billing()
    tiered, _ = metered_agreement(rate_code="T-TIER", kwh_per_hour=1)
    tou, _ = metered_agreement(rate_code="T-TOU", kwh_per_hour=1)
    # 2 kWh every hour and one 10 kWh hour on Tue Feb 10, 14:00 local.
    demand, _ = metered_agreement(rate_code="T-DEMAND", kwh_per_hour=2, spike=(dt.date(2026, 2, 10), 14, 10.0))

    run = run_all(cycle)

    assert (run.status, run.total_accounts, run.done_accounts, run.bills_created) == ("completed", 3, 3, 3)
    assert set(run.timings) >= {"load", "determinants", "rating", "prebill", "write"}
    # Tiered: 28 days x 24 h x 1 kWh = 672 kWh; 500 x 0.10 = 50.00, 172 x 0.20 = 34.40, + 10.00.
    bill = bill_of(tiered)
    assert (bill.total, bill.period_start, bill.period_end, bill.status) == (D("94.40"), FEB, MAR, "draft")
    lines = list(BillLine.objects.filter(segment__bill=bill).values_list("component_code", "tier", "quantity", "amount"))
    assert lines == [("customer", "", D("1"), D("10.00")), ("energy", "1", D("500"), D("50.00")),
                     ("energy", "2", D("172"), D("34.40"))]
    line = BillLine.objects.filter(segment__bill=bill, tier="2").get()
    assert (line.details["part_start"], line.details["part_end"]) == ("2026-02-01", "2026-03-01")
    # TOU: 20 weekdays in Feb 2026 less Family Day (Feb 16) = 19 x 6 on-peak hours = 114 kWh
    # at 0.20 = 22.80; the other 558 kWh off-peak at 0.10 = 55.80; + 5.00.
    bill = bill_of(tou)
    assert bill.total == D("83.60")
    assert dict(BillLine.objects.filter(segment__bill=bill, component_code="energy").values_list("tou_period", "quantity")) == {
        "on": D("114"), "off": D("558")}
    # Demand: 671 h x 2 + 10 = 1352 kWh x 0.05 = 67.60; max demand 10 kW x 10.00 = 100.00; + 50.00.
    bill = bill_of(demand)
    assert bill.total == D("217.60")
    assert BillLine.objects.get(segment__bill=bill, component_code="demand").quantity == D("10")


def test_a_parent_account_gets_one_summary_bill_with_its_childrens_segments():
    cycle = setup_billing()
    parent = AccountFactory(bill_cycle_code="C01")
    first, _ = metered_agreement(rate_code="T-TIER", account=AccountFactory(parent=parent, bill_cycle_code="C01"))
    second, _ = metered_agreement(rate_code="T-TOU", account=AccountFactory(parent=parent, bill_cycle_code="C01"))

    run = run_all(cycle)

    assert (run.total_accounts, run.bills_created) == (1, 1)
    bill = Bill.objects.get()
    assert bill.account_id == parent.pk
    assert bill.total == D("94.40") + D("83.60")
    assert sorted(bill.segments.values_list("account_id", "subtotal")) == sorted(
        [(first.account_id, D("94.40")), (second.account_id, D("83.60"))])


def test_a_partial_first_bill_after_move_in_prorates_charges_and_blocks():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER", start=dt.date(2026, 2, 15))

    run_all(cycle)

    # Feb 15..28: 14 days, 336 kWh; not a standard month, so factor 14/30: customer charge
    # 10 x 14/30 = 4.67; block limit 500 x 14/30 = 233.333333 kWh at 0.10 = 23.33; the other
    # 102.666667 kWh at 0.20 = 20.53.
    bill = bill_of(agreement)
    assert (bill.period_start, bill.total) == (dt.date(2026, 2, 15), D("48.53"))
    assert list(BillLine.objects.filter(segment__bill=bill).values_list("amount", flat=True)) == [
        D("4.67"), D("23.33"), D("20.53")]


def test_starting_the_same_run_twice_returns_it_and_a_rerun_bills_each_period_once():
    cycle = setup_billing()
    agreements = [metered_agreement(rate_code="T-TIER")[0] for _ in range(3)]
    run = run_all(cycle, chunk_size=1)
    again = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=1, enqueue=False)
    assert again.pk == run.pk and BillRun.objects.count() == 1
    # A redelivered chunk task finds its chunk done and does nothing.
    assert runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=0, now=NOW) == "skipped"
    # Even if a chunk were marked pending again, the agreements are billed through Mar 1.
    BillRunChunk.objects.filter(run=run, number=1).update(status="pending")
    assert runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=1, now=NOW) == "done"
    assert BillSegment.objects.filter(live=True).count() == 3
    assert billed_to(a.pk for a in agreements) == {a.pk: MAR for a in agreements}


def test_the_database_refuses_a_second_live_segment_for_the_same_agreement_and_period():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    run_all(cycle)
    seg = BillSegment.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        BillSegment.objects.create(bill=seg.bill, account_id=seg.account_id, agreement_id=agreement.pk,
                                   service_point_id=seg.service_point_id, rate_code="T-TIER", period_start=FEB,
                                   period_end=MAR)


def test_approve_and_issue_number_the_bills_post_the_ledger_and_tell_mdm():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    run = run_all(cycle)
    LedgerEntry.objects.create(account_id=agreement.account_id, kind="adjustment", amount=D("12.00"),
                               effective_date=FEB, description="earlier charge")
    with pytest.raises(runs.BillRunError):
        runs.bill_run_issue(bill_run_id=run.pk, now=NOW)

    runs.bill_run_approve(bill_run_id=run.pk)
    run = runs.bill_run_issue(bill_run_id=run.pk, now=NOW)

    bill = bill_of(agreement)
    assert run.status == "issued" and "issue" in run.timings
    assert (bill.status, bill.bill_number, bill.due_date) == ("issued", f"B{bill.pk:010d}", dt.date(2026, 3, 22))
    assert (bill.balance_forward, bill.amount_due) == (D("12.00"), D("106.40"))
    assert LedgerEntry.objects.get(bill=bill).amount == D("94.40")
    sp = BillSegment.objects.get().service_point_id
    assert BilledThrough.objects.get(service_point_id=sp).billed_through_date == dt.date(2026, 2, 28)


def test_a_cycle_with_no_window_on_that_date_cannot_start():
    cycle = setup_billing()
    with pytest.raises(runs.BillRunError):
        runs.bill_run_start(cycle=cycle, bill_date=dt.date(2026, 3, 2), now=NOW, enqueue=False)


def test_resume_queues_only_the_chunks_not_done():
    cycle = setup_billing()
    for _ in range(3):
        metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=1, enqueue=False)
    runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=1, now=NOW)
    assert runs.bill_run_resume(bill_run_id=run.pk, enqueue=False) == [0, 2]
    run.refresh_from_db()
    assert (run.status, run.done_accounts) == ("running", 1)


def test_an_agreement_with_no_rate_is_held_with_a_rating_exception_not_dropped():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="NO-SUCH-RATE")
    run = run_all(cycle)
    bill = bill_of(agreement)
    assert (run.exceptions, bill.status, bill.total) == (1, "held", D("0"))
    assert list(bill.exceptions.values_list("rule", flat=True)) == ["rating_error"]


def test_a_demand_ratchet_bills_80_percent_of_januarys_peak_in_a_quiet_february():
    setup_billing(period_end=FEB, bill_date=FEB)
    cycle = setup_billing()
    schedule = RateSchedule.objects.create(code="T-RATCHET", name="ratchet")
    RateVersion.objects.create(schedule=schedule, start_date=dt.date(2020, 1, 1), components=[
        {"kind": "demand", "code": "demand", "params": {"price": "10.00", "ratchet": {"percent": 80, "months": 11}}}])
    # 1 kWh every hour of January and February, and one 20 kWh hour on Jan 14.
    agreement, _ = metered_agreement(rate_code="T-RATCHET", start=dt.date(2026, 1, 1), data_from=dt.date(2026, 1, 1),
                                     spike=(dt.date(2026, 1, 14), 10, 20.0))
    january = runs.bill_run_start(cycle=cycle, bill_date=FEB, now=NOW, enqueue=False)
    runs.bill_run_chunk_process(bill_run_id=january.pk, chunk_number=0, now=NOW)

    run_all(cycle)

    # January: 20 kW x 10.00. February's own peak is 1 kW; 80 % of January's 20 kW = 16 kW.
    totals = dict(Bill.objects.values_list("period_start", "total"))
    assert totals == {dt.date(2026, 1, 1): D("200.00"), FEB: D("160.00")}
    line = BillLine.objects.get(segment__period_start=FEB)
    assert line.quantity == D("16")


def test_a_first_run_after_conversion_starts_the_day_after_mdms_opening_billed_through_date():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER", start=dt.date(2024, 1, 1))
    out = StringIO()
    call_command("seed_billing", "--months", "0", "--opening-billed-through", "2026-02-09", stdout=out)
    assert BilledThrough.objects.get(service_point_id=agreement.service_point_id).billed_through_date == dt.date(2026, 2, 9)

    run_all(cycle)

    # Feb 10..28: 19 days, 456 kWh, factor 19/30: 6.33 + 31.67 + 27.87 (see test_rebill's final bill).
    bill = bill_of(agreement)
    assert (bill.period_start, bill.total) == (dt.date(2026, 2, 10), D("65.87"))
