"""The Collections Hub and the account panel: cases by step, filters, working an account
(promise, arrangement, protection, contact, note) with precise errors, the run command."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.template.defaultfilters import date as date_filter
from django.urls import reverse

from billing.collections.models import CollectionRun, DunningStep, AccountProtection, CollectionCase, CollectionNote, PaymentArrangement, PromiseToPay
from billing.services import account_protection_add
from billing.tests.test_collections_run import CLERK, DUE, delinquent
from core.clock import utility_today

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing_client(client, billing_user):
    client.force_login(billing_user)
    return client


def test_the_command_runs_a_date_and_shows_progress_then_the_hub_lists_the_case(billing_client):
    account = delinquent()
    out = StringIO()
    call_command("collections_run", "--date", (DUE + dt.timedelta(days=5)).isoformat(), "--in-process", stdout=out)
    assert "1/1 accounts (100%), 1 steps, 0 held" in out.getvalue()
    page = billing_client.get(reverse("billing:collections"), {"step": "reminder"})
    assert page.status_code == 200 and account.account_number in page.content.decode()
    assert billing_client.get(reverse("billing:collections"), {"step": "final_notice"}).content.decode().count(
        account.account_number) == 0
    assert billing_client.get(reverse("billing:collections"), {"min_amount": "abc"}).status_code == 200
    detail = billing_client.get(reverse("billing:collections_account", args=[account.account_number]))
    assert detail.status_code == 200 and "Next run:" in detail.content.decode()
    # The run's progress as the hub polls it (JSON), and a precise 404 for a run that is not there
    run = CollectionRun.objects.get()
    progress = billing_client.get(reverse("billing:collections_run_progress", args=[run.pk]))
    assert progress.status_code == 200 and progress.json()["status"] == run.status
    assert billing_client.get(reverse("billing:collections_run_progress", args=[run.pk + 1000])).status_code == 404


def test_working_an_account_from_the_hub(billing_client):
    account = delinquent()
    CollectionCase.objects.create(account=account, customer_class="residential", opened_on=DUE, oldest_due_date=DUE)
    act = lambda what, **data: billing_client.post(  # noqa: E731
        reverse("billing:collections_account_act", args=[account.account_number, what]), data)
    today = dt.date.today()
    assert act("promise", promised_date=(today + dt.timedelta(days=5)).isoformat(), amount="50.00").status_code == 302
    assert PromiseToPay.objects.filter(account=account, status="open").count() == 1
    act("promise", promised_date=(today + dt.timedelta(days=6)).isoformat(), amount="60.00")
    assert PromiseToPay.objects.filter(account=account).count() == 1  # one open promise at a time
    act("arrangement", arrears="100.00", instalments="3", first_due=today.isoformat())
    arrangement = PaymentArrangement.objects.get(account=account)
    assert [i.amount for i in arrangement.instalments.all()] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    act("protection", kind="staff_hold", start_date=today.isoformat(), end_date="", reason="manager review")
    assert AccountProtection.objects.get(account=account).end_date == today + dt.timedelta(days=29)
    act("note", text="Called, left a message")
    assert CollectionNote.objects.filter(account=account).count() == 1
    response = act("arrangement", arrears="-5", instalments="3", first_due=today.isoformat())
    assert response.status_code == 302 and PaymentArrangement.objects.count() == 1
    assert act("nonsense").status_code == 302
    page = billing_client.get(reverse("billing:collections_account", args=[account.account_number]), follow=True)
    assert "ON-STAFF-HOLD" in page.content.decode() or "ON-ARRANGEMENT" in page.content.decode()


def test_the_account_page_panel_says_which_rule_holds_and_until_when(client, csr):
    account = delinquent()
    today = utility_today()  # the page counts in the utility's days, not UTC's (fails 00:00-05:00 UTC otherwise)
    account_protection_add(account_id=account.pk, kind="emergency_assistance", start_date=today,
                           reason="LEAP application", actor=CLERK)
    client.force_login(csr)
    page = client.get(reverse("cis:account", args=[account.account_number]))
    assert page.status_code == 200
    text = page.content.decode()
    until = today + dt.timedelta(days=21)
    assert f"ON-EMERGENCY-ASSISTANCE: Emergency assistance application: LEAP application (until {date_filter(until)})" in text
    assert "Work this account in the Collections Hub" not in text  # CSRs do not open the hub


def test_billing_staff_change_a_step_in_the_hub_with_a_reason(billing_client):
    delinquent()
    step = DunningStep.objects.get(plan__code="RES-STD", kind="late_charge")
    url = reverse("billing:dunning_step_edit", args=[step.pk])
    billing_client.post(url, {"delay_days": "20", "min_overdue": "15.00", "notice_days": "0",
                              "late_charge_percent": "2.00", "reason": "board decision"})
    step.refresh_from_db()
    assert (step.delay_days, step.min_overdue, step.plan.late_charge_percent) == (20, Decimal("15.00"), Decimal("2.00"))
    billing_client.post(url, {"delay_days": "500", "min_overdue": "15.00", "notice_days": "0", "reason": "typo"})
    step.refresh_from_db()
    assert step.delay_days == 20  # later than the final notice: refused
    response = billing_client.post(url, {"delay_days": "x", "min_overdue": "", "notice_days": "0", "reason": ""})
    assert response.status_code == 302
