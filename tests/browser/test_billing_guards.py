"""The bill-run guards of issue 9, in a real browser (the Billing Hub on 1 March 2026):

- a window whose read window is still open is offered only as "Start early…", and starting it
  is refused until an override reason is given (the run page then shows the reason);
- starting, approving and issuing a run each ask first, showing the counts and the totals;
- a window whose period overlaps bills already drafted is refused before drafting, naming the
  conflicting bill and its account;
- a run with a failed chunk shows the chunk's error and the accounts it concerns, and offers
  no Approve (neither when it failed nor when it reads as completed with errors)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Bill, BillRun
from billing.services import runs
from billing.tests.test_runs_helpers import MAR, NOW, metered_agreement, setup_billing
from conftest import PASSWORD
from tests.celery_helpers import celery_worker  # noqa: F401  (pytest fixture)

APR = dt.date(2026, 4, 1)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


@pytest.fixture
def march_first(monkeypatch):
    """The hub's clock reads 1 March 2026 12:00 UTC: C01's March window has closed, its April
    window (reads until the end of March) has not."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    setup_billing(period_end=APR, bill_date=APR)
    return setup_billing()


def sign_in(page):
    page.goto("/accounts/login/?next=/billing/")
    page.get_by_label("Username").fill("billing1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Billing Hub")).to_be_visible()


def money(amount: D) -> str:
    return f"${amount:,.2f}"


def process(run: BillRun) -> None:
    for number in runs.bill_run_pending_chunks(bill_run_id=run.pk):
        runs.bill_run_chunk_process(bill_run_id=run.pk, chunk_number=number, now=NOW)


@pytest.mark.celery_worker
def test_early_start_needs_a_reason_every_step_confirms_and_an_overlap_names_the_bill(
        browser_page, billing_user, march_first, celery_worker):  # noqa: F811
    first, _ = metered_agreement(rate_code="T-TIER")
    metered_agreement(rate_code="T-TIER")
    page = browser_page()
    sign_in(page)

    # The April window is not offered as a plain start: its reads are not all in.
    april = page.get_by_test_id("window-C01-2026-04-01")
    expect(april.get_by_role("button", name="Start run")).to_have_count(0)
    expect(april.get_by_test_id("reads-open")).to_be_visible()
    april.get_by_role("link", name="Start early…").click()
    expect(page.get_by_test_id("confirm-open")).to_contain_text("The read window is still open")
    expect(page.get_by_test_id("confirm-accounts")).to_have_text("2")
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("confirm-error")).to_contain_text("still open")
    assert not BillRun.objects.exists()
    page.get_by_label("Override reason").fill("Year-end estimate for the auditors")
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("run-override")).to_have_text(
        "Started before its read window closed. Override reason: Year-end estimate for the auditors")
    expect(page.get_by_test_id("run-status")).to_have_text("Completed (drafts ready)", timeout=90_000)
    early = BillRun.objects.get()
    assert early.override_reason == "Year-end estimate for the auditors"

    # Approve asks first, with the bills and their total; nothing changes until confirmed.
    drafts = list(Bill.objects.filter(run=early))
    total = sum((b.total for b in drafts), D("0"))
    assert len(drafts) == 2 and total > 0
    page.get_by_role("button", name="Approve…").click()
    expect(page.get_by_test_id("confirm-bills")).to_have_text("2")
    expect(page.get_by_test_id("confirm-total")).to_have_text(money(total))
    early.refresh_from_db()
    assert early.status == BillRun.Status.DONE
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Approved")

    # Issue asks first too.
    page.get_by_role("button", name="Issue bills…").click()
    expect(page.get_by_test_id("confirm-issue")).to_be_visible()
    expect(page.get_by_test_id("confirm-bills")).to_have_text("2")
    expect(page.get_by_test_id("confirm-total")).to_have_text(money(total))
    assert not Bill.objects.filter(run=early, status=Bill.Status.ISSUED).exists()
    page.get_by_test_id("confirm-submit").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Issued")
    assert Bill.objects.filter(run=early, status=Bill.Status.ISSUED).count() == 2

    # The March window's period is inside the bills just issued: refused before any drafting,
    # naming a conflicting bill and its account; the confirm button is not offered.
    page.goto("/billing/")
    page.get_by_test_id("window-C01-2026-03-01").get_by_role("button", name="Start run").click()
    conflict = page.get_by_test_id("confirm-conflict")
    expect(conflict).to_be_visible()
    bill = Bill.objects.get(run=early, account=first.account)
    expect(conflict).to_contain_text(
        f"account {first.account.account_number} (agreement {first.pk}) is already billed 2026-02-01 to 2026-03-31 "
        f"by bill {bill.bill_number}")
    expect(page.get_by_test_id("confirm-submit")).to_be_disabled()
    assert BillRun.objects.count() == 1


def test_a_run_with_a_failed_chunk_shows_it_with_its_accounts_and_offers_no_approve(
        browser_page, billing_user, march_first):
    cycle = march_first
    agreement, _ = metered_agreement(rate_code="T-TIER")
    # The March run is started before an early April run drafts the same days; its chunk then
    # meets those bills and fails (the worker's IntegrityError of issue 9, now named).
    current = runs.bill_run_start(cycle=cycle, bill_date=MAR, now=NOW, enqueue=False)
    early = runs.bill_run_start(cycle=cycle, bill_date=APR, now=NOW, enqueue=False, override_reason="early")
    process(early)
    later = Bill.objects.get(run=early)
    assert runs.bill_run_chunk_process(bill_run_id=current.pk, chunk_number=0, now=NOW) == "failed"

    page = browser_page()
    sign_in(page)
    page.goto(f"/billing/runs/{current.pk}/")
    expect(page.get_by_test_id("run-status")).to_have_text("Failed")
    chunk = page.get_by_test_id("chunk-error-0")
    expect(chunk.get_by_test_id("chunk-error-text")).to_contain_text(f"bill {later.pk}")
    expect(chunk.get_by_test_id("chunk-error-accounts")).to_have_text(agreement.account.account_number)
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    expect(page.get_by_role("button", name="Resume")).to_be_visible()

    # A run whose chunks all ran but that recorded an error reads "Completed with errors" and
    # offers no Approve either.
    BillRun.objects.filter(pk=early.pk).update(errors=1)
    page.goto(f"/billing/runs/{early.pk}/")
    expect(page.get_by_test_id("run-status")).to_have_text("Completed with errors")
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
