"""Start Utilis' sandbox card gateway (a real HTTP server, in a subprocess) for a test, pointed
at a live server's webhook, and read what it did. Used by the card tests and the portal's
browser test."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

SECRET = "test-webhook-secret-0123456789"
WEBHOOK = "/webhooks/payments/card/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the test's own server
        return json.loads(response.read())


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - the test's own server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for(predicate, what: str, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def events(url: str, charge_id: str) -> list[dict]:
    return [e for e in get_json(url + "/v1/events")["events"] if e["charge"] == charge_id]


@contextmanager
def sandbox_running(settings, *, webhook_url: str, delay: float = 0.3) -> Iterator[str]:
    """The sandbox on a free port, Utilis' settings pointed at it; yields its URL. An empty
    `webhook_url` sends no webhooks (as when they are lost). On the way out it checks the
    gateway's log holds no card number (it logs method and path only)."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "integrations.payment_gateways.sandbox_server", "--port", str(port),
         "--webhook-url", webhook_url, "--secret", SECRET, "--delay", str(delay), "--retry-base", "0.2",
         "--max-attempts", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def up():
            try:
                return get_json(url + "/healthz")["ok"]
            except OSError:
                return False
        wait_for(up, "the sandbox gateway to start")
        settings.UTILIS_PAYMENT_GATEWAY = "sandbox"
        settings.UTILIS_GATEWAY_URL = url
        settings.UTILIS_GATEWAY_WEBHOOK_SECRET = SECRET
        yield url
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
        for number in ("4242424242424242", "4000000000000259", "4000000000000077", "5555555555554444"):
            assert number not in output, "the sandbox logged a card number"
