"""Autopay on the account page (enrol with field errors, cancel), its REST endpoints (enrol,
read masked, cancel, who may), the Billing Hub's held debits, the bill's autopay sentence, and
the management commands."""
from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from billing import pdf
from billing.payments import autopay, autopay_tasks, nacha
from billing.payments.autopay_models import AutopayDebit, AutopayEnrolment
from billing.payments.models import PaymentReturn
from billing.payments.tests.helpers import CLERK, issued_bill
from cis.tests.factories import AccountFactory
from conftest import PASSWORD
from core import privacy
from core.roles import Role

pytestmark = pytest.mark.django_db
URL = "/api/billing/payments/autopay/"
ENROL = {"routing_number": "011000015", "account_number": "000123456789", "account_type": "checking",
         "holder_name": "Ada Lovelace", "start_date": "2026-01-01"}


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_csr_enrols_on_the_account_page_and_sees_it_masked(client, csr):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(f"/billing/accounts/{account.account_number}/autopay/", {**ENROL, "max_amount": "300.00"})
    assert said(response) == [f"Autopay set up for {account.account_number}: bills due from 2026-01-01 are debited "
                              "from account •••• 6789."]
    enrolment = AutopayEnrolment.objects.get(account=account)
    assert enrolment.created_by == csr and str(enrolment.max_amount) == "300.00"
    page = client.get(f"/hub/accounts/{account.account_number}/").content.decode()
    assert 'data-testid="autopay-account">•••• 6789' in page
    assert "000123456789" not in page and "011000015" not in page
    response = client.post(f"/billing/accounts/{account.account_number}/autopay/cancel/", {"reason": "Moving banks"})
    assert said(response) == [f"Autopay cancelled for {account.account_number}."]
    enrolment.refresh_from_db()
    assert enrolment.status == "cancelled" and enrolment.cancelled_by == csr


def test_a_bad_routing_number_comes_back_as_a_field_error_without_the_bank_numbers(client, csr):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    client.post(f"/billing/accounts/{account.account_number}/autopay/", {**ENROL, "routing_number": "011000016"})
    assert not AutopayEnrolment.objects.exists()
    page = client.get(f"/hub/accounts/{account.account_number}/").content.decode()
    assert "its check digit should be 5, not 6 (ABA check sum)" in page
    assert 'value="Ada Lovelace"' in page and "000123456789" not in page
    # Shown once: the next view is a fresh form.
    again = client.get(f"/hub/accounts/{account.account_number}/").content.decode()
    assert "ABA check sum)" not in again


def test_the_api_enrols_reads_masked_and_cancels(api_for, csr, make_user):
    account = AccountFactory()
    api = api_for(csr)
    response = api.post(URL, {**ENROL, "account": account.account_number}, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["bank_account"] == "•••• 6789" and "000123456789" not in str(answer) and answer["status"] == "active"
    assert api.post(URL, {**ENROL, "account": account.account_number}, format="json").status_code == 409
    bad = api.post(URL, {**ENROL, "account": account.account_number, "routing_number": "12"}, format="json")
    assert bad.status_code == 400 and bad.json()["routing_number"] == ["A routing number is 9 digits."]
    assert api.post(URL, {**ENROL, "account": "nope"}, format="json").json() == {"account": ["No account 'nope'."]}
    read = api.get(f"{URL}{account.account_number}/")
    assert read.status_code == 200 and read.json()["bank_account"] == "•••• 6789"
    assert api.post(f"{URL}{account.account_number}/cancel/", {}, format="json").status_code == 400
    cancelled = api.post(f"{URL}{account.account_number}/cancel/", {"reason": "asked"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.get(f"{URL}{account.account_number}/").status_code == 404
    metering = api_for(make_user("meter1", Role.METERING))
    assert metering.get(f"{URL}{account.account_number}/").status_code == 403
    assert metering.post(URL, {**ENROL, "account": account.account_number}, format="json").status_code == 403


def _enrolled_bill(max_amount=None, total="120.00"):
    account = AccountFactory()
    autopay.autopay_enrol(account_id=account.pk, routing_number="011000015", account_number="000123456789",
                          account_type="checking", holder_name="Ada", start_date=dt.date(2026, 1, 1),
                          max_amount=max_amount, actor=CLERK)
    return account, issued_bill(account_id=account.pk, total=total, bill_date=dt.date(2026, 2, 1))


def test_a_held_debit_is_listed_on_the_billing_hub_payments_page(client, billing_user):
    account, bill = _enrolled_bill(max_amount="100.00")
    autopay.autopay_debit_file(due_date=bill.due_date, actor=CLERK)
    held = AutopayDebit.objects.get()
    client.login(username=billing_user.username, password=PASSWORD)
    page = client.get("/billing/payments/").content.decode()
    assert f'data-testid="autopay-held-{held.pk}"' in page and "above the enrolment&#x27;s maximum of 100.00" in page


def test_the_bill_says_it_is_paid_by_pre_authorised_debit():
    account, bill = _enrolled_bill()
    html = pdf.render_bill_html(bill=bill)
    assert "Paid by pre-authorised debit on February 22, 2026 from account •••• 6789." in html


def test_the_commands_write_the_debit_file_and_read_the_returns(tmp_path):
    account, bill = _enrolled_bill()
    out = tmp_path / "debit.ach"
    stdout = StringIO()
    call_command("autopay_debit_file", "--due-date", bill.due_date.isoformat(), "--out", str(out), stdout=stdout)
    assert "1 debit(s), total 120.00; 0 held" in stdout.getvalue()
    first = out.read_text()
    call_command("autopay_debit_file", "--due-date", bill.due_date.isoformat(), "--out", str(out), stdout=StringIO())
    assert out.read_text() == first
    debit = AutopayDebit.objects.get()
    entry = nacha.DebitEntry(routing_number="011000015", account_number="000123456789", account_type="checking",
                             amount=debit.amount, individual_id="x", individual_name="x", trace_number=debit.trace_number)
    returns = tmp_path / "returns.ach"
    returns.write_text(nacha.write_returns_file(originator=autopay.originator(), returns=[(entry, "R03")],
                                                created_at=dt.datetime(2026, 2, 26, 8, 0)))
    stdout = StringIO()
    call_command("autopay_returns_file", "--in", str(returns), stdout=stdout, stderr=StringIO())
    assert stdout.getvalue().strip() == "1 returned, 0 already returned, 1 enrolment(s) cancelled, 0 bad line(s)."
    assert PaymentReturn.objects.get().payment_id == debit.payment_id
    assert AutopayEnrolment.objects.get().status == "cancelled"


def test_the_daily_task_writes_the_file_for_bills_due_lead_days_ahead(tmp_path, settings, monkeypatch):
    account, bill = _enrolled_bill()
    settings.UTILIS_AUTOPAY_OUTBOX = tmp_path
    settings.UTILIS_AUTOPAY_LEAD_DAYS = 3
    monkeypatch.setattr(autopay_tasks, "utility_today", lambda: bill.due_date - dt.timedelta(days=3))
    result = autopay_tasks.autopay_debit_file_daily()
    assert result == {"due_date": bill.due_date.isoformat(), "written": True, "entries": 1, "held": 0,
                      "file": str(tmp_path / f"autopay-{bill.due_date:%Y%m%d}.ach")}
    assert (tmp_path / f"autopay-{bill.due_date:%Y%m%d}.ach").read_text().startswith("101 021000021")
    assert settings.CELERY_BEAT_SCHEDULE["billing-autopay-debit-file"]["task"] == autopay_tasks.autopay_debit_file_daily.name


def test_the_encrypted_columns_are_bank_details_for_the_privacy_policy(make_user):
    assert privacy.personal_fields("billing.AutopayEnrolment") == {
        "routing_number_encrypted": privacy.PersonalData.BANK_DETAILS,
        "account_number_encrypted": privacy.PersonalData.BANK_DETAILS}
    assert privacy.masked_fields(make_user("meter2", Role.METERING), "billing.AutopayEnrolment") == {
        "routing_number_encrypted", "account_number_encrypted"}


def test_with_debug_off_the_development_key_is_refused(settings):
    settings.UTILIS_FIELD_ENCRYPTION_KEY_REQUIRED = True
    with pytest.raises(ImproperlyConfigured, match="published development key"):
        autopay.encrypt("123456789")
    settings.UTILIS_FIELD_ENCRYPTION_KEY = "q4kGzJ0m8b3r2Zs6H6Zr1pQb8sV0cX1aT5nY7uW9eD0="
    assert autopay.decrypt(autopay.encrypt("123456789")) == "123456789"
