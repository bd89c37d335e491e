"""Issue 11's first "done when" in a real browser at phone width: a new customer registers,
links their account (the emailed link, through a real local SMTP server), sees the bill and the
usage, pays by card through the sandbox gateway (a real server whose signed webhook confirms the
payment to this live server) and sees the balance change, with no Content-Security-Policy
violation on the way."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from playwright.sync_api import expect

from billing.payments.models import Payment
from billing.tests.sandbox_gateway import WEBHOOK, sandbox_running
from portal.tests.conftest import make_customer, smtp_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

PASSWORD = "browser-portal-pay-91"


def test_register_link_see_the_bill_and_usage_pay_by_card_and_see_the_balance_change(browser_page, live_server,
                                                                                       settings):
    customer = make_customer("a", postal_code="M4C 1B5", last_name="Tremblay")
    page = browser_page(width=360, height=780)
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    with smtp_server(settings) as inbox:
        page.goto("/portal/login/")
        page.get_by_role("link", name="Create your online account").click()
        page.get_by_label("Account number").fill(customer.account.account_number)
        page.get_by_label("Last name or business name").fill("Tremblay")
        page.get_by_label("Email").fill("sam@example.test")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("The amount of one of your last two bills").check()
        page.get_by_label("Answer").fill("$51.20")
        page.get_by_role("button", name="Check and email me the link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        page.wait_for_timeout(200)
        link = inbox.last_link()
    page.goto(link)
    page.get_by_role("button", name="Link the account").click()
    expect(page.get_by_role("heading", name=f"Account {customer.account.account_number}")).to_be_visible()
    expect(page.get_by_text("$96.87")).to_be_visible()

    page.get_by_role("link", name="Bills", exact=True).click()
    page.get_by_role("link", name="Mar 1, 2026").first.click()
    expect(page.get_by_text("38.2 kWh × $0.041").first).to_be_visible()
    page.get_by_role("link", name="Usage", exact=True).click()
    page.get_by_label("From").fill("2026-02-01")
    page.get_by_label("To (inclusive)").fill("2026-02-28")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("svg.usage-chart").first).to_be_visible()

    with sandbox_running(settings, webhook_url=live_server.url + WEBHOOK, delay=1.5):
        page.get_by_role("link", name="Pay", exact=True).click()
        expect(page.get_by_role("heading", name="Pay my bill")).to_be_visible()
        expect(page.get_by_label("Amount to pay ($)")).to_have_value("96.87")
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry month (MM)").fill("12")
        page.get_by_label("Expiry year (YYYY)").fill("2035")
        page.get_by_label("Security code (CVC)").fill("123")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.get_by_role("button", name="Pay now").click()
        # Pending until the gateway's webhook confirms it; the page looks again by itself.
        expect(page.get_by_role("heading", name="Payment of $96.87 is being confirmed")).to_be_visible()
        expect(page.get_by_role("heading", name="Payment of $96.87 received")).to_be_visible(timeout=30_000)
        payment = Payment.objects.get(account_id=customer.account.pk)
        expect(page.get_by_text(payment.receipt_number)).to_be_visible()

    page.get_by_role("link", name="Home", exact=True).click()
    expect(page.locator(".facts dd.money").first).to_have_text("$0.00")
    assert payment.amount == Decimal("96.87") and Payment.objects.filter(account_id=customer.account.pk).count() == 1
    assert violations == []
