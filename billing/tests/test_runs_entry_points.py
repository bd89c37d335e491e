"""The ways a run is started and followed: admin actions, the bill_run command, the hub's
selectors, and seed_billing's demo setup."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing import selectors
from billing.models import Bill, BillCycle, BillRun, BillWindow, PreBillRule, RateSchedule
from billing.tests.test_runs_helpers import MAR, metered_agreement, setup_billing

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.test", "pw-12345678")
    client.force_login(user)
    return client


def test_start_bill_run_from_the_window_admin_queues_the_chunks_on_commit(admin_client_, django_capture_on_commit_callbacks):
    setup_billing()
    metered_agreement(rate_code="T-TIER")
    window = BillWindow.objects.get()
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client_.post(reverse("admin:billing_billwindow_changelist"),
                                      {"action": "start_bill_run", "_selected_action": [window.pk]}, follow=True)
    run = BillRun.objects.get()
    assert (run.status, run.total_accounts, run.chunks.count()) == ("running", 1, 1)
    assert len(callbacks) == 1  # the enqueue of the chunk tasks, after commit
    assert f"Run {run.pk} for C01" in response.content.decode()


def test_run_admin_shows_progress_and_refuses_to_approve_a_running_run(admin_client_):
    cycle = setup_billing()
    run = BillRun.objects.create(cycle=cycle, bill_date=MAR, period_end_date=MAR, idempotency_key="k", status="running",
                                 total_accounts=8, done_accounts=2)
    page = admin_client_.get(reverse("admin:billing_billrun_changelist")).content.decode()
    assert "2 / 8 (25%)" in page
    response = admin_client_.post(reverse("admin:billing_billrun_changelist"),
                                  {"action": "approve", "_selected_action": [run.pk]}, follow=True)
    assert "Only a completed run can be approved" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "running"


def test_bill_run_command_in_process_bills_and_reports_the_phases():
    setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    out, err = StringIO(), StringIO()
    call_command("bill_run", "--cycle", "C01", "--bill-date", "2026-03-01", "--in-process", stdout=out, stderr=err)
    run = BillRun.objects.get()
    assert run.status == "completed"
    assert "1 bills, 0 held" in out.getvalue() and "determinants" in out.getvalue()
    assert Bill.objects.get().total == D("94.40")
    # Starting it again finds the same run; --resume on a completed run has nothing to do.
    call_command("bill_run", "--cycle", "C01", "--bill-date", "2026-03-01", stdout=out)
    call_command("bill_run", "--resume", str(run.pk), stdout=out)
    assert BillRun.objects.count() == 1 and "nothing to resume" in out.getvalue()
    call_command("bill_run", "--resume", str(run.pk), "--issue", stdout=out, stderr=err)
    run.refresh_from_db()
    assert (run.status, Bill.objects.get().status) == ("issued", "issued")


def test_selectors_give_runs_with_chunk_progress_the_worklist_and_bill_detail():
    setup_billing()
    PreBillRule.objects.create(kind="over_limit", params={"limit": "50"})
    agreement, _ = metered_agreement(rate_code="T-TIER")
    assert [w.bill_date for w in selectors.windows_without_run(today=MAR)] == [MAR]
    call_command("bill_run", "--cycle", "C01", "--bill-date", "2026-03-01", "--in-process", "--chunk-size", "1",
                 stdout=StringIO(), stderr=StringIO())
    (run,) = selectors.bill_runs_with_progress()
    assert (run.chunks_total, run.chunks_done, run.exceptions) == (1, 1, 1)
    (exception,) = selectors.exceptions_worklist(run_id=run.pk)
    detail = selectors.bill_detail(bill_id=exception.bill_id)
    assert [ln.amount for ln in detail.segments[0].lines.all()] == [D("10.00"), D("50.00"), D("34.40")]
    assert detail.exceptions == [exception] and detail.ledger_entries == []
    assert list(selectors.windows_without_run(today=MAR)) == []


def test_seed_billing_creates_cycles_windows_rates_for_the_demo_codes_and_rules_once():
    out = StringIO()
    call_command("seed_billing", "--start", "2026-01", "--months", "3", stdout=out)
    call_command("seed_billing", "--start", "2026-01", "--months", "3", stdout=out)
    assert BillCycle.objects.count() == 20 and BillWindow.objects.count() == 60
    c05 = BillWindow.objects.get(cycle__code="C05", bill_date=dt.date(2026, 2, 5))
    assert c05.period_end_date == dt.date(2026, 2, 5)
    assert set(RateSchedule.objects.values_list("code", flat=True)) >= {
        "RES-TIERED", "RES-TOU", "GS-FLAT", "GS-DEMAND", "WATER-RES", "WATER-COM", "GAS-RES", "GAS-COM", "STREETLIGHT"}
    assert RateSchedule.objects.get(code="RES-TOU").versions.count() == 2
    assert PreBillRule.objects.count() == 8
