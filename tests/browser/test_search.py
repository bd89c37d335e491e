"""The hub's one box in a real browser, as a CSR types into it: a meter serial in "Anything",
an address pasted with its comma, and the next page of a long result list (issue 9)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from cis.tests.factories import AccountFactory, CustomerFactory, PremiseFactory, ServiceAgreementFactory, ServicePointFactory
from conftest import PASSWORD
from mdm import services as mdm_services
from mdm.tests.factories import MeterFactory

# available_apps: see test_csr_hub.py (the flush must TRUNCATE ... CASCADE mdm's interval table).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]


@pytest.fixture
def utility():
    """Suite 107 of 159 Sydenham Boulevard served through meter EL10000042, its neighbour in
    suite 108, and 30 customers named Turner."""
    suite_107 = AccountFactory(account_number="7600000107", customer=CustomerFactory(first_name="Ada", last_name="Suite"))
    sp = ServicePointFactory(premise=PremiseFactory(address_line1="159 Sydenham Boulevard", address_line2="Suite 107"))
    ServiceAgreementFactory(account=suite_107, service_point=sp, start_date=dt.date(2024, 1, 1))
    meter = MeterFactory(serial_number="EL10000042")
    mdm_services.meter_install(meter=meter, service_point_id=sp.pk, installed_at=timezone.make_aware(dt.datetime(2024, 1, 1)))
    suite_108 = AccountFactory(account_number="7600000108")
    sp = ServicePointFactory(premise=PremiseFactory(address_line1="159 Sydenham Boulevard", address_line2="Suite 108"))
    ServiceAgreementFactory(account=suite_108, service_point=sp, start_date=dt.date(2024, 1, 1))
    for n in range(30):
        AccountFactory(account_number=f"77000000{n:02d}", customer=CustomerFactory(first_name="Tom", last_name=f"Turner{n:02d}"))


def test_csr_finds_a_meter_a_pasted_address_and_the_next_page(browser_page, csr, utility):
    page = browser_page()
    page.goto("/accounts/login/?next=/hub/")
    page.get_by_label("Username").fill("csr1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find an account")).to_be_visible()
    expect(page.get_by_label("Search in")).to_have_value("auto")  # "Anything"

    box = page.get_by_label("Search", exact=True)
    results = page.locator("#search-results")

    # A meter serial typed in "Anything", in lower case: the live search finds its account.
    box.fill("el10000042")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results.get_by_role("link", name="7600000107")).to_be_visible()
    expect(results).to_contain_text("Meter number")

    # An address pasted with its comma and the unit word.
    box.fill("159 Sydenham Boulevard, Suite 107")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("159 Sydenham Boulevard, Suite 107, Toronto")
    expect(results).not_to_contain_text("7600000108")
    box.fill("159 Sydenham Blvd")  # the building: both suites
    expect(results.locator("tbody tr")).to_have_count(2)

    # 30 Turners: 25 on the first page, the next page has the other 5 and a way back.
    box.fill("turner")
    expect(results.locator("tbody tr")).to_have_count(25)
    expect(results).to_contain_text("more on the next page")
    first_page = set(results.locator("tbody tr td:first-child a").all_inner_texts())
    results.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"/hub/\?.*page=2"))
    results = page.locator("#search-results")
    expect(results.locator("tbody tr")).to_have_count(5)
    expect(results).to_contain_text("Accounts 26–30")
    second_page = set(results.locator("tbody tr td:first-child a").all_inner_texts())
    assert len(first_page | second_page) == 30 and not first_page & second_page
    expect(results.get_by_role("link", name="Previous page")).to_be_visible()
    expect(results.get_by_role("link", name="Next page")).to_have_count(0)

    # The live search still works from page 2 and starts again at page 1.
    page.get_by_label("Search", exact=True).fill("turner0")
    expect(page.locator("#search-results tbody tr")).to_have_count(10)
    expect(page).not_to_have_url(re.compile(r"page=2"))
