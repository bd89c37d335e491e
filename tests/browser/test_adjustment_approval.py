"""Maker-checker in a real browser: a CSR asks for a credit above the approval limit on the
account page and is told it waits; a billing user sees it counted in the Billing Hub's
navigation, opens "Adjustments awaiting approval", confirms and approves it, and the credit is
on the account's ledger with both people named."""
from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from django.conf import settings
from playwright.sync_api import expect

from billing.models import AdjustmentRequest, LedgerEntry
from cis.tests.factories import AccountFactory
from conftest import PASSWORD

# available_apps makes the flush after the test TRUNCATE ... CASCADE (see test_csr_hub.py).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


def sign_in(page, username: str, start: str) -> None:
    page.context.clear_cookies()
    page.goto(start)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_csr_asks_for_a_large_credit_and_a_billing_user_approves_it(browser_page, csr, billing_user):
    account = AccountFactory(account_number="7300000003")
    page = browser_page()

    sign_in(page, "csr1", f"/hub/accounts/{account.account_number}/")
    panel = page.locator("#panel-billing\\.balance")
    panel.get_by_text("Post an adjustment").click()
    form = panel.get_by_role("form", name="Post an adjustment")
    form.get_by_label("Amount").fill("-480.00")
    form.get_by_label("Reason").fill("estimated reads were too high in January")
    form.get_by_role("button", name="Post adjustment").click()
    expect(page.get_by_role("status")).to_contain_text("Credit of $480.00 is above the $250.00 limit: not posted yet.")
    expect(panel.get_by_text("Awaiting approval")).to_be_visible()
    panel.get_by_text("Post a payment").click()
    panel.screenshot(path="/tmp/adjustment_panel.png")
    expect(page.get_by_test_id("account-balance")).to_have_text("$0.00")
    assert LedgerEntry.objects.filter(account_id=account.pk).count() == 0
    request = AdjustmentRequest.objects.get()

    sign_in(page, "billing1", "/billing/")
    nav = page.get_by_test_id("nav-adjustments")
    expect(nav).to_contain_text("Adjustments awaiting approval 1")
    nav.click()
    row = page.get_by_test_id(f"adjustment-{request.pk}")
    expect(row).to_contain_text("-480.00")
    expect(row).to_contain_text("csr1")
    row.get_by_role("link", name="Approve").click()
    expect(page.get_by_role("heading", name=re.compile(r"Approve a credit of \$480\.00 to account 7300000003"))).to_be_visible()
    expect(page.get_by_test_id("confirm-counts")).to_contain_text("1 ledger entry of $-480.00")
    page.screenshot(path="/tmp/adjustment_confirm.png", full_page=True)
    page.get_by_role("button", name="Approve and post").click()
    expect(page.get_by_role("status")).to_contain_text(f"Adjustment request {request.pk} approved")
    expect(page.get_by_text("No adjustments are waiting for approval.")).to_be_visible()
    expect(page.get_by_test_id("nav-adjustments")).to_have_text("Adjustments awaiting approval")

    request.refresh_from_db()
    entry = request.ledger_entry
    assert (request.status, request.requested_by, request.decided_by) == ("approved", csr, billing_user)
    assert entry.amount == D("-480.00") and entry.created_by == billing_user
    assert "asked by csr1, approved by billing1" in entry.reason
    page.goto(f"/hub/accounts/{account.account_number}/")
    expect(page.get_by_test_id("account-balance")).to_have_text("$-480.00")
    expect(page.locator("#panel-billing\\.balance")).to_contain_text("Approved by billing1")
