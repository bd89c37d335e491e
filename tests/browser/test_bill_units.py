"""A billing clerk opens a bill with an electric and a gas service point in the Billing Hub: each
segment shows its own units (kWh and kW for electricity, m³ and no demand for gas), every
period reads as inclusive dates (top and segments agree), and the usage charts are one per
commodity."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from billing.tests.test_bill_documents import gas_segment
from billing.tests.test_pdf import LINES, make_bill
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


def test_a_bill_shows_local_units_and_inclusive_periods(browser_page, billing_user):
    account = AccountFactory(account_number="1000000777")
    ServiceAgreementFactory(account=account, service_point=ServicePointFactory())
    bill = make_bill(account, dt.date(2025, 10, 28), dt.date(2025, 11, 20), 745, lines=LINES)
    gas_segment(bill, account)

    page = browser_page()
    page.goto(f"/billing/bills/{bill.pk}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("billing1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_test_id("bill-period")).to_have_text("Oct 28 – Nov 19, 2025 (23 days)")
    electric = page.get_by_role("region", name="Segment 1")
    gas = page.get_by_role("region", name="Segment 2")
    expect(electric.get_by_test_id("segment-period")).to_contain_text("Oct 28 – Nov 19, 2025")
    expect(gas.get_by_test_id("segment-period")).to_contain_text("Oct 28 – Nov 19, 2025")
    expect(electric.get_by_test_id("segment-reads")).to_have_text("Used: 745 kWh · Highest demand: 3.5 kW")
    expect(gas.get_by_test_id("segment-reads")).to_have_text("Used: 479.461 m³")
    expect(gas).to_contain_text("479.461 m³ × $0.13")
    expect(gas).not_to_contain_text("kWh")
    expect(page.get_by_text("Nov 20")).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile(r"^Electricity \(kWh\): usage"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Gas \(m³\): usage"))).to_be_visible()
