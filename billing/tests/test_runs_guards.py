"""Bill-run guards (issue 9): a window whose reads are not in is not started without an
override reason; a period already billed (a later window's run) is refused before drafting,
naming the bill; a failed chunk shows its error and accounts and the run is never approvable;
start, approve and issue go through a confirm step with counts and totals."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.models import Bill, BillRun, BillRunChunk, BillSegment
from billing.services import runs
from billing.services.runs.drafting import BillOverlapError, bills_draft
from billing.services.runs.planning import SegmentPlan, window_read_closed
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing
from cis.selectors import agreements_by_ids
from conftest import PASSWORD

pytestmark = pytest.mark.django_db
APR = dt.date(2026, 4, 1)


@pytest.fixture
def staff(client, billing_user):
    client.login(username=billing_user.username, password=PASSWORD)
    return client


def process(run: BillRun) -> None:
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)


def test_a_window_is_closed_the_day_after_its_read_window_and_not_before_its_period_end():
    assert not window_read_closed(period_end_date=MAR, read_window_end=dt.date(2026, 3, 2), today=MAR)
    assert window_read_closed(period_end_date=MAR, read_window_end=dt.date(2026, 2, 28), today=MAR)
    assert not window_read_closed(period_end_date=MAR, read_window_end=dt.date(2026, 2, 20), today=dt.date(2026, 2, 28))


def test_a_future_window_needs_an_override_reason_which_the_run_keeps(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    cycle = setup_billing(period_end=APR, bill_date=APR)
    metered_agreement(rate_code="T-TIER")
    with pytest.raises(runs.BillRunWindowOpen, match="still open"):
        runs.bill_run_start(cycle=cycle, bill_date=APR, now=NOW, enqueue=False)
    with pytest.raises(CommandError, match="still open"):
        call_command("bill_run", "--cycle", "C01", "--bill-date", "2026-04-01", "--in-process")
    assert not BillRun.objects.exists()
    run = runs.bill_run_start(cycle=cycle, bill_date=APR, now=NOW, enqueue=False, override_reason="Test bills")
    assert run.override_reason == "Test bills"


def _future_then_current(cycle):
    future = runs.bill_run_start(cycle=cycle, bill_date=APR, now=NOW, enqueue=False, override_reason="early")
    process(future)
    return Bill.objects.get(run=future)


def test_starting_the_current_run_after_a_later_windows_bills_is_refused_naming_the_bill():
    setup_billing(period_end=APR, bill_date=APR)
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    later = _future_then_current(cycle)
    with pytest.raises(runs.BillRunConflict) as caught:
        runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    message = str(caught.value)
    assert f"draft bill {later.pk}" in message and agreement.account.account_number in message
    assert "2026-02-01 to 2026-03-31" in message
    assert BillRun.objects.count() == 1


def test_a_chunk_meeting_a_later_bill_fails_with_its_name_and_the_run_cannot_be_approved(staff):
    setup_billing(period_end=APR, bill_date=APR)
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    current = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)  # nothing in the way yet
    later = _future_then_current(cycle)

    assert runs.bill_run_chunk_process(bill_run_id=current.pk, chunk_number=0, now=NOW) == "failed"

    current.refresh_from_db()
    chunk = BillRunChunk.objects.get(run=current)
    assert current.status == BillRun.Status.FAILED and current.errors == 1
    assert "BillOverlapError" in chunk.error and f"draft bill {later.pk}" in chunk.error
    with pytest.raises(runs.BillRunError):
        runs.bill_run_approve(bill_run_id=current.pk)
    page = staff.get(f"/billing/runs/{current.pk}/").content.decode()
    assert 'data-testid="chunk-error-0"' in page and agreement.account.account_number in page
    assert "This run failed" in page and "Approve" not in page

    # Resume: it fails again and says so (never "Completed" with an Approve button).
    runs.bill_run_resume(bill_run_id=current.pk, enqueue=False)
    process(current)
    current.refresh_from_db()
    assert current.status == BillRun.Status.FAILED
    page = staff.get(f"/billing/runs/{current.pk}/").content.decode()
    assert "This run failed" in page and "Approve" not in page and "Completed" not in page


def test_a_completed_run_with_a_failed_chunk_record_is_not_approvable():
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    process(run)
    BillRun.objects.filter(pk=run.pk).update(errors=1)
    run.refresh_from_db()
    assert not runs.bill_run_can_approve(run)
    with pytest.raises(runs.BillRunError, match="failed chunk"):
        runs.bill_run_approve(bill_run_id=run.pk)


def test_drafting_an_overlapping_period_is_refused_before_the_unique_constraint():
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    process(runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False))
    (row,) = agreements_by_ids(agreement_ids=[agreement.pk])
    plan = {row.bill_account_id: [SegmentPlan(row, dt.date(2026, 2, 10), dt.date(2026, 3, 5))]}
    with pytest.raises(BillOverlapError, match="already billed 2026-02-01 to 2026-02-28"):
        bills_draft(plans=plan, bill_date=MAR, due_date=MAR, kind=Bill.Kind.OFF_CYCLE, as_of=MAR)
    assert BillSegment.objects.count() == 1


def test_start_approve_and_issue_ask_for_confirmation_with_counts_and_totals(staff):
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    metered_agreement(rate_code="T-TIER")
    page = staff.post("/billing/runs/start/", {"cycle": cycle.pk, "bill_date": "2026-03-01"}).content.decode()
    assert 'data-testid="confirm-start"' in page and 'data-testid="confirm-accounts">2<' in page
    assert "Feb. 28, 2026" in page and not BillRun.objects.exists()

    response = staff.post("/billing/runs/start/", {"cycle": cycle.pk, "bill_date": "2026-03-01", "confirmed": "1"})
    run = BillRun.objects.get()
    assert response.status_code == 302
    process(run)
    page = staff.post(f"/billing/runs/{run.pk}/approve/").content.decode()
    # 2 x 94.40 (see test_hub_runs)
    assert 'data-testid="confirm-bills">2<' in page and "$188.80" in page
    run.refresh_from_db()
    assert run.status == BillRun.Status.DONE
    staff.post(f"/billing/runs/{run.pk}/approve/", {"confirmed": "1"})
    page = staff.post(f"/billing/runs/{run.pk}/issue/").content.decode()
    assert 'data-testid="confirm-issue"' in page and "$188.80" in page
    assert runs.bill_run_totals(bill_run_id=run.pk)["to_issue_total"] == D("188.80")


def test_the_hub_offers_a_future_window_only_through_the_override(staff, monkeypatch):
    setup_billing(period_end=APR, bill_date=APR)
    cycle = setup_billing()
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    page = staff.get("/billing/").content.decode()
    future_row = page.split('data-testid="window-C01-2026-04-01"')[1].split("</tr>")[0]
    assert "Start early" in future_row and ">Start run<" not in future_row
    page = staff.post("/billing/runs/start/", {"cycle": cycle.pk, "bill_date": "2026-04-01",
                                               "confirmed": "1"}).content.decode()
    assert "still open" in page and not BillRun.objects.exists()
    staff.post("/billing/runs/start/", {"cycle": cycle.pk, "bill_date": "2026-04-01", "confirmed": "1",
                                        "override_reason": "Year-end estimate"})
    run = BillRun.objects.get()
    assert run.override_reason == "Year-end estimate"
    assert "Override reason: Year-end estimate" in staff.get(f"/billing/runs/{run.pk}/").content.decode()
