"""A CSR's day in a real browser: sign in, find an account by part of a name and by address,
open its 360 page, move the customer out and move a new applicant in, both through the
wizard, then check what the pages said and what the database holds."""
from __future__ import annotations

import datetime as dt
import zoneinfo
import re

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import BillCycle, RateSchedule
from cis.models import Customer, Move, ServiceAgreement
from cis.tests.factories import AccountFactory, CustomerFactory, PremiseFactory, ServiceAgreementFactory, ServicePointFactory
from conftest import PASSWORD
from service_orders.models import ServiceOrder

# available_apps (every installed app) makes the flush after the test TRUNCATE ... CASCADE:
# mdm's partitioned interval table is outside Django's table list but references mdm_channel,
# so a plain flush is refused by PostgreSQL.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

DAY = dt.timedelta(days=1)


@pytest.fixture
def neighbourhood(settings):
    """José Álvarez served at 221 Baker Street; 5 Quiet Lane has a vacant water service point.
    The rate codes and the default bill cycle exist in billing (cis refuses unknown codes)."""
    for code in ("RES", "RES-TOU"):
        RateSchedule.objects.get_or_create(code=code, defaults={"name": code})
    BillCycle.objects.get_or_create(code="C01", defaults={"name": "C01"})
    settings.UTILIS_DEFAULT_BILL_CYCLE = "C01"
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.UTILIS_LOCAL_TIME_ZONE))
    jose = CustomerFactory(first_name="José", last_name="Álvarez", phone="416-555-0199")
    account = AccountFactory(account_number="7100000001", customer=jose, opened_date=today - 400 * DAY)
    baker = ServicePointFactory(sp_number="SP-BAKER-E", premise=PremiseFactory(address_line1="221 Baker Street"))
    ServiceAgreementFactory(
        agreement_number="SA-JOSE-1", account=account, service_point=baker, rate_code="RES-TOU", start_date=today - 400 * DAY
    )
    ServicePointFactory(sp_number="SP-QUIET-W", commodity="water", premise=PremiseFactory(address_line1="5 Quiet Lane"))
    # Someone else, so that the searches have something to leave out.
    AccountFactory(account_number="7200000002", customer=CustomerFactory(first_name="Maria", last_name="Jones"))
    return today


def test_csr_finds_an_account_and_moves_customers_out_and_in(browser_page, csr, neighbourhood):
    today = neighbourhood
    page = browser_page()

    # Sign in: the hub sends an anonymous visitor to the login page first.
    page.goto("/hub/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/hub/"))
    page.get_by_label("Username").fill("csr1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find an account")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Pending moves")

    # Live search by part of the name, accents ignored: no button pressed.
    results = page.locator("#search-results")
    page.get_by_label("Search", exact=True).fill("jose alv")
    expect(results.get_by_role("link", name="7100000001")).to_be_visible()
    expect(results).to_contain_text("José Álvarez")
    expect(results).not_to_contain_text("7200000002")
    expect(page).to_have_url(re.compile(r"q=jose\+alv"))  # the URL stays shareable
    page.screenshot(path="/tmp/hub_search.png", full_page=True)

    # By address.
    page.get_by_label("Search", exact=True).fill("221 baker")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("221 Baker Street, Toronto, ON M4C 1B5")
    expect(results).to_contain_text("Service address")

    # The 360 page.
    results.get_by_role("link", name="7100000001").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("7100000001 · José Álvarez")
    agreements = page.locator("#agreements")
    expect(agreements.locator("tr.is-current")).to_contain_text("SA-JOSE-1")
    expect(agreements).to_contain_text("RES-TOU")
    expect(page.locator("#audit")).to_contain_text("agreement_number: SA-JOSE-1")
    page.screenshot(path="/tmp/hub_360.png", full_page=True)

    # Move-out: choose, confirm (nothing written yet), perform.
    page.get_by_role("link", name="Move out").click()
    page.get_by_label(re.compile(r"SA-JOSE-1 — SP-BAKER-E")).check()
    page.get_by_label("Move-out date").fill(today.isoformat())
    page.get_by_role("button", name="Review the move-out").click()
    expect(page.locator(".will-happen")).to_contain_text(
        f"Agreement SA-JOSE-1 of account 7100000001 (José Álvarez) at SP-BAKER-E, 221 Baker Street, Toronto, ON M4C 1B5 "
        f"will be stopped, last day served {today - DAY:%Y-%m-%d}."
    )
    assert not Move.objects.exists()
    page.get_by_role("button", name="Confirm the move-out").click()
    expect(page.locator(".messages")).to_contain_text("Move-out done.")
    expect(page.locator(".outcome")).to_contain_text(f"Agreement SA-JOSE-1 stopped: last day served {today - DAY:%Y-%m-%d}.")
    assert ServiceAgreement.objects.get(agreement_number="SA-JOSE-1").end_date == today
    assert ServiceOrder.objects.get().order_type == "final_read"

    # Move-in of a new applicant at 5 Quiet Lane, found with the live finder.
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_role("link", name="Start a move-in").click()
    page.get_by_label("Find a service point").fill("quiet")
    page.get_by_label(re.compile(r"SP-QUIET-W Water · 5 Quiet Lane")).check()
    expect(page.locator("#sp-candidates")).to_contain_text("vacant today")
    page.get_by_label("Rate code").fill("res")
    account_box = page.get_by_label("Account number")
    expect(account_box).to_be_visible()
    page.get_by_label("A new applicant").check()
    expect(account_box).to_be_hidden()
    expect(page.get_by_label("Organisation name")).to_be_hidden()  # a person is the default kind
    page.get_by_label("First name").fill("Jane")
    page.get_by_label("Last name").fill("Doe")
    page.get_by_label("Phone", exact=True).fill("647-555-0142")
    page.get_by_label("Email").fill("jane.doe@example.test")
    page.get_by_label("Mailing address").fill("9 Elm Road")
    page.get_by_label("City").fill("Toronto")
    page.get_by_label("Province / state").fill("ON")
    page.get_by_label("Postal code").fill("M4E 1A1")
    page.get_by_role("button", name="Review the move-in").click()
    will = page.locator(".will-happen")
    expect(will).to_contain_text(f"A new customer, Jane Doe (person), and a new account opened {today:%Y-%m-%d} will be created")
    expect(will).to_contain_text(
        f"A new agreement for the new account (Jane Doe) starts {today:%Y-%m-%d} at SP-QUIET-W (Water), "
        f"5 Quiet Lane, Toronto, ON M4C 1B5, on rate RES."
    )
    assert not Customer.objects.filter(last_name="Doe").exists()
    page.get_by_role("button", name="Confirm the move-in").click()
    expect(page.locator(".messages")).to_contain_text("Move-in done.")
    jane = Customer.objects.get(last_name="Doe")
    account = jane.accounts.get()
    expect(page.locator(".messages")).to_contain_text(f"New customer {jane.customer_number} and account {account.account_number} created.")
    agreement = ServiceAgreement.objects.get(account=account)
    assert (agreement.service_point.sp_number, agreement.start_date, agreement.rate_code) == ("SP-QUIET-W", today, "RES")

    # The new account's 360 page tells the same story.
    page.get_by_role("link", name=f"Open account {account.account_number}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{account.account_number} · Jane Doe")
    expect(page.locator("#panel-service_orders")).to_contain_text("Initial read (move in)")
