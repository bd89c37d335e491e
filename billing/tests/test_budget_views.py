"""The Payment plans page (plan types, the calculator), the account panel's enrol and leave
posts, and the plan's rows on the printed bill."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages

from billing import pdf
from billing.budget.models import BudgetPlan, BudgetPlanType
from billing.payments.tests.helpers import CLERK, charge, issued_bill
from billing.services import budget_enrol, ledger
from cis.tests.factories import AccountFactory
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def account_with_history():
    account = AccountFactory()
    for month, total in ((10, "90.00"), (11, "110.00"), (12, "130.00")):
        day = dt.date(2025, month, 1)
        issued_bill(account_id=account.pk, total=total, bill_date=day)
        ledger.ledger_post_payment(account_id=account.pk, amount=total, received_date=day)
    return account


def kind(**kw):
    return BudgetPlanType.objects.create(**{"code": "EPP", "name": "Equal payments", "min_history_months": 1, **kw})


def test_the_calculator_shows_the_amount_and_its_workings(client, csr):
    account = account_with_history()
    plan_type = kind(uplift_percent=D("5"))
    client.login(username=csr.username, password=PASSWORD)
    page = client.get("/billing/budget/", {"account_number": account.account_number, "plan_type": plan_type.pk})
    text = page.content.decode()
    assert page.status_code == 200
    # (90 + 110 + 130) / 3 = 110.00 + 5 % = 5.50 -> 115.50
    assert 'data-testid="quote-amount">$115.50' in text and "$110.00" in text and "$5.50" in text
    assert "Enrol at $115.50" in text
    unknown = client.get("/billing/budget/", {"account_number": "nope", "plan_type": plan_type.pk})
    assert unknown.status_code == 200 and "No account has that number." in unknown.content.decode()


def test_billing_staff_edit_plan_types_and_bad_input_is_a_form_error(client, billing_user, csr):
    client.login(username=billing_user.username, password=PASSWORD)
    bad = client.post("/billing/budget/types/", {"code": "X", "name": "X", "basis": "billed", "lookback_months": "12",
                                                 "min_history_months": "3", "uplift_percent": "0",
                                                 "review_months": "4, 14", "variance_percent": "15",
                                                 "settlement": "spread", "min_refund": "0",
                                                 "min_months_at_address": "0", "reason": "new type"})
    assert bad.status_code == 400 and not BudgetPlanType.objects.exists()
    text = bad.content.decode()
    assert "14 is not" in text and "2 to 12 months" in text
    good = client.post("/billing/budget/types/", {"code": "EPP", "name": "Equal", "basis": "billed", "lookback_months": "12",
                                                  "min_history_months": "3", "uplift_percent": "2.5",
                                                  "review_months": "8, 4", "variance_percent": "15", "settlement": "spread",
                                                  "spread_months": "3", "min_refund": "5.00",
                                                  "min_months_at_address": "0", "reason": "new type", "active": "on"})
    assert good.status_code == 302
    assert BudgetPlanType.objects.get().review_months == [4, 8]
    client.login(username=csr.username, password=PASSWORD)
    assert client.post("/billing/budget/types/", {"code": "Y"}).status_code == 403


def test_enrolment_from_the_panel_says_why_it_is_refused_then_enrols_and_leaves(client, csr):
    account = account_with_history()
    plan_type = kind()
    charge(account_id=account.pk, amount="40.00", on=dt.date(2020, 1, 1))
    client.login(username=csr.username, password=PASSWORD)
    refused = client.post("/billing/budget/enrol/", {"account_number": account.account_number, "plan_type": plan_type.pk})
    assert refused.status_code == 302 and "40.00 in arrears" in said(refused)[0]
    ledger.ledger_post_payment(account_id=account.pk, amount="40.00", received_date=dt.date(2026, 1, 2))
    enrolled = client.post("/billing/budget/enrol/", {"account_number": account.account_number, "plan_type": plan_type.pk,
                                                      "reason": "customer asked"})
    assert said(enrolled)[-1:] == [f"{account.account_number} enrolled on Equal payments: $110.00 a month from the next bill."]
    plan = BudgetPlan.objects.get(account_id=account.pk, status="active")
    page = client.get(f"/hub/accounts/{account.account_number}/").content.decode()
    assert 'data-testid="budget-amount">$110.00' in page
    left = client.post(f"/billing/budget/{plan.pk}/leave/", {"reason": "moving to autopay"})
    assert "deferred balance of $0.00" in said(left)[-1]
    plan.refresh_from_db()
    assert plan.status == "settled"


def test_the_printed_bill_shows_the_plan_amount_and_the_running_difference():
    account = account_with_history()
    budget_enrol(account_id=account.pk, plan_type=kind(), as_of=dt.date(2026, 1, 2), actor=CLERK)
    bill = issued_bill(account_id=account.pk, total="150.00", bill_date=dt.date(2026, 2, 1))
    assert (bill.total, bill.amount_due) == (D("150.00"), D("110.00"))
    html = pdf.render_bill_html(bill=bill)
    assert 'data-testid="amount-due">$110.00' in html
    assert "plan amount $110.00" in html and "-$40.00" in html
    assert 'data-testid="budget-running"><td>Running difference, actual − plan to date (deferred)</td><td class="num">$40.00' in html
