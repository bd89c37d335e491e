"""Utilis' sandbox card gateway: a small real HTTP server for tests and the demo, behaving as
card gateways do (docs/payments.md "The sandbox gateway").

    python -m integrations.payment_gateways.sandbox_server --port 8765 \\
        --webhook-url http://127.0.0.1:8000/webhooks/payments/card/ --secret "$UTILIS_GATEWAY_WEBHOOK_SECRET"

- POST /v1/tokens {number, exp_month, exp_year, cvc} -> 200 {token, brand, last4}; 400 for a
  number that fails the Luhn check, an expired date or a bad CVC. The number stays in this
  process's memory (as it would at a gateway) and is never logged.
- POST /v1/charges {token, amount (cents), currency, reference} with an Idempotency-Key header
  -> 201 {id, status: "pending", ...} for an approved card (confirmed by the webhook), 402
  {status: "declined", decline_code, message} for a declining test card. The same key answers
  the same charge again.
- GET /v1/charges/{id}; POST /v1/charges/{id}/resend (deliver its last event again);
  GET /v1/events (each event with its delivery attempts); GET /healthz.
- POST /v1/charges/{id}/refunds {amount (cents, default: what is left), reason} -> 200 a refund
  (as a gateway's dashboard or refund API does); POST /v1/charges/{id}/disputes {reason} ->
  201 a dispute (what the card holder's bank opens: a chargeback).
- Each charge's outcome is sent `--delay` seconds later to --webhook-url as a JSON event
  (charge.succeeded, charge.declined, charge.failed; refund.succeeded, dispute.created whose
  data is the refund or dispute with its charge), signed (signing.py), and retried with
  exponential back-off (--retry-base seconds, doubling) until a 2xx answer or --max-attempts.

Test cards (any future expiry, any 3-digit CVC; 4 digits for American Express): TEST_CARDS;
any other number passing the Luhn check is approved."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from integrations.payment_gateways.signing import HEADER, signature_header

log = logging.getLogger("sandbox_gateway")

APPROVED = "approved"
LATE_FAILURE = "late_failure"
LOST_WEBHOOK = "lost_webhook"  # succeeds, but its webhook is never sent (Utilis must ask)
DISPUTED = "disputed"  # succeeds, then the card holder's bank opens a chargeback
# number -> (outcome, decline code, message)
TEST_CARDS: dict[str, tuple[str, str, str]] = {
    "4242424242424242": (APPROVED, "", ""),
    "5555555555554444": (APPROVED, "", ""),
    "378282246310005": (APPROVED, "", ""),
    "4000000000000002": ("declined", "card_declined", "The card was declined"),
    "4000000000009995": ("declined", "insufficient_funds", "Insufficient funds"),
    "4000000000000069": ("declined", "expired_card", "The card has expired"),
    "4000000000000127": ("declined", "incorrect_cvc", "The CVC is incorrect"),
    "4000000000000341": (LATE_FAILURE, "processing_error", "The issuer did not confirm the charge"),
    "4000000000000077": (LOST_WEBHOOK, "", ""),
    "4000000000000259": (DISPUTED, "", "fraudulent"),
}


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"34", "37"}:
        return "American Express"
    if 51 <= int(number[:2]) <= 55 or 2221 <= int(number[:4]) <= 2720:
        return "Mastercard"
    return "Card"


@dataclass
class Event:
    id: str
    type: str
    charge_id: str
    body: bytes
    attempts: list[dict] = field(default_factory=list)
    acknowledged: bool = False


class Gateway:
    """The sandbox's state: tokens, charges, events (in memory: a restart forgets them)."""

    def __init__(self, *, webhook_url: str, secret: str, delay: float, max_attempts: int, retry_base: float) -> None:
        self.webhook_url, self.secret = webhook_url, secret
        self.delay, self.max_attempts, self.retry_base = delay, max_attempts, retry_base
        self.lock = threading.Lock()
        self.tokens: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.events: list[Event] = []

    # --- API ----------------------------------------------------------------------------
    def tokenise(self, body: dict) -> tuple[int, dict]:
        number = "".join(ch for ch in str(body.get("number", "")) if ch not in " -")
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
            return 400, _error("invalid_number", "The card number is not a valid card number.", "card_number")
        try:
            month, year = int(body.get("exp_month")), int(body.get("exp_year"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return 400, _error("invalid_expiry", "The expiry month and year are required.", "exp_month")
        today = dt.date.today()
        if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
            return 400, _error("invalid_expiry", "The card's expiry date is in the past or not a date.", "exp_year")
        cvc = str(body.get("cvc", ""))
        brand = brand_of(number)
        if not cvc.isdigit() or len(cvc) != (4 if brand == "American Express" else 3):
            return 400, _error("invalid_cvc", "The CVC is not valid for this card.", "cvc")
        token = f"tok_{secrets.token_hex(12)}"
        with self.lock:
            self.tokens[token] = {"number": number, "brand": brand, "last4": number[-4:]}
        return 200, {"token": token, "brand": brand, "last4": number[-4:], "exp_month": month, "exp_year": year}

    def charge(self, body: dict, key: str) -> tuple[int, dict]:
        with self.lock:
            if key and key in self.by_key:
                existing = self.charges[self.by_key[key]]
                return (402 if existing["status"] == "declined" else 201), existing
            card = self.tokens.get(str(body.get("token", "")))
            if card is None:
                return 400, _error("invalid_token", "No such token.", "token")
            amount = body.get("amount")
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                return 400, _error("invalid_amount", "The amount is a positive whole number of cents.", "amount")
            outcome, code, message = TEST_CARDS.get(card["number"], (APPROVED, "", ""))
            charge = {"id": f"ch_{secrets.token_hex(12)}", "amount": amount,
                      "currency": str(body.get("currency") or "CAD").upper(), "reference": str(body.get("reference", "")),
                      "brand": card["brand"], "last4": card["last4"], "created": int(time.time()),
                      "status": "declined" if outcome == "declined" else "pending",
                      "decline_code": code if outcome == "declined" else "",
                      "message": message if outcome == "declined" else "",
                      "amount_refunded": 0, "disputed": False}
            self.charges[charge["id"]] = charge
            if key:
                self.by_key[key] = charge["id"]
        threading.Thread(target=self._settle, args=(charge["id"], outcome, code, message), daemon=True).start()
        return (402 if outcome == "declined" else 201), dict(charge)

    def _settle(self, charge_id: str, outcome: str, code: str, message: str) -> None:
        time.sleep(self.delay)
        with self.lock:
            charge = self.charges[charge_id]
            if outcome in (APPROVED, LOST_WEBHOOK, DISPUTED):
                charge["status"] = "succeeded"
            elif outcome == LATE_FAILURE:
                charge.update(status="failed", decline_code=code, message=message)
            kind = {"succeeded": "charge.succeeded", "declined": "charge.declined", "failed": "charge.failed"}[charge["status"]]
            event = self._event(kind, charge)
        if outcome != LOST_WEBHOOK:
            self.deliver(event)
        if outcome == DISPUTED:
            time.sleep(self.delay)
            status, _ = self.dispute(charge_id, {"reason": message})
            log.info("charge %s disputed by its test card: %s", charge_id, status)

    def refund(self, charge_id: str, body: dict) -> tuple[int, dict]:
        """Give back all or part of a succeeded charge (not one under dispute)."""
        with self.lock:
            charge = self.charges.get(charge_id)
            if charge is None:
                return 404, _error("no_charge", "No such charge.", "id")
            if charge["status"] != "succeeded":
                return 400, _error("charge_not_succeeded", "Only a succeeded charge can be refunded.", "id")
            if charge["disputed"]:
                return 400, _error("charge_disputed", "The charge is disputed: it cannot be refunded.", "id")
            left = charge["amount"] - charge["amount_refunded"]
            amount = body.get("amount", left)
            if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= left:
                return 400, _error("invalid_amount", f"The refund is 1 to {left} cents (what is left of the charge).",
                                   "amount")
            charge["amount_refunded"] += amount
            refund = {"object": "refund", "id": f"re_{secrets.token_hex(12)}", "amount": amount,
                      "currency": charge["currency"], "reason": str(body.get("reason") or "requested_by_customer"),
                      "status": "succeeded", "created": int(time.time()), "charge": dict(charge)}
            event = self._event("refund.succeeded", charge, data=refund)
        threading.Thread(target=self._deliver_later, args=(event,), daemon=True).start()
        return 200, refund

    def dispute(self, charge_id: str, body: dict) -> tuple[int, dict]:
        """The card holder's bank disputes a succeeded charge (a chargeback) for its whole amount."""
        with self.lock:
            charge = self.charges.get(charge_id)
            if charge is None:
                return 404, _error("no_charge", "No such charge.", "id")
            if charge["status"] != "succeeded" or charge["disputed"] or charge["amount_refunded"]:
                return 400, _error("not_disputable", "Only a succeeded charge, not refunded and not disputed yet, "
                                                     "can be disputed.", "id")
            charge["disputed"] = True
            dispute = {"object": "dispute", "id": f"dp_{secrets.token_hex(12)}", "amount": charge["amount"],
                       "currency": charge["currency"], "reason": str(body.get("reason") or "fraudulent"),
                       "status": "needs_response", "created": int(time.time()), "charge": dict(charge)}
            event = self._event("dispute.created", charge, data=dispute)
        threading.Thread(target=self._deliver_later, args=(event,), daemon=True).start()
        return 201, dispute

    def _deliver_later(self, event: "Event") -> None:
        time.sleep(self.delay)
        self.deliver(event)

    def _event(self, kind: str, charge: dict, data: dict | None = None) -> Event:
        event_id = f"evt_{secrets.token_hex(12)}"
        body = json.dumps({"id": event_id, "type": kind, "created": int(time.time()),
                           "data": dict(charge) if data is None else data}, sort_keys=True).encode()
        event = Event(event_id, kind, charge["id"], body)
        self.events.append(event)
        return event

    def deliver(self, event: Event) -> None:
        """Send an event until the webhook answers 2xx (each attempt signed afresh), or give up."""
        if not self.webhook_url:
            return
        wait = self.retry_base
        for attempt in range(1, self.max_attempts + 1):
            timestamp = int(time.time())
            request = urllib.request.Request(self.webhook_url, data=event.body, method="POST", headers={
                "Content-Type": "application/json", HEADER: signature_header(self.secret, timestamp, event.body)})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured URL
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError) as exc:
                status = 0
                log.info("event %s attempt %d: %s", event.id, attempt, getattr(exc, "reason", exc))
            with self.lock:
                event.attempts.append({"attempt": attempt, "status": status, "at": timestamp})
                if 200 <= status < 300:
                    event.acknowledged = True
            log.info("event %s (%s) attempt %d: %s", event.id, event.type, attempt, status)
            if 200 <= status < 300:
                return
            time.sleep(wait)
            wait *= 2

    def resend(self, charge_id: str) -> tuple[int, dict]:
        with self.lock:
            events = [e for e in self.events if e.charge_id == charge_id]
        if not events:
            return 404, _error("no_event", "The charge has no event yet.", "id")
        threading.Thread(target=self.deliver, args=(events[-1],), daemon=True).start()
        return 202, {"resent": events[-1].id}

    def events_view(self) -> dict:
        with self.lock:
            return {"events": [{"id": e.id, "type": e.type, "charge": e.charge_id, "acknowledged": e.acknowledged,
                                "attempts": list(e.attempts)} for e in self.events]}


def _error(code: str, message: str, param: str) -> dict:
    return {"error": {"code": code, "message": message, "param": param}}


class Handler(BaseHTTPRequestHandler):
    gateway: Gateway
    server_version = "UtilisSandboxGateway/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        # Only the request line's method and path (never a body: card numbers travel in bodies).
        log.info("%s %s", self.command, self.path)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts == ["healthz"]:
            self._send(200, {"ok": True})
        elif parts == ["v1", "events"]:
            self._send(200, self.gateway.events_view())
        elif len(parts) == 3 and parts[:2] == ["v1", "charges"]:
            with self.gateway.lock:
                charge = self.gateway.charges.get(parts[2])
                answer = dict(charge) if charge else None
            self._send(200, answer) if answer else self._send(404, _error("no_charge", "No such charge.", "id"))
        else:
            self._send(404, _error("not_found", "No such endpoint.", "path"))

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        parts = self.path.split("?")[0].strip("/").split("/")
        body = self._body()
        if body is None:
            self._send(400, _error("invalid_json", "The body is not a JSON object.", "body"))
        elif parts == ["v1", "tokens"]:
            self._send(*self.gateway.tokenise(body))
        elif parts == ["v1", "charges"]:
            self._send(*self.gateway.charge(body, self.headers.get("Idempotency-Key", "")))
        elif len(parts) == 4 and parts[:2] == ["v1", "charges"] and parts[3] == "resend":
            self._send(*self.gateway.resend(parts[2]))
        elif len(parts) == 4 and parts[:2] == ["v1", "charges"] and parts[3] == "refunds":
            self._send(*self.gateway.refund(parts[2], body))
        elif len(parts) == 4 and parts[:2] == ["v1", "charges"] and parts[3] == "disputes":
            self._send(*self.gateway.dispute(parts[2], body))
        else:
            self._send(404, _error("not_found", "No such endpoint.", "path"))


def serve(*, host: str, port: int, gateway: Gateway) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"gateway": gateway})
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Utilis' sandbox card gateway (docs/payments.md).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--webhook-url", default=os.environ.get("SANDBOX_WEBHOOK_URL",
                                                                "http://127.0.0.1:8000/webhooks/payments/card/"))
    parser.add_argument("--secret", default=os.environ.get("UTILIS_GATEWAY_WEBHOOK_SECRET",
                                                           "dev-only-gateway-webhook-secret"))
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before a charge's event is sent")
    parser.add_argument("--max-attempts", type=int, default=6)
    parser.add_argument("--retry-base", type=float, default=1.0, help="seconds before the first retry (doubling)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox-gateway %(message)s")
    gateway = Gateway(webhook_url=args.webhook_url, secret=args.secret, delay=args.delay,
                      max_attempts=args.max_attempts, retry_base=args.retry_base)
    server = serve(host=args.host, port=args.port, gateway=gateway)
    print(f"sandbox gateway on http://{args.host}:{server.server_port}/ -> {args.webhook_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
