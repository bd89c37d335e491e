"""Billing Hub pages for cycles, runs, the exceptions worklist, bills, cancel/rebill and the
final bill, driven through Django's test client against real bill runs (chunks processed
in-process here; tests/browser/test_billing_hub.py runs them on a Celery worker)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages

from billing.pdf import bill_document_render
from billing.services import runs
from billing.models import Bill, BillException, BillRun, LedgerEntry, PreBillRule
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing
from conftest import PASSWORD
from service_orders.models import ServiceOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, billing_user):
    client.login(username=billing_user.username, password=PASSWORD)
    return client


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def process(run: BillRun) -> None:
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)


def issued_bill(cycle) -> Bill:
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    process(run)
    runs.bill_run_approve(bill_run_id=run.pk)
    runs.bill_run_issue(bill_run_id=run.pk, now=NOW)
    return Bill.objects.get(run=run)


def test_hub_lists_the_cycle_window_and_starts_its_run(staff):
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    metered_agreement(rate_code="T-TOU")
    page = staff.get("/billing/").content.decode()
    assert 'data-testid="window-C01-2026-03-01"' in page and "Start run" in page

    response = staff.post("/billing/runs/start/", {"cycle": cycle.pk, "bill_date": "2026-03-01",
                                                       "confirmed": "1"})

    run = BillRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/billing/runs/{run.pk}/"
    assert (run.status, run.total_accounts) == ("running", 2)
    progress = staff.get(f"/billing/runs/{run.pk}/progress.json").json()
    assert (progress["status"], progress["done"], progress["total"], progress["bills"]) == ("running", 0, 2, 0)
    page = staff.get(f"/billing/runs/{run.pk}/").content.decode()
    assert "data-live" in page and "run-progress.js" in page


def test_progress_reaches_completed_and_the_page_offers_approve_then_issue(staff):
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    process(run)
    progress = staff.get(f"/billing/runs/{run.pk}/progress.json").json()
    assert (progress["status"], progress["done"], progress["bills"], progress["percent"]) == ("completed", 1, 1, 100)
    assert ">Approve…<" in staff.get(f"/billing/runs/{run.pk}/").content.decode()

    staff.post(f"/billing/runs/{run.pk}/approve/", {"confirmed": "1"})
    assert ">Issue bills…<" in staff.get(f"/billing/runs/{run.pk}/").content.decode()
    response = staff.post(f"/billing/runs/{run.pk}/issue/", {"confirmed": "1"})

    assert said(response) == [f"Run {run.pk} issued: 1 bill(s)."]
    bill = Bill.objects.get(run=run)
    # Feb 2026, 28 days x 24 kWh = 672 kWh: 500 x 0.10 + 172 x 0.20 + 10.00 = 94.40
    assert (bill.status, bill.total) == ("issued", D("94.40"))
    assert LedgerEntry.objects.get(bill=bill).amount == D("94.40")


def test_approving_a_running_run_is_refused_with_a_message(staff):
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    response = staff.post(f"/billing/runs/{run.pk}/approve/", {"confirmed": "1"})
    assert said(response)[0].startswith("Not approved: Only a completed run can be approved")
    run.refresh_from_db()
    assert run.status == "running"


def test_worklist_filters_by_rule_and_works_exceptions(staff):
    cycle = setup_billing()
    PreBillRule.objects.create(kind="zero_consumption")
    PreBillRule.objects.create(kind="over_limit", params={"limit": "50.00"})
    zero, _ = metered_agreement(rate_code="T-TIER", kwh_per_hour=0)
    big, _ = metered_agreement(rate_code="T-TIER")
    run = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    process(run)
    zero_exc = BillException.objects.get(rule="zero_consumption")
    over_exc = BillException.objects.get(rule="over_limit")

    page = staff.get("/billing/exceptions/?rule=zero_consumption&status=open").content.decode()
    assert f'data-testid="exception-{zero_exc.pk}"' in page and f'data-testid="exception-{over_exc.pk}"' not in page

    staff.post(f"/billing/exceptions/{over_exc.pk}/release/")
    staff.post(f"/billing/exceptions/{zero_exc.pk}/meter-check/")

    over_exc.refresh_from_db()
    zero_exc.refresh_from_db()
    assert (over_exc.status, over_exc.bill.status) == ("released", "draft")
    assert (zero_exc.status, zero_exc.bill.status) == ("meter_check", "held")
    order = ServiceOrder.objects.get()
    assert (order.order_type, order.service_point_id) == ("meter_check", zero.service_point_id)
    # Worked exceptions leave the open worklist.
    assert "No exceptions match." in staff.get("/billing/exceptions/").content.decode()
    assert big.account_id != zero.account_id


def test_working_an_exception_twice_says_why_not(staff):
    cycle = setup_billing()
    PreBillRule.objects.create(kind="zero_consumption")
    metered_agreement(rate_code="T-TIER", kwh_per_hour=0)
    process(runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False))
    exc = BillException.objects.get()
    staff.post(f"/billing/exceptions/{exc.pk}/release/")
    response = staff.post(f"/billing/exceptions/{exc.pk}/rerate/")
    assert said(response)[-1].startswith("Not done: Exception")


def test_bill_page_explains_each_line_and_links_its_pdf(staff):
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    bill = issued_bill(cycle)
    page = staff.get(f"/billing/bills/{bill.pk}/").content.decode()
    # The line says what it is in words; staff see the rule behind it in its own column.
    assert "500 kWh × $0.10" in page and "block 1 · rule energy (tiered)" in page
    assert "172 kWh × $0.20" in page and "block 2 · rule energy (tiered)" in page
    assert f"/billing/bills/{bill.pk}/pdf/" in page and "Cancel and rebill" in page

    assert staff.get(f"/billing/bills/{bill.pk}/pdf/").status_code == 202  # being prepared, rendered by a worker
    bill_document_render(bill_id=bill.pk)
    pdf = staff.get(f"/billing/bills/{bill.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert "attachment" in staff.get(f"/billing/bills/{bill.pk}/pdf/?download=1")["Content-Disposition"]
    ebill = staff.get(f"/billing/bills/{bill.pk}/ebill/").content.decode()
    assert "$94.40" in ebill and agreement.account.account_number in ebill


def test_cancel_and_rebill_reverses_the_ledger_and_links_the_bills(staff):
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    bill = issued_bill(cycle)

    response = staff.post(f"/billing/bills/{bill.pk}/rebill/", {"reason": "Meter multiplier was wrong"})

    new = Bill.objects.get(replaces=bill)
    assert response["Location"] == f"/billing/bills/{new.pk}/"
    bill.refresh_from_db()
    assert (bill.status, bill.cancel_reason, new.status, new.kind) == (
        "cancelled", "Meter multiplier was wrong", "issued", "rebill")
    kinds = sorted(LedgerEntry.objects.filter(account_id=bill.account_id).values_list("kind", "amount"))
    assert kinds == [("bill", D("94.40")), ("bill", D("94.40")), ("reversal", D("-94.40"))]
    old_page = staff.get(f"/billing/bills/{bill.pk}/").content.decode()
    assert "Reversal of Bill" in old_page and 'data-testid="replaced-by"' in old_page


def test_cancel_needs_a_reason(staff):
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    bill = issued_bill(cycle)
    response = staff.post(f"/billing/bills/{bill.pk}/cancel/", {"reason": ""})
    assert said(response)[0].startswith("Not cancelled: reason")
    bill.refresh_from_db()
    assert bill.status == "issued"


def test_final_bill_after_move_out_is_drafted_then_issued(staff):
    setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER", end=dt.date(2026, 2, 20))
    number = agreement.account.account_number

    response = staff.post("/billing/bills/final/", {"account_number": number, "bill_date": "2026-02-21"})

    bill = Bill.objects.get(kind="final")
    assert response["Location"] == f"/billing/bills/{bill.pk}/"
    # Feb 1-19 (see billing/tests/test_rebill.py): 6.33 + 31.67 + 27.87
    assert (bill.status, bill.period_end, bill.total) == ("draft", dt.date(2026, 2, 20), D("65.87"))
    assert ">Issue bill<" in staff.get(f"/billing/bills/{bill.pk}/").content.decode()
    staff.post(f"/billing/bills/{bill.pk}/issue/")
    bill.refresh_from_db()
    assert bill.status == "issued" and bill.bill_number


def test_final_bill_for_an_account_still_in_service_is_refused(staff):
    setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    response = staff.post("/billing/bills/final/", {"account_number": agreement.account.account_number,
                                                     "bill_date": "2026-03-01"})
    assert said(response)[0].startswith("No final bill: Account")
    assert not Bill.objects.exists()


def test_csr_may_view_bills_but_not_change_them(client, csr, field_user):
    cycle = setup_billing()
    metered_agreement(rate_code="T-TIER")
    bill = issued_bill(cycle)
    client.login(username=csr.username, password=PASSWORD)
    page = client.get(f"/billing/bills/{bill.pk}/")
    assert page.status_code == 200 and "Cancel and rebill" not in page.content.decode()
    assert "Cycles and runs" not in page.content.decode()  # tabs a CSR cannot open are not offered
    bill_document_render(bill_id=bill.pk)  # what the worker does after issue
    assert client.get(f"/billing/bills/{bill.pk}/pdf/").status_code == 200
    assert client.post(f"/billing/bills/{bill.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert client.get("/billing/").status_code == 403
    client.logout()
    client.login(username=field_user.username, password=PASSWORD)
    assert client.get(f"/billing/bills/{bill.pk}/").status_code == 403


def test_bill_search_finds_by_account_number(staff):
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    other, _ = metered_agreement(rate_code="T-TIER")
    process(runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False))
    mine = Bill.objects.get(account_id=agreement.account_id)
    theirs = Bill.objects.get(account_id=other.account_id)
    page = staff.get("/billing/bills/", {"q": agreement.account.account_number}).content.decode()
    assert f"/billing/bills/{mine.pk}/" in page and f"/billing/bills/{theirs.pk}/" not in page


def test_account_360_panel_links_the_bill_page_and_pdf(client, csr):
    cycle = setup_billing()
    agreement, _ = metered_agreement(rate_code="T-TIER")
    bill = issued_bill(cycle)
    client.login(username=csr.username, password=PASSWORD)
    page = client.get(f"/hub/accounts/{agreement.account.account_number}/").content.decode()
    assert f'href="/billing/bills/{bill.pk}/"' in page and f'href="/billing/bills/{bill.pk}/pdf/"' in page
