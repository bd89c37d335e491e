"""Replacement reads in a real browser: a corrected read file for a February already billed and
issued is imported through MDM's import path; a billing clerk opens the Billing Hub's
Replacement reads page, sees the notice with the bill it touches, rebills it after the confirm
step, lands on the rebill's page and reads its history (who approved and issued it, the bill it
replaces), then follows that link to the cancelled bill and its history."""
from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Bill, LedgerEntry
from billing.tests.test_notices_hub import CORRECTED_DAY, corrected_day_csv
from billing.tests.test_rebill import issue_run
from billing.tests.test_runs_helpers import metered_agreement, setup_billing
from conftest import PASSWORD
from mdm import importing
from mdm.models import ReplacementReadNotice

# available_apps makes the flush after the test TRUNCATE ... CASCADE (see test_csr_hub.py).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


@pytest.fixture
def corrected_february(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UTILIS_VEE_AFTER_IMPORT = False
    cycle = setup_billing()
    _, channel = metered_agreement(rate_code="T-TIER")
    issue_run(cycle)
    importing.import_file(corrected_day_csv(channel.meter.serial_number, CORRECTED_DAY, 2.0), format="csv",
                          file_name="fix.csv", now=timezone.now())
    return Bill.objects.get(), ReplacementReadNotice.objects.get()


def sign_in(page):
    page.goto("/billing/notices/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/billing/notices/"))
    page.get_by_label("Username").fill("billing1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Replacement reads")).to_be_visible()


def test_billing_clerk_rebills_a_replacement_read_notice_and_reads_the_history(browser_page, billing_user,
                                                                               corrected_february):
    old, notice = corrected_february
    page = browser_page()
    sign_in(page)

    row = page.get_by_test_id(f"notice-{notice.pk}")
    expect(row).to_contain_text(str(old))
    expect(row).to_contain_text("$94.40 due")
    row.get_by_role("link", name="Rebill").click()
    expect(page.get_by_test_id("confirm-counts")).to_contain_text("1 issued bill with $94.40 due will be cancelled")
    page.get_by_role("button", name="Cancel and rebill 1 bill").click()

    # The rebill's page: issued, 99.20, and its history names the clerk and the bill it replaces.
    expect(page.get_by_role("heading", name=re.compile(r"Rebill bill"))).to_be_visible()
    expect(page.get_by_test_id("bill-status")).to_have_text("Issued")
    expect(page.get_by_test_id("bill-total")).to_have_text("$99.20")
    history = page.get_by_test_id("bill-history")
    expect(history.locator("tr[data-action=issued]")).to_contain_text("billing1")
    expect(history.locator("tr[data-action=approved]")).to_contain_text("billing1")
    history.get_by_role("link", name=str(old)).click()

    # The old bill: cancelled by the clerk, with the reason naming the notice and the rebill link.
    expect(page.get_by_test_id("bill-status")).to_have_text("Cancelled")
    cancelled = page.get_by_test_id("bill-history").locator("tr[data-action=cancelled]")
    expect(cancelled).to_contain_text("billing1")
    expect(cancelled).to_contain_text(f"notice {notice.pk}")
    new = Bill.objects.get(replaces=old)
    expect(cancelled.get_by_role("link", name=str(new))).to_be_visible()
    expect(page.get_by_test_id("bill-ledger")).to_contain_text("-$94.40")
    assert LedgerEntry.objects.filter(bill=new, kind="bill").get().amount == new.total

    page.goto("/billing/notices/")
    expect(page.get_by_test_id(f"notice-{notice.pk}")).to_have_count(0)
    expect(page.get_by_text("No open replacement-read notices.")).to_be_visible()
