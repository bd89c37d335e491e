"""Card payments end to end through the sandbox gateway (a real HTTP server in a subprocess):
a CSR charges a card on the account page, the gateway confirms through its signed webhook to
Utilis (a live server), and the payment is posted once however often, and however concurrently,
the confirmation arrives. A declined card posts nothing; a webhook with a bad signature is 400."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from billing.payments.card_models import CardCharge
from billing.payments.models import Payment
from billing.services import ledger
from cis.tests.factories import AccountFactory
from conftest import PASSWORD
from core.clock import utility_today
from integrations.payment_gateways.signing import HEADER, signature_header

SECRET = "test-webhook-secret-0123456789"
WEBHOOK = "/webhooks/payments/card/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the test's own server
        return json.loads(response.read())


def _wait(predicate, what: str, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sandbox(live_server, settings):
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "integrations.payment_gateways.sandbox_server", "--port", str(port),
         "--webhook-url", live_server.url + WEBHOOK, "--secret", SECRET, "--delay", "0.3", "--retry-base", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return _get(url + "/healthz")["ok"]
            except OSError:
                return False
        _wait(up, "the sandbox gateway to start")
        settings.UTILIS_PAYMENT_GATEWAY = "sandbox"
        settings.UTILIS_GATEWAY_URL = url
        settings.UTILIS_GATEWAY_WEBHOOK_SECRET = SECRET
        yield url
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
        # The gateway logs method and path only: never a card number.
        assert "4242424242424242" not in output and "4000000000009995" not in output


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _events(url: str, charge_id: str) -> list[dict]:
    return [e for e in _get(url + "/v1/events")["events"] if e["charge"] == charge_id]


def _card(number: str, amount: str) -> dict:
    return {"amount": amount, "card_number": number, "exp_month": "12", "exp_year": "2035", "cvc": "123"}


@pytest.mark.django_db(transaction=True)
def test_a_card_payment_is_posted_once_by_the_gateway_webhook_even_when_delivered_twice(client, csr, sandbox):
    account = AccountFactory()
    ledger.ledger_post_adjustment(account_id=account.pk, amount="70.00", effective_date=utility_today(),
                                  reason="opening balance")
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(f"/billing/accounts/{account.account_number}/card-payment/",
                           _card("4242 4242 4242 4242", "70.00"))
    charge = CardCharge.objects.get(account_id=account.pk)
    assert said(response) == [f"Card payment of $70.00 (Visa ending 4242) approved as gateway transaction "
                              f"{charge.transaction_id}; it is posted when the gateway confirms it."]
    assert charge.status in ("pending", "succeeded") and charge.transaction_id.startswith("ch_")
    payment = _wait(lambda: Payment.objects.filter(account_id=account.pk).first(), "the webhook to post")
    assert (payment.channel, payment.tender_type, payment.amount, payment.external_reference) == (
        "card", "card", Decimal("70.00"), charge.transaction_id)
    charge.refresh_from_db()
    assert (charge.status, charge.payment_id, charge.last4, charge.brand) == ("succeeded", payment.pk, "4242", "Visa")
    assert ledger.account_balance(account_id=account.pk) == Decimal("0.00")
    _wait(lambda: any(e["acknowledged"] for e in _events(sandbox, charge.transaction_id)), "the acknowledgement")

    # The gateway delivers the confirmation again (as gateways do when unsure): acknowledged, not posted again.
    request = urllib.request.Request(f"{sandbox}/v1/charges/{charge.transaction_id}/resend", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the test's own server
        pass
    _wait(lambda: sum(len(e["attempts"]) for e in _events(sandbox, charge.transaction_id)) >= 2, "the second delivery")
    assert [a["status"] for e in _events(sandbox, charge.transaction_id) for a in e["attempts"]] == [200, 200]
    assert Payment.objects.filter(account_id=account.pk).count() == 1
    # Utilis never stored the card number: only the token and last 4.
    stored = json.dumps(list(CardCharge.objects.values()), default=str)
    assert "4242424242424242" not in stored and charge.token.startswith("tok_")


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_confirmation_post_one_payment(client, csr, sandbox, live_server):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    client.post(f"/billing/accounts/{account.account_number}/card-payment/", _card("5555555555554444", "12.34"))
    charge = CardCharge.objects.get(account_id=account.pk)
    _wait(lambda: Payment.objects.filter(account_id=account.pk).exists(), "the webhook to post")
    # The same confirmation, delivered by five connections at once.
    body = json.dumps({"id": "evt_replay", "type": "charge.succeeded", "created": int(time.time()),
                       "data": {"id": charge.transaction_id, "status": "succeeded", "amount": 1234, "currency": "CAD",
                                "reference": charge.reference}}).encode()
    answers: list[int] = []

    def deliver():
        request = urllib.request.Request(live_server.url + WEBHOOK, data=body, method="POST", headers={
            "Content-Type": "application/json", HEADER: signature_header(SECRET, int(time.time()), body)})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the test's live server
            answers.append(response.status)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 5
    assert Payment.objects.filter(channel="card", external_reference=charge.transaction_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_declined_test_card_posts_nothing_and_says_why(client, csr, sandbox):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(f"/billing/accounts/{account.account_number}/card-payment/",
                           _card("4000000000009995", "40.00"))
    assert said(response) == ["Card declined (Visa ending 9995): Insufficient funds. Nothing was posted."]
    charge = CardCharge.objects.get(account_id=account.pk)
    assert (charge.status, charge.decline_code, charge.payment_id) == ("declined", "insufficient_funds", None)
    # The gateway's charge.declined webhook arrives too, and changes nothing.
    _wait(lambda: any(e["acknowledged"] for e in _events(sandbox, charge.transaction_id)), "the declined event")
    assert not Payment.objects.exists()
    charge.refresh_from_db()
    assert charge.status == "declined"


@pytest.mark.django_db(transaction=True)
def test_a_card_the_gateway_refuses_is_a_clear_message(client, csr, sandbox):
    account = AccountFactory()
    client.login(username=csr.username, password=PASSWORD)
    response = client.post(f"/billing/accounts/{account.account_number}/card-payment/",
                           _card("4242424242424241", "40.00"))
    assert said(response) == ["Card not charged: The card number is not a valid card number."]
    assert not CardCharge.objects.exists() and not Payment.objects.exists()


def _signed(body: bytes, timestamp: int, secret: str = SECRET) -> dict:
    return {"HTTP_SANDBOX_SIGNATURE": signature_header(secret, timestamp, body)}


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["wrong secret", "stale", "no header", "tampered"])
def test_a_webhook_that_is_not_the_gateways_is_400_and_changes_nothing(client, settings, case):
    settings.UTILIS_GATEWAY_WEBHOOK_SECRET = SECRET
    body = json.dumps({"id": "evt_x", "type": "charge.succeeded", "data": {
        "id": "ch_x", "status": "succeeded", "amount": 100, "currency": "CAD", "reference": "UC-x"}}).encode()
    now = int(time.time())
    headers = {"wrong secret": _signed(body, now, "another-secret"), "stale": _signed(body, now - 3600),
               "no header": {}, "tampered": _signed(body.replace(b"100", b"999"), now)}[case]
    response = client.post(WEBHOOK, data=body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_signed_webhook_for_a_charge_utilis_never_made_is_404(client, settings):
    settings.UTILIS_GATEWAY_WEBHOOK_SECRET = SECRET
    body = json.dumps({"id": "evt_x", "type": "charge.succeeded", "data": {
        "id": "ch_x", "status": "succeeded", "amount": 100, "currency": "CAD", "reference": "UC-unknown"}}).encode()
    response = client.post(WEBHOOK, data=body, content_type="application/json", **_signed(body, int(time.time())))
    assert response.status_code == 404 and not Payment.objects.exists()
