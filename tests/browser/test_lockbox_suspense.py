"""Issue 10, "Done when 1" (the lockbox part), in a real browser on the demo's data: a billing
clerk imports the demo lockbox file (demo/files/, written by seed_demo) in the Billing Hub,
sees what it posted and what went to suspense, works the suspense list (assigns a line to an
account, with a reason) and sees the balances change on the account pages."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect

from billing.payments.models import RemittanceItem
from billing.services.ledger import account_balance
from cis.selectors import account_get
from config.celery import app as celery_app
from demo import cash

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]
TODAY = dt.date(2026, 7, 15)


@pytest.fixture
def demo(settings, tmp_path, monkeypatch):
    # The upload's import is a Celery task; run in-process here (tests/celery_helpers.py and
    # billing/tests/test_payments_lockbox_worker.py cover it on a real worker).
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(celery_app.conf, "task_always_eager", True)
    monkeypatch.setattr(celery_app.conf, "task_eager_propagates", True)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(cash, "FILES_DIR", tmp_path / "files")
    out = StringIO()
    call_command("seed_demo", accounts=300, seed=7, start_date=TODAY, with_meters=False, stdout=out)
    print(out.getvalue())
    return tmp_path / "files" / cash.LOCKBOX_FILE


def balance_shown(page, account_number: str) -> str:
    page.goto(f"/hub/accounts/{account_number}/")
    return page.get_by_test_id("account-balance").inner_text()


def test_a_billing_clerk_imports_the_demo_lockbox_file_and_works_the_suspense_list(browser_page, demo):
    lines = list(csv.DictReader(io.StringIO(demo.read_text())))
    by_number = lines[0]  # a payment by account number
    payer = by_number["account_number"]
    target = account_get(account_number=lines[4]["account_number"]).account_number  # the final-notice account
    page = browser_page()
    page.goto("/billing/payments/")
    page.get_by_label("Username").fill("billing")
    page.get_by_label("Password").fill("utilis-billing")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()

    before_payer = balance_shown(page, payer)
    before_target = balance_shown(page, target)
    assert Decimal(before_payer.strip("$").replace(",", "")) == Decimal(by_number["amount"])  # the bill it pays

    page.goto("/billing/payments/")
    form = page.locator("form", has=page.get_by_role("button", name="Import", exact=True))
    form.get_by_label("Format").select_option("lockbox-csv")
    form.locator("input[type=file]").set_input_files(str(demo))
    form.get_by_role("button", name="Import", exact=True).click()
    # The upload's page follows the import until it is done, then shows what it did.
    expect(page.get_by_test_id("upload-status")).to_have_text("Imported", timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text(f"{cash.LOCKBOX_FILE}: 5 posted, 3 to suspense, 0 already posted")
    expect(page.get_by_test_id("upload-done")).to_have_text("8")
    page.get_by_role("link", name="Payments").first.click()
    expect(page.get_by_role("heading", name="Suspense (3)")).to_be_visible()
    unknown = RemittanceItem.objects.get(item_reference="DEMO-LBX-0006")
    row = page.get_by_test_id(f"suspense-{unknown.pk}")
    expect(row).to_contain_text("0000999999")
    expect(row).to_contain_text("J. Mystery")

    # Work the suspense list: the unknown account's 75.00 belongs to the final-notice customer.
    row.get_by_label("Account number").fill(target)
    row.get_by_label("Reason").fill("Customer phoned: account number mistyped on the cheque")
    row.get_by_role("button", name="Post").click()
    expect(page.get_by_role("status")).to_contain_text(f"Line {unknown.line_number} of {cash.LOCKBOX_FILE} posted to {target}")
    expect(page.get_by_role("heading", name="Suspense (2)")).to_be_visible()

    # The balances changed: the payer's bill is paid, the target's balance is 100.00 + 75.00 lower.
    expect_after = {payer: Decimal("0.00"),
                    target: Decimal(before_target.strip("$").replace(",", "")) - Decimal("175.00")}
    for number, expected in expect_after.items():
        shown = balance_shown(page, number)
        assert Decimal(shown.strip("$").replace(",", "")) == expected, (number, shown)
        assert account_balance(account_id=account_get(account_number=number).pk) == expected
    # The same file again posts nothing.
    page.goto("/billing/payments/")
    form = page.locator("form", has=page.get_by_role("button", name="Import", exact=True))
    form.get_by_label("Format").select_option("lockbox-csv")
    form.locator("input[type=file]").set_input_files(str(demo))
    form.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"already|imported", re.I))
