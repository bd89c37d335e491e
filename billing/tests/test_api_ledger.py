"""An account's money over REST (issue 9): ledger entries (paged, newest first), the balance and
the aging on a day, and how far each agreement is billed."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.api import accounts
from billing.models import Bill
from billing.services import ledger_post_adjustment, ledger_post_payment, ledger_reverse
from billing.tests.test_pdf import make_bill
from cis.tests.factories import AccountFactory, ServiceAgreementFactory, ServicePointFactory
from mdm.services import billed_through_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return AccountFactory(account_number="1000000042")


@pytest.fixture
def entries(account, billing_user):
    charge = ledger_post_adjustment(account_id=account.pk, amount=Decimal("100.00"), effective_date=dt.date(2026, 1, 1),
                                    reason="Opening balance", user=billing_user)
    later = ledger_post_adjustment(account_id=account.pk, amount=Decimal("40.00"), effective_date=dt.date(2026, 2, 20),
                                   reason="Reconnection fee", user=billing_user)
    paid = ledger_post_payment(account_id=account.pk, amount=Decimal("30.00"), received_date=dt.date(2026, 3, 1),
                               reference="CHQ 881", user=billing_user)
    return charge, later, paid


def test_the_ledger_is_paged_newest_first_with_who_posted(api_for, csr, account, entries, billing_user):
    charge, later, paid = entries
    body = api_for(csr).get("/api/billing/accounts/1000000042/ledger/").json()
    assert body["count"] == 3
    assert [e["id"] for e in body["results"]] == [paid.pk, later.pk, charge.pk]
    first = body["results"][0]
    assert first["kind"] == "payment" and first["amount"] == "-30.00" and first["payment_reference"] == "CHQ 881"
    assert first["created_by"] == billing_user.username and first["reverses"] is None


def test_the_ledger_filters_by_kind_and_dates_and_shows_reversals(api_for, billing_user, account, entries):
    charge, later, paid = entries
    reversal = ledger_reverse(entry=later, reason="Fee waived", effective_date=dt.date(2026, 3, 2), user=billing_user)
    client = api_for(billing_user)
    body = client.get("/api/billing/accounts/1000000042/ledger/?kind=reversal").json()
    assert [(e["id"], e["reverses"]) for e in body["results"]] == [(reversal.pk, later.pk)]
    dated = client.get("/api/billing/accounts/1000000042/ledger/?effective_after=2026-02-01&effective_before=2026-03-01")
    assert [e["id"] for e in dated.json()["results"]] == [paid.pk, later.pk]
    assert client.get("/api/billing/accounts/1000000042/ledger/?kind=gift").status_code == 400


def test_balance_and_aging_on_a_day(api_for, csr, account, entries):
    client = api_for(csr)
    assert client.get("/api/billing/accounts/1000000042/balance/?as_of=2026-02-01").json() == {
        "account": "1000000042", "as_of": "2026-02-01", "balance": "100.00"}
    assert client.get("/api/billing/accounts/1000000042/balance/?as_of=2026-03-31").json()["balance"] == "110.00"
    # The payment pays the oldest charge first: 70 of January's 100 is 89 days old on March 31.
    assert client.get("/api/billing/accounts/1000000042/aging/?as_of=2026-03-31").json() == {
        "account": "1000000042", "as_of": "2026-03-31", "current": "0.00", "days_30": "40.00", "days_60": "70.00",
        "days_90_plus": "0.00", "total": "110.00"}


def test_balance_defaults_to_the_utilitys_today(api_for, csr, account, entries, monkeypatch):
    monkeypatch.setattr(accounts, "utility_today", lambda: dt.date(2026, 1, 15))
    assert api_for(csr).get("/api/billing/accounts/1000000042/balance/").json() == {
        "account": "1000000042", "as_of": "2026-01-15", "balance": "100.00"}


def test_an_unknown_account_is_404_and_a_bad_date_400(api_for, csr):
    client = api_for(csr)
    for what in ("ledger", "balance", "aging", "billed-through"):
        response = client.get(f"/api/billing/accounts/NOPE/{what}/")
        assert response.status_code == 404 and response.json() == {"detail": "There is no account NOPE."}
    AccountFactory(account_number="7")
    assert client.get("/api/billing/accounts/7/aging/?as_of=31-03-2026").status_code == 400


def test_metering_staff_may_not_read_an_accounts_money(api_for, metering_user, account):
    assert api_for(metering_user).get("/api/billing/accounts/1000000042/balance/").status_code == 403


def test_billed_through_per_agreement(api_for, api_client_user, account):
    billed = ServiceAgreementFactory(account=account, agreement_number="SA1", start_date=dt.date(2025, 6, 1),
                                     service_point=ServicePointFactory(sp_number="SP1"))
    make_bill(account, dt.date(2026, 1, 1), dt.date(2026, 2, 1), 600)
    make_bill(account, dt.date(2026, 2, 1), dt.date(2026, 3, 1), 600)
    make_bill(account, dt.date(2026, 3, 1), dt.date(2026, 4, 1), 600, status=Bill.Status.DRAFT)
    converted = ServiceAgreementFactory(account=account, agreement_number="SA2", start_date=dt.date(2020, 1, 1),
                                        service_point=ServicePointFactory(sp_number="SP2"))
    billed_through_set(service_point_id=converted.service_point_id, billed_through_date=dt.date(2025, 12, 31))
    ServiceAgreementFactory(account=account, agreement_number="SA3", start_date=dt.date(2026, 3, 10),
                            service_point=ServicePointFactory(sp_number="SP3"))
    body = api_for(api_client_user).get("/api/billing/accounts/1000000042/billed-through/").json()
    rows = {r["agreement"]: r for r in body["agreements"]}
    assert body["account"] == "1000000042" and billed.pk
    assert rows["SA1"] == {"agreement": "SA1", "service_point": "SP1", "rate_code": "RES-TOU", "start_date": "2025-06-01",
                           "end_date": None, "billed_through": "2026-02-28", "source": "bills",
                           "drafted_through": "2026-03-31", "next_period_start": "2026-04-01"}
    assert (rows["SA2"]["billed_through"], rows["SA2"]["source"], rows["SA2"]["next_period_start"]) == (
        "2025-12-31", "conversion", "2026-01-01")
    assert (rows["SA3"]["billed_through"], rows["SA3"]["source"], rows["SA3"]["next_period_start"]) == (
        None, "", "2026-03-10")
    one = api_for(api_client_user).get("/api/billing/accounts/1000000042/billed-through/?agreement=sa2").json()
    assert [r["agreement"] for r in one["agreements"]] == ["SA2"]
    missing = api_for(api_client_user).get("/api/billing/accounts/1000000042/billed-through/?agreement=SA9")
    assert missing.status_code == 400 and missing.json() == {"agreement": ["Account 1000000042 has no agreement SA9."]}


@pytest.fixture
def api_client_user(make_user):
    return make_user("partner", "api_client")
