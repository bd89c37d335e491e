"""The customer portal in a real browser at phone width (360 px): register with the account
number, answer the identity question, follow the emailed link (mail through a real local SMTP
server), see the bill and the usage chart, and download the Green Button file, with no
Content-Security-Policy violation on the way."""
from __future__ import annotations

import pytest
from django.conf import settings
from lxml import etree
from playwright.sync_api import expect

from integrations.services import espi_schema
from portal.tests.conftest import make_customer, smtp_server
from portal.tests.test_greenbutton import _schema_dir

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

PASSWORD = "browser-portal-pass-77"


def test_register_link_see_bill_and_usage_and_download_green_button(browser_page, live_server, settings):
    customer = make_customer("a", postal_code="M4C 1B5", last_name="Tremblay", previous_occupant=True)
    page = browser_page(width=360, height=780)
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    with smtp_server(settings) as inbox:
        page.goto("/portal/login/")
        page.get_by_role("link", name="Create your online account").click()
        page.get_by_label("Account number").fill(customer.account.account_number)
        page.get_by_label("Last name or business name").fill("Tremblay")
        page.get_by_label("Email").fill("pat@example.test")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()

        page.get_by_label("The postal code of the service address").check()
        page.get_by_label("Answer").fill("H0H 0H0")
        page.get_by_role("button", name="Check and email me the link").click()
        expect(page.get_by_role("alert")).to_contain_text("do not match our records")
        page.get_by_label("The postal code of the service address").check()
        page.get_by_label("Answer").fill("m4c 1b5")
        page.get_by_role("button", name="Check and email me the link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        page.wait_for_timeout(200)
        link = inbox.last_link()
    assert link.startswith(live_server.url)
    page.goto(link)
    page.get_by_role("button", name="Link the account").click()
    expect(page.get_by_role("heading", name=f"Account {customer.account.account_number}")).to_be_visible()
    expect(page.get_by_text("$96.87")).to_be_visible()
    # Nothing overflows a phone screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("link", name="Bills", exact=True).click()
    page.get_by_role("link", name="Feb 15, 2026").first.click()
    expect(page.get_by_text("38.2 kWh × $0.041").first).to_be_visible()

    page.get_by_role("link", name="Usage", exact=True).click()
    page.get_by_label("From").fill("2026-02-01")
    page.get_by_label("To (inclusive)").fill("2026-02-28")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("svg.usage-chart").first).to_be_visible()
    assert page.locator("rect.usage-chart__estimated").count() > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    with page.expect_download() as info:
        page.get_by_role("link", name="Green Button (XML)").click()
    document = etree.parse(info.value.path())
    schema = espi_schema(_schema_dir())
    assert schema.validate(document), schema.error_log
    assert violations == []
