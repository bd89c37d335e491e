"""Issue 11's "Pay" options in a real browser at phone width: a signed-in account holder sets up
autopay from a bank account (a wrong routing number first), reads the equal payment plan's
calculator and joins the plan, and sees both on the account's home, with no
Content-Security-Policy violation on the way."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from billing.budget.models import BudgetPlan, BudgetPlanType
from billing.payments.autopay_models import AutopayEnrolment
from core.roles import Role
from portal.models import AccountLink
from portal.tests.conftest import NOW, make_customer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

PASSWORD = "browser-portal-plans-27"


def test_enrol_autopay_and_the_equal_payment_plan_and_see_both_on_home(browser_page):
    customer = make_customer("a", postal_code="M4C 1B5", last_name="Tremblay")
    BudgetPlanType.objects.create(code="EPP", name="Equal payment plan", min_history_months=1, require_no_arrears=False)
    user = get_user_model().objects.create_user(username="sam@example.test", email="sam@example.test", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER)[0])
    AccountLink.objects.create(user=user, account=customer.account, linked_at=NOW, proof="postal_code")
    number = customer.account.account_number
    page = browser_page(width=360, height=780)
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)

    page.goto("/portal/login/")
    page.get_by_label("Email").fill("sam@example.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Account {number}")).to_be_visible()
    expect(page.get_by_text("Autopay: off")).to_be_visible()

    page.get_by_role("link", name="Pay", exact=True).click()
    page.get_by_role("link", name="Autopay from your bank account").click()
    page.get_by_label("Name on the bank account").fill("Sam Tremblay")
    page.get_by_label("Routing number").fill("011000016")
    page.get_by_label("Bank account number").fill("000123456789")
    page.get_by_label("Chequing").check()
    page.get_by_label("I authorise").check()
    page.get_by_role("button", name="Set up autopay").click()
    expect(page.get_by_text("011000016 is not a valid routing number")).to_be_visible()
    assert not AutopayEnrolment.objects.exists()
    # The bank numbers are not shown back: typed again.
    expect(page.get_by_label("Bank account number")).to_have_value("")
    page.get_by_label("Routing number").fill("011000015")
    page.get_by_label("Bank account number").fill("000123456789")
    page.get_by_label("I authorise").check()
    page.get_by_role("button", name="Set up autopay").click()
    expect(page.get_by_role("heading", name="Autopay is on")).to_be_visible()
    expect(page.get_by_text("•••• 6789").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("link", name="Back to paying").click()
    page.get_by_role("link", name="Equal payment plan: the same amount every month").click()
    expect(page.locator("p.money.big")).to_have_text("$48.44")
    page.get_by_role("button", name="Join the plan").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    assert not BudgetPlan.objects.exists()
    page.get_by_label("I understand that my bills").check()
    page.get_by_role("button", name="Join the plan").click()
    expect(page.get_by_role("heading", name="You are on the plan")).to_be_visible()

    page.get_by_role("link", name="Home", exact=True).click()
    expect(page.get_by_text("Autopay: on, from bank account •••• 6789")).to_be_visible()
    expect(page.get_by_text("Equal payment plan: $48.44 a month")).to_be_visible()
    assert AutopayEnrolment.objects.get(account=customer.account).status == "active"
    assert BudgetPlan.objects.get(account=customer.account).monthly_amount == Decimal("48.44")
    assert violations == []
