"""The payments REST API: create with an Idempotency-Key, duplicates, list with filters and
paging, return and reverse, and who may do what."""
from __future__ import annotations

import datetime as dt

import pytest

from billing.models import LedgerEntry
from billing.payments.models import Fee, Payment, PaymentIdempotencyKey
from billing.payments.tests.helpers import D, bill_entry, issued_bill, open_amounts
from billing.services import ledger
from cis.tests.factories import AccountFactory
from core.roles import Role

pytestmark = pytest.mark.django_db
URL = "/api/billing/payments/"


@pytest.fixture
def api_client_user(make_user):
    return make_user("bank1", Role.API_CLIENT)


def body(account, **extra) -> dict:
    return {"account": account.account_number, "amount": "125.40", "received_date": "2026-03-02",
            "tender_type": "eft", **extra}


def create(client, data: dict, key: str | None = "key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, data, format="json", **headers)


def test_an_api_client_posts_a_payment_and_it_is_allocated(api_for, api_client_user):
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=dt.date(2026, 1, 1)))
    response = create(api_for(api_client_user), body(account, external_reference="TX-1"))
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["receipt_number"].startswith("R") and answer["channel"] == "api" and answer["status"] == "posted"
    assert (answer["amount"], answer["unapplied"]) == ("125.40", "25.40")
    assert answer["allocations"] == [{"charge": jan.description, "charge_entry_id": jan.pk, "amount": "100.00",
                                      "allocated_date": "2026-03-02", "released": False, "reason": ""}]
    assert answer["actor"] == api_client_user.username and answer["returned"] is None
    assert ledger.account_balance(account_id=account.pk) == D("-25.40")


def test_the_same_key_and_body_returns_the_first_answer_and_posts_once(api_for, api_client_user):
    account = AccountFactory()
    client = api_for(api_client_user)
    first = create(client, body(account))
    again = create(client, {**body(account)})  # the same body (key order does not matter)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Payment.objects.filter(account_id=account.pk).count() == 1
    assert ledger.account_balance(account_id=account.pk) == D("-125.40")


def test_the_same_key_with_another_body_is_refused_with_422(api_for, api_client_user):
    account = AccountFactory()
    client = api_for(api_client_user)
    assert create(client, body(account)).status_code == 201
    response = create(client, body(account, amount="125.41"))
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["detail"]
    assert Payment.objects.count() == 1


def test_keys_are_per_client(api_for, api_client_user, csr):
    account = AccountFactory()
    assert create(api_for(api_client_user), body(account)).status_code == 201
    assert create(api_for(csr), body(account)).status_code == 201
    assert Payment.objects.count() == 2


def test_a_request_without_a_key_or_with_a_bad_one_is_a_400(api_for, api_client_user):
    account = AccountFactory()
    client = api_for(api_client_user)
    assert create(client, body(account), key=None).status_code == 400
    assert create(client, body(account), key="has space").status_code == 400
    assert create(client, body(account), key="x" * 101).status_code == 400
    assert not Payment.objects.exists()


def test_a_failed_request_stores_nothing_and_the_key_can_be_retried(api_for, api_client_user):
    account = AccountFactory()
    client = api_for(api_client_user)
    bad = create(client, body(account, amount="1.234"))
    assert bad.status_code == 400 and "amount" in bad.json()
    unknown = create(client, {**body(account), "account": "NOPE"})
    assert unknown.status_code == 400 and "account" in unknown.json()
    assert not PaymentIdempotencyKey.objects.exists()
    assert create(client, body(account)).status_code == 201


def test_a_second_external_reference_on_a_channel_is_a_409_naming_the_first(api_for, api_client_user):
    account = AccountFactory()
    client = api_for(api_client_user)
    first = create(client, body(account, channel="card", tender_type="card", external_reference="GW-9"), key="a")
    second = create(client, body(account, channel="card", tender_type="card", external_reference="GW-9"), key="b")
    assert second.status_code == 409
    assert second.json()["receipt_number"] == first.json()["receipt_number"]
    assert Payment.objects.count() == 1


def test_list_is_paged_and_filtered(api_for, csr, api_client_user):
    account, other = AccountFactory(), AccountFactory()
    client = api_for(api_client_user)
    for n in range(3):
        create(client, body(account, received_date=f"2026-03-0{n + 1}", tender_type="cheque" if n else "cash"),
               key=f"k{n}")
    create(client, body(other), key="k-other")
    reader = api_for(csr)
    listed = reader.get(URL, {"account": account.account_number}).json()
    assert listed["count"] == 3
    assert [p["received_date"] for p in listed["results"]] == ["2026-03-03", "2026-03-02", "2026-03-01"]
    cheques = reader.get(URL, {"account": account.account_number, "tender_type": "cheque",
                               "received_from": "2026-03-03"}).json()
    assert cheques["count"] == 1 and cheques["results"][0]["received_date"] == "2026-03-03"
    assert reader.get(URL, {"received_from": "not-a-date"}).status_code == 400
    assert reader.get(URL, {"page": 9}).status_code == 404
    assert reader.get(URL, {"status": "returned"}).json()["count"] == 0


def test_return_over_the_api_charges_the_fee_and_reopens_the_bill(api_for, api_client_user, billing_user, csr):
    account = AccountFactory()
    jan = bill_entry(issued_bill(account_id=account.pk, total="100.00", bill_date=dt.date(2026, 1, 1)))
    receipt = create(api_for(api_client_user), body(account, amount="100.00")).json()["receipt_number"]
    url = f"{URL}{receipt}/return/"
    data = {"kind": "nsf", "return_date": "2026-03-09", "reason": "NSF from the bank"}
    assert api_for(csr).post(url, data, format="json").status_code == 403
    assert api_for(api_client_user).post(url, data, format="json").status_code == 403
    response = api_for(billing_user).post(url, data, format="json")
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["status"] == "returned" and answer["returned"]["fee"] == "25.00"
    assert answer["returned"]["kind"] == "nsf" and answer["unapplied"] == "0.00"
    assert [a["amount"] for a in answer["allocations"]] == ["100.00", "-100.00"]
    fee = Fee.objects.get()
    assert open_amounts(account.pk) == {jan.pk: D("100.00"), fee.ledger_entry_id: D("25.00")}
    again = api_for(billing_user).post(url, data, format="json")
    assert again.status_code == 409
    assert api_for(csr).get(URL, {"status": "returned"}).json()["count"] == 1


def test_reverse_over_the_api_and_bad_input(api_for, api_client_user, billing_user):
    account = AccountFactory()
    receipt = create(api_for(api_client_user), body(account)).json()["receipt_number"]
    client = api_for(billing_user)
    assert client.post(f"{URL}{receipt}/reverse/", {"effective_date": "2026-03-01", "reason": "x"},
                       format="json").status_code == 400  # before the payment was received
    assert client.post(f"{URL}{receipt}/reverse/", {"effective_date": "2026-03-05"}, format="json").status_code == 400
    assert client.post(f"{URL}R-NONE/reverse/", {"effective_date": "2026-03-05", "reason": "x"},
                       format="json").status_code == 404
    response = client.post(f"{URL}{receipt}/reverse/", {"effective_date": "2026-03-05", "reason": "wrong account"},
                           format="json")
    assert response.status_code == 200 and response.json()["status"] == "reversed"
    assert response.json()["returned"]["fee"] is None
    assert ledger.account_balance(account_id=account.pk) == D("0.00")
    assert LedgerEntry.objects.filter(kind="reversal").count() == 1
    assert client.get(f"{URL}{receipt}/").json()["status"] == "reversed"


def test_who_may_read_and_post(api_for, make_user, field_user, metering_user):
    account = AccountFactory()
    for user, read, write in ((field_user, 403, 403), (metering_user, 403, 403), (None, 401, 401),
                              (make_user("cust", Role.CUSTOMER), 403, 403)):
        client = api_for(user)
        assert client.get(URL).status_code == read
        assert create(client, body(account)).status_code == write
    assert not Payment.objects.exists()
