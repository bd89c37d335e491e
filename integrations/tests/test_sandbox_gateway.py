"""The sandbox gateway on its own (in this process, no database): tokens without keeping the
number in its answers, test-card outcomes, idempotent charges, and webhooks signed and retried
until acknowledged, a late failure included."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from integrations.payment_gateways.sandbox_server import Gateway, luhn_ok, serve
from integrations.payment_gateways.signing import HEADER, signature_verify

SECRET = "sandbox-test-secret"


class Receiver:
    """A webhook endpoint that refuses its first `refuse` deliveries with 500."""

    def __init__(self, refuse: int) -> None:
        self.refuse, self.received = refuse, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers[HEADER], body))
                self.send_response(500 if len(receiver.received) <= receiver.refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def started():
    servers = []

    def start(refuse: int = 0):
        receiver = Receiver(refuse)
        gateway = Gateway(webhook_url=receiver.url, secret=SECRET, delay=0.05, max_attempts=4, retry_base=0.05)
        server = serve(host="127.0.0.1", port=0, gateway=gateway)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.extend([server, receiver.server])
        return f"http://127.0.0.1:{server.server_port}", gateway, receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def call(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the test's server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def charge(base: str, number: str, key: str = "UC-1") -> tuple[int, dict]:
    status, token = call(base + "/v1/tokens", {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"})
    assert status == 200 and number not in json.dumps(token) and token["last4"] == number[-4:]
    return call(base + "/v1/charges", {"token": token["token"], "amount": 5000, "currency": "cad", "reference": key},
                {"Idempotency-Key": key})


def test_an_unacknowledged_webhook_is_retried_and_each_attempt_is_signed(started):
    base, gateway, receiver = started(refuse=2)
    status, answer = charge(base, "4242424242424242")
    assert (status, answer["status"], answer["currency"]) == (201, "pending", "CAD")
    wait(lambda: len(receiver.received) == 3)
    for header, body in receiver.received:
        assert signature_verify(SECRET, header, body, now=time.time(), tolerance=60) == ""
        assert signature_verify("another", header, body, now=time.time(), tolerance=60) != ""
    event = json.loads(receiver.received[-1][1])
    assert (event["type"], event["data"]["id"], event["data"]["status"]) == ("charge.succeeded", answer["id"], "succeeded")
    assert [a["status"] for a in gateway.events[0].attempts] == [500, 500, 200] and gateway.events[0].acknowledged
    # The same idempotency key is the same charge, not a second one.
    assert charge(base, "4242424242424242")[1]["id"] == answer["id"]
    assert len(gateway.charges) == 1


@pytest.mark.parametrize("number, code", [("4000000000000002", "card_declined"),
                                          ("4000000000009995", "insufficient_funds")])
def test_test_cards_decline_with_their_code(started, number, code):
    base, _, receiver = started()
    status, answer = charge(base, number)
    assert (status, answer["status"], answer["decline_code"]) == (402, "declined", code)
    wait(lambda: len(receiver.received) == 1)
    assert json.loads(receiver.received[0][1])["type"] == "charge.declined"


def test_a_late_failure_is_approved_first_and_failed_by_its_webhook(started):
    base, _, receiver = started()
    status, answer = charge(base, "4000000000000341")
    assert (status, answer["status"]) == (201, "pending")
    wait(lambda: len(receiver.received) == 1)
    event = json.loads(receiver.received[0][1])
    assert (event["type"], event["data"]["decline_code"]) == ("charge.failed", "processing_error")


def test_bad_card_data_is_refused_with_the_field(started):
    base, _, _ = started()
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    status, answer = call(base + "/v1/tokens", {"number": "4242424242424241", "exp_month": 12, "exp_year": 2035,
                                                "cvc": "123"})
    assert (status, answer["error"]["param"]) == (400, "card_number")
    status, answer = call(base + "/v1/tokens", {"number": "4242424242424242", "exp_month": 1, "exp_year": 2001,
                                                "cvc": "123"})
    assert (status, answer["error"]["code"]) == (400, "invalid_expiry")
