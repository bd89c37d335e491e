"""Cancel/rebill with ledger reversals (one bill, and every bill MDM's replacement-read
notices touch), the final bill at move-out, an off-cycle bill, and unbilled revenue."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command

from billing.services import rebill, runs
from billing.services.ledger import account_balance
from billing.models import Bill, BillSegment, LedgerEntry, NoticeDecision, RateSchedule, RateVersion
from billing.tests.test_runs_helpers import FEB, MAR, NOW, RATES, load_hourly, metered_agreement, setup_billing
from billing.unbilled import unbilled_revenue
from core.actors import Actor
from mdm.models import ReplacementReadNotice

pytestmark = pytest.mark.django_db


def issue_run(cycle):
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, chunk_size=10, enqueue=False)
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)
    runs.bill_run_approve(bill_run_id=run.pk)
    runs.bill_run_issue(bill_run_id=run.pk, now=NOW)
    return run


def test_cancel_reverses_the_ledger_without_touching_posted_rows_and_frees_the_period():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    bill = Bill.objects.get()
    posted = LedgerEntry.objects.get(bill=bill)

    rebill.bill_cancel(bill=bill, reason="Wrong meter", effective_date=dt.date(2026, 3, 5), now=NOW)

    bill.refresh_from_db()
    reversal = LedgerEntry.objects.get(reverses=posted)
    assert (reversal.kind, reversal.amount, reversal.effective_date) == ("reversal", D("-94.40"), dt.date(2026, 3, 5))
    assert LedgerEntry.objects.get(pk=posted.pk).amount == D("94.40")
    assert (bill.status, bill.cancel_reason) == ("cancelled", "Wrong meter")
    assert not BillSegment.objects.filter(live=True).exists()
    assert account_balance(account_id=agreement.account_id) == D("0.00")
    with pytest.raises(rebill.RebillError):
        rebill.bill_cancel(bill=bill, reason="again", effective_date=MAR, now=NOW)


def test_a_draft_cannot_be_cancelled_and_a_reason_is_required():
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=0, now=NOW)
    with pytest.raises(rebill.RebillError):
        rebill.bill_cancel(bill=Bill.objects.get(), reason="x", effective_date=MAR, now=NOW)
    with pytest.raises(rebill.RebillError):
        rebill.bill_cancel(bill=Bill.objects.get(), reason=" ", effective_date=MAR, now=NOW)


def test_corrected_reads_after_billing_rebill_the_touched_bill_once():
    cycle = setup_billing()
    agreement, channel = metered_agreement(rate_code="T-TIER")
    untouched, _ = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    old = Bill.objects.get(account_id=agreement.account_id)
    # The head end resends February at 2 kWh an hour: MDM raises a replacement-read notice.
    load_hourly(channel, FEB, MAR, 2.0)
    assert ReplacementReadNotice.objects.filter(picked_up_at__isnull=True).count() == 1

    new_bills = rebill.bills_rebill_for_notices(bill_date=dt.date(2026, 3, 10), as_of=dt.date(2026, 3, 10), now=NOW)

    # 1344 kWh: 500 x 0.10 = 50.00, 844 x 0.20 = 168.80, + 10.00.
    (new,) = new_bills
    old.refresh_from_db()
    assert (new.kind, new.status, new.total, new.replaces_id) == ("rebill", "issued", D("228.80"), old.pk)
    assert (new.period_start, new.period_end, old.status) == (FEB, MAR, "cancelled")
    assert sorted(LedgerEntry.objects.filter(account_id=agreement.account_id).values_list("kind", "amount")) == [
        ("bill", D("94.40")), ("bill", D("228.80")), ("reversal", D("-94.40"))]
    assert new.balance_forward == D("0.00") and new.amount_due == D("228.80")
    assert not ReplacementReadNotice.objects.filter(picked_up_at__isnull=True).exists()
    assert Bill.objects.get(account_id=untouched.account_id).status == "issued"
    assert rebill.bills_rebill_for_notices(bill_date=dt.date(2026, 3, 10), as_of=dt.date(2026, 3, 10), now=NOW) == []


def test_final_bill_at_move_out_covers_the_last_billed_date_to_the_end_and_the_run_skips_it():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER", end=dt.date(2026, 2, 20))

    bill = rebill.bill_final(account_id=agreement.account_id, bill_date=dt.date(2026, 2, 21), as_of=dt.date(2026, 2, 21))

    # Feb 1..19: 19 days, 456 kWh, factor 19/30: 10 x 19/30 = 6.33; limit 316.666667 kWh at
    # 0.10 = 31.67; 139.333333 kWh at 0.20 = 27.87.
    assert (bill.kind, bill.period_start, bill.period_end, bill.total) == ("final", FEB, dt.date(2026, 2, 20), D("65.87"))
    runs.bill_issue(bill=bill, now=NOW)
    run = issue_run(cycle)
    assert run.bills_created == 0
    with pytest.raises(rebill.RebillError):
        rebill.bill_final(account_id=agreement.account_id, bill_date=MAR, as_of=MAR)


def test_off_cycle_bill_then_the_cycle_bills_the_rest_of_the_month():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    off = rebill.bill_off_cycle(account_id=agreement.account_id, period_end=dt.date(2026, 2, 15),
                                bill_date=dt.date(2026, 2, 16), as_of=dt.date(2026, 2, 16))
    issue_run(cycle)
    regular = Bill.objects.get(kind="regular")
    # Each half is 14 days and 336 kWh: 4.67 + 23.33 + 20.53 (see the move-in test).
    assert (off.kind, off.total, regular.period_start, regular.total) == ("off_cycle", D("48.53"), dt.date(2026, 2, 15), D("48.53"))


def test_unbilled_revenue_prices_usage_since_the_last_bill_at_current_rates_by_rate_class():
    setup_billing()
    metered_agreement(rate_code="T-TIER")
    metered_agreement(rate_code="T-TIER")
    metered_agreement(rate_code="T-TOU")
    # A price change on Feb 20: unbilled usage is priced at the rate in effect on the as-of date.
    tier = RateSchedule.objects.get(code="T-TIER")
    RateVersion.objects.filter(schedule=tier).update(end_date=dt.date(2026, 2, 20))
    RateVersion.objects.create(schedule=tier, start_date=dt.date(2026, 2, 20), components=[
        {**RATES["T-TIER"][0], "params": {"amount": "20.00"}}, RATES["T-TIER"][1]])

    rows = {r.rate_class: r for r in unbilled_revenue(as_of=MAR)}

    # T-TIER: 2 x (20.00 + 50.00 + 34.40); T-TOU: 83.60 (see test_runs).
    assert (rows["t-tier"].agreements, rows["t-tier"].consumption, rows["t-tier"].amount) == (2, D("1344"), D("208.80"))
    assert (rows["t-tou"].agreements, rows["t-tou"].amount) == (1, D("83.60"))
    out = StringIO()
    call_command("unbilled_revenue", "--as-of", "2026-03-01", stdout=out)
    assert "t-tier" in out.getvalue() and "292.40" in out.getvalue()


def test_nothing_is_unbilled_once_the_month_is_billed():
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    assert unbilled_revenue(as_of=MAR) == []


def test_notices_are_decided_once_and_one_without_an_issued_bill_is_dismissed():
    cycle = setup_billing()
    agreement, channel = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    old = Bill.objects.get(account_id=agreement.account_id)
    load_hourly(channel, FEB, MAR, 2.0)
    rebill.bill_cancel(bill=old, reason="Wrong meter", effective_date=MAR, now=NOW)  # cancelled by hand first

    assert rebill.bills_rebill_for_notices(bill_date=MAR, as_of=MAR, now=NOW, actor=Actor.system("auto-rebill")) == []

    decision = NoticeDecision.objects.get()
    assert (decision.action, decision.actor, decision.decided_by_id) == ("dismissed", "auto-rebill", None)
    assert not ReplacementReadNotice.objects.filter(picked_up_at__isnull=True).exists()
    with pytest.raises(rebill.RebillError, match="already dismissed"):
        rebill.notice_rebill(notice_id=decision.notice_id, bill_date=MAR, as_of=MAR, now=NOW)
    with pytest.raises(rebill.RebillError, match="no open replacement-read notice"):
        rebill.notice_dismiss(notice_id=10**9, reason="x", now=NOW)
