"""The Deposit Hub as each role (billing staff act, CSRs look, others are refused), its actions
through the services with precise messages for bad input, the review's progress, and the
Deposit panel on the account 360 page."""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from billing.deposits.models import Deposit, DepositRecommendation, DepositRefund
from billing.services import deposit_bill_next, deposit_require, deposit_review_inline, payment_post
from billing.tests.deposit_helpers import CLERK, D, residential_class, served_account
from conftest import PASSWORD
from core.clock import utility_today

pytestmark = pytest.mark.django_db
HUB = "/billing/deposits/"


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def deposit():
    residential_class(instalments=2)
    account = served_account(opened=utility_today() - dt.timedelta(days=20))
    return deposit_require(account=account, as_of=utility_today(), actor=CLERK, reason="New customer", amount="120.00")


def test_billing_staff_see_every_list_and_the_actions(client, billing_user, deposit):
    client.login(username=billing_user.username, password=PASSWORD)
    page = client.get(HUB)
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="count-required">1' in text and f'data-testid="required-{deposit.pk}"' in text
    assert "Bill next instalment now" in text and "Require a deposit" in text and 'aria-current="page">Deposits' in text


def test_a_csr_sees_the_hub_without_the_actions_and_others_are_refused(client, csr, metering_user, field_user, deposit):
    client.login(username=csr.username, password=PASSWORD)
    page = client.get(HUB)
    assert page.status_code == 200 and f'data-testid="required-{deposit.pk}"' in page.content.decode()
    assert "Bill next instalment now" not in page.content.decode()
    refused = client.post(f"/billing/deposits/{deposit.pk}/apply/", {"reason": "x"})
    assert refused.status_code == 403
    for user in (metering_user, field_user):
        client.login(username=user.username, password=PASSWORD)
        assert client.get(HUB).status_code == 403
    client.logout()
    assert client.get(HUB).status_code == 302  # to the login page


def test_requiring_a_deposit_gives_precise_errors_and_then_succeeds(client, billing_user):
    residential_class()
    account = served_account(opened=utility_today() - dt.timedelta(days=20))
    client.login(username=billing_user.username, password=PASSWORD)
    unknown = client.post("/billing/deposits/require/", {"account_number": "nope", "reason": "x"}, follow=True)
    assert said(unknown) == ["No deposit required: account_number: No account has the number nope."]
    no_reason = client.post("/billing/deposits/require/", {"account_number": account.account_number}, follow=True)
    assert said(no_reason) == ["No deposit required: reason: This field is required."]
    waiver_alone = client.post("/billing/deposits/require/", {"account_number": account.account_number, "reason": "x",
                                                               "waiver": "low_income"}, follow=True)
    assert said(waiver_alone) == ["No deposit required: waiver_reference: Name the letter, programme or file that "
                                  "supports the waiver."]
    done = client.post("/billing/deposits/require/", {"account_number": account.account_number, "reason": "Sign-up",
                                                       "amount": "90.00"}, follow=True)
    deposit = Deposit.objects.get(account=account)
    assert said(done) == [f"Deposit {deposit.pk} of 90.00 required on account {account.account_number}."]
    assert deposit.created_by == billing_user
    event = deposit.events.order_by("pgh_id").first()
    assert event.pgh_context.metadata["user"] == billing_user.pk and event.pgh_context.metadata["reason"] == "Sign-up"
    again = client.post("/billing/deposits/require/", {"account_number": account.account_number, "reason": "x"}, follow=True)
    assert "already has an active RES deposit" in said(again)[0]


def test_bill_now_refund_by_cheque_and_the_cheque_paid(client, billing_user, deposit):
    client.login(username=billing_user.username, password=PASSWORD)
    missing = client.post(f"/billing/deposits/{deposit.pk}/refund/", {}, follow=True)
    assert said(missing) == [f"Deposit {deposit.pk} not changed: reason: This field is required."]
    unknown = client.post(f"/billing/deposits/{deposit.pk}/explode/", {"reason": "x"}, follow=True)
    assert said(unknown) == ["Unknown deposit action 'explode'."]
    billed = client.post(f"/billing/deposits/{deposit.pk}/bill/", {"reason": "Paid at the counter"}, follow=True)
    assert said(billed) == [f"Deposit {deposit.pk} instalment 1 (60.00) billed."]
    deposit_bill_next(deposit=deposit, on=utility_today(), actor=CLERK)
    payment_post(account_id=deposit.account_id, amount="120.00", received_date=utility_today(), channel="cashier",
                 tender_type="cash", actor=CLERK)
    refunded = client.post(f"/billing/deposits/{deposit.pk}/refund/", {"reason": "Closing early", "method": "cheque"}, follow=True)
    assert said(refunded) == [f"Deposit {deposit.pk} refunded 120.00 (cheque)."]
    refund = DepositRefund.objects.get(deposit=deposit)
    page = client.get(HUB).content.decode()
    assert f'data-testid="cheque-{refund.pk}"' in page
    bad = client.post(f"/billing/deposits/refunds/{refund.pk}/paid/", {"cheque_number": "77", "paid_on": "someday"}, follow=True)
    assert said(bad) == [f"Refund {refund.pk} not paid: paid_on: Enter a valid date."]
    paid = client.post(f"/billing/deposits/refunds/{refund.pk}/paid/", {"cheque_number": "77",
                                                                          "paid_on": utility_today().isoformat()}, follow=True)
    assert said(paid) == [f"Refund {refund.pk} paid by cheque 77."]
    again = client.post(f"/billing/deposits/{deposit.pk}/apply/", {"reason": "x"}, follow=True)
    assert said(again) == [f"Deposit {deposit.pk} not changed: Deposit {deposit.pk} is refunded and cannot be applied."]


def test_recommendations_are_accepted_or_dismissed_and_the_review_shows_progress(client, billing_user, csr):
    residential_class()
    first = served_account(opened=utility_today() - dt.timedelta(days=20))
    second = served_account(opened=utility_today() - dt.timedelta(days=20))
    client.login(username=billing_user.username, password=PASSWORD)
    started = client.post("/billing/deposits/review/", follow=True)
    assert said(started)[0].startswith(f"Deposit review of {utility_today()}:")
    run = deposit_review_inline(run_date=utility_today(), now=timezone.now())
    progress = client.get(f"/billing/deposits/reviews/{run.pk}/progress/")
    assert progress.status_code == 200
    assert (progress.json()["status"], progress.json()["recommended"]) == ("done", 2)
    a = DepositRecommendation.objects.get(account=first)
    b = DepositRecommendation.objects.get(account=second)
    assert f'data-testid="recommendation-{a.pk}"' in client.get(HUB).content.decode()
    no_note = client.post(f"/billing/deposits/recommendations/{b.pk}/dismiss/", {}, follow=True)
    assert said(no_note) == [f"Recommendation {b.pk} not decided: note: This field is required."]
    dismissed = client.post(f"/billing/deposits/recommendations/{b.pk}/dismiss/", {"note": "Reference letter pending"},
                            follow=True)
    assert said(dismissed) == [f"Recommendation {b.pk} dismissed."]
    accepted = client.post(f"/billing/deposits/recommendations/{a.pk}/accept/", follow=True)
    assert said(accepted) == [f"Recommendation {a.pk} accepted."]
    assert Deposit.objects.get(account=first).status == "active"
    twice = client.post(f"/billing/deposits/recommendations/{a.pk}/accept/", follow=True)
    assert said(twice) == [f"Recommendation {a.pk} not decided: Recommendation {a.pk} was already accepted."]
    client.login(username=csr.username, password=PASSWORD)
    assert client.get(f"/billing/deposits/reviews/{run.pk}/progress/").status_code == 200


def test_the_account_page_has_a_deposit_panel(client, csr, deposit):
    client.login(username=csr.username, password=PASSWORD)
    page = client.get(f"/hub/accounts/{deposit.account.account_number}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert f'data-testid="deposit-{deposit.pk}"' in text and "Deposit instalments" in text
    assert 'data-testid="deposit-held">$0.00' in text
    assert D("120.00") == deposit.amount


def test_a_deposit_with_a_year_of_good_history_is_listed_due_for_refund(client, billing_user):
    residential_class(instalments=1)
    account = served_account(opened=utility_today() - dt.timedelta(days=420))
    deposit = deposit_require(account=account, as_of=utility_today() - dt.timedelta(days=400), actor=CLERK,
                              reason="New customer", amount="80.00")
    deposit_bill_next(deposit=deposit, on=utility_today() - dt.timedelta(days=400), actor=CLERK)
    payment_post(account_id=account.pk, amount="80.00", received_date=utility_today() - dt.timedelta(days=399),
                 channel="cashier", tender_type="cash", actor=CLERK)
    deposit_review_inline(run_date=utility_today(), now=timezone.now())
    client.login(username=billing_user.username, password=PASSWORD)
    text = client.get(HUB).content.decode()
    assert f'data-testid="due-{deposit.pk}"' in text and f'data-testid="held-{deposit.pk}"' in text
    assert 'data-testid="count-due">1' in text
    assert DepositRecommendation.objects.get(account=account).action == "refund"


@pytest.mark.parametrize("model", ["depositclass", "depositinterestrate", "deposit", "depositinstalment", "depositentry",
                                   "depositinterest", "depositrefund", "depositrecommendation"])
def test_the_admin_pages_of_deposits_render(admin_client, deposit, model):
    assert admin_client.get(f"/admin/billing/{model}/").status_code == 200
