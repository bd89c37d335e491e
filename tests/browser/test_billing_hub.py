"""A billing clerk's cycle in a real browser: start the bill run of a window from the Billing
Hub and watch its progress (the chunks run on a real Celery worker) reach completed, work
the pre-bill exceptions (release one, send one for a meter check), approve and issue, open a
bill and its PDF, cancel and rebill a bill (the ledger shows the reversal), and draft and
issue the final bill of an account that moved out."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings
from playwright.sync_api import expect

from billing.models import Bill, BillException, BillRun, LedgerEntry, PreBillRule
from billing.tests.test_runs_helpers import metered_agreement, setup_billing
from cis import services as cis_services
from cis.tests.factories import AccountFactory
from conftest import PASSWORD
from service_orders.models import ServiceOrder
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

# available_apps makes the flush after the test TRUNCATE ... CASCADE (see test_csr_hub.py).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


@pytest.fixture
def february():
    """Cycle C01 bills February 2026 on March 1. Four accounts on T-TIER (500 kWh at 0.10, then
    0.20, + 10.00): `normal` at 1 kWh an hour (672 kWh: 94.40), `zero` with no usage (held:
    zero consumption), `big` at 2 kWh an hour (1344 kWh: 228.80, held: over the 200.00 limit);
    `mover` is in cycle C02 and moved out on February 20."""
    cycle = setup_billing()
    PreBillRule.objects.create(kind="zero_consumption")
    PreBillRule.objects.create(kind="over_limit", params={"limit": "200.00"})
    normal, _ = metered_agreement(rate_code="T-TIER")
    zero, _ = metered_agreement(rate_code="T-TIER", kwh_per_hour=0)
    big, _ = metered_agreement(rate_code="T-TIER", kwh_per_hour=2)
    mover, _ = metered_agreement(rate_code="T-TIER", account=AccountFactory(bill_cycle_code="C02"))
    cis_services.move_out_request(account=mover.account, service_point=mover.service_point,
                                  move_out_date=dt.date(2026, 2, 20), today=dt.date(2026, 3, 1))
    return {"cycle": cycle, "normal": normal, "zero": zero, "big": big, "mover": mover}


def sign_in(page):
    page.goto("/billing/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/billing/"))
    page.get_by_label("Username").fill("billing1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Billing Hub")).to_be_visible()


def test_billing_clerk_runs_a_cycle_works_exceptions_and_corrects_bills(browser_page, billing_user, february,
                                                                        celery_worker):  # noqa: F811
    page = browser_page()
    sign_in(page)

    # Start the run of the window; the run page polls its progress until the worker is done.
    page.get_by_test_id("window-C01-2026-03-01").get_by_role("button", name="Start run").click()
    # Starting asks first, with what the run will bill.
    expect(page.get_by_test_id("confirm-accounts")).to_have_text("3")
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_role("heading", name=re.compile(r"Run \d+: C01"))).to_be_visible()
    expect(page.get_by_test_id("run-status")).to_have_text("Completed (drafts ready)", timeout=90_000)
    expect(page.get_by_test_id("run-done")).to_have_text("3")
    expect(page.get_by_test_id("run-bills")).to_have_text("3")
    expect(page.get_by_test_id("run-exceptions")).to_have_text("2")
    run = BillRun.objects.get()
    assert run.status == "completed"

    # Work the exceptions: send the zero-usage bill's meter for a check, release the big bill.
    page.get_by_role("link", name="Work the exceptions").click()
    page.get_by_label("Rule").select_option(label="Zero consumption")
    page.get_by_role("button", name="Filter").click()
    zero_exc = BillException.objects.get(rule="zero_consumption")
    over_exc = BillException.objects.get(rule="over_limit")
    expect(page.get_by_test_id(f"exception-{over_exc.pk}")).to_have_count(0)
    page.get_by_test_id(f"exception-{zero_exc.pk}").get_by_role("button", name="Meter check").click()
    expect(page.locator(".message--success")).to_contain_text("Sent for a meter check")
    page.get_by_label("Rule").select_option(label="Amount over limit")
    page.get_by_role("button", name="Filter").click()
    page.get_by_test_id(f"exception-{over_exc.pk}").get_by_role("button", name="Release").click()
    expect(page.locator(".message--success")).to_contain_text("Released")
    assert ServiceOrder.objects.get(order_type="meter_check").service_point_id == february["zero"].service_point_id

    # Approve and issue the run.
    page.goto(f"/billing/runs/{run.pk}/")
    page.get_by_role("button", name="Approve").click()
    page.get_by_test_id("confirm-submit").click()  # approving asks first, with the counts and totals
    expect(page.get_by_test_id("run-status")).to_have_text("Approved")
    page.get_by_role("button", name="Issue bills").click()
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Issued")
    statuses = dict(Bill.objects.filter(run=run).values_list("account_id", "status"))
    assert statuses == {february["normal"].account_id: "issued", february["big"].account_id: "issued",
                        february["zero"].account_id: "held"}

    # Open the normal bill: its lines are explained, and its PDF link gives a PDF.
    bill = Bill.objects.get(account_id=february["normal"].account_id)
    page.get_by_role("link", name=bill.bill_number).click()
    expect(page.get_by_test_id("bill-total")).to_have_text("$94.40")
    # Staff see the rule behind a line in its own column; the line itself says it in words.
    row = page.get_by_role("row").filter(has_text="first 500 kWh")
    expect(row.locator(".line-how")).to_have_text("500 kWh × $0.10")
    expect(row.locator(".line-rule")).to_have_text("block 1 · rule energy (tiered)")
    # The PDF was printed by the worker after the issue committed: the link serves the stored
    # file (202 "being prepared" until then).
    pdf_url = page.get_by_test_id("bill-pdf").get_attribute("href")
    for _ in range(120):
        pdf = page.request.get(pdf_url)
        if pdf.status == 200:
            break
        assert pdf.status == 202 and "being prepared" in pdf.text()
        page.wait_for_timeout(500)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")

    # Cancel and rebill it: the rebill opens, the old bill's ledger shows the reversal.
    page.get_by_label("Reason").first.fill("Customer disputed the read; reads re-checked")
    page.get_by_role("button", name="Cancel and rebill").click()
    expect(page.get_by_role("heading", name=re.compile("Rebill bill"))).to_be_visible()
    expect(page.get_by_test_id("bill-status")).to_have_text("Issued")
    # The rebill names the bill it replaces beside its figures (its history links it too).
    page.get_by_role("complementary").get_by_role("link", name=bill.bill_number).click()
    expect(page.get_by_test_id("bill-status")).to_have_text("Cancelled")
    ledger = page.get_by_test_id("bill-ledger")
    expect(ledger).to_contain_text("Reversal of Bill")
    expect(ledger).to_contain_text("-$94.40")  # money is formatted one way (core.money.format_money)
    kinds = sorted(LedgerEntry.objects.filter(account_id=bill.account_id).values_list("kind", "amount"))
    assert kinds == [("bill", D("94.40")), ("bill", D("94.40")), ("reversal", D("-94.40"))]

    # The account that moved out on February 20 gets its final bill: drafted, checked, issued.
    page.get_by_role("link", name="Cycles and runs").click()
    page.get_by_label("Account number").fill(february["mover"].account.account_number)
    page.get_by_label("Bill date").fill("2026-02-21")
    page.get_by_role("button", name="Draft final bill").click()
    expect(page.get_by_role("heading", name="Final bill (not issued)")).to_be_visible()
    # Feb 1-19 (19 days, 456 kWh; see billing/tests/test_rebill.py): 6.33 + 31.67 + 27.87
    expect(page.get_by_test_id("bill-total")).to_have_text("$65.87")
    page.get_by_role("button", name="Issue bill").click()
    expect(page.get_by_test_id("bill-status")).to_have_text("Issued")
    final = Bill.objects.get(kind="final")
    assert (final.account_id, final.period_end, final.status) == (
        february["mover"].account_id, dt.date(2026, 2, 20), "issued")
