"""The adapter for Utilis' sandbox gateway (sandbox_server.py): JSON over HTTP, webhooks
signed as signing.py says."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from billing.services import (
    CardRejected,
    CardToken,
    GatewayCharge,
    GatewayDispute,
    GatewayEvent,
    GatewayRefund,
    GatewayUnavailable,
    WebhookRejected,
)
from integrations.payment_gateways.base import PaymentGatewayAdapter
from integrations.payment_gateways.signing import HEADER, signature_verify

TIMEOUT_SECONDS = 10


def _charge(data: Any) -> GatewayCharge:
    if not isinstance(data, dict):
        raise ValueError("a charge is an object")
    return GatewayCharge(transaction_id=str(data["id"]), status=str(data["status"]), amount_cents=int(data["amount"]),
                         currency=str(data["currency"]), reference=str(data["reference"]),
                         decline_code=str(data.get("decline_code") or ""), message=str(data.get("message") or ""))


class SandboxGateway(PaymentGatewayAdapter):
    name = "sandbox"

    def _call(self, method: str, path: str, body: dict | None = None, *,
              headers: dict[str, str] | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - configured URL
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise GatewayUnavailable(f"{self.url} did not answer: {getattr(exc, 'reason', exc)}") from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise GatewayUnavailable(f"{self.url}{path} answered {status} with no JSON.") from exc
        if status >= 500 or not isinstance(answer, dict):
            raise GatewayUnavailable(f"{self.url}{path} answered {status}.")
        return status, answer

    def tokenise(self, *, card_number: str, exp_month: int, exp_year: int, cvc: str) -> CardToken:
        status, answer = self._call("POST", "/v1/tokens", {"number": card_number, "exp_month": exp_month,
                                                            "exp_year": exp_year, "cvc": cvc})
        if status != 200:
            error = answer.get("error") or {}
            raise CardRejected(str(error.get("message") or f"The gateway refused the card ({status})."),
                               field=str(error.get("param") or "card_number"), code=str(error.get("code") or ""))
        try:
            return CardToken(token=str(answer["token"]), brand=str(answer["brand"]), last4=str(answer["last4"]))
        except KeyError as exc:
            raise GatewayUnavailable(f"The gateway's token answer has no {exc}.") from exc

    def charge_create(self, *, token: str, amount_cents: int, currency: str, reference: str) -> GatewayCharge:
        status, answer = self._call("POST", "/v1/charges", {"token": token, "amount": amount_cents,
                                                             "currency": currency, "reference": reference},
                                    headers={"Idempotency-Key": reference})
        if status not in (200, 201, 402):
            error = answer.get("error") or {}
            raise CardRejected(str(error.get("message") or f"The gateway refused the charge ({status})."),
                               field=str(error.get("param") or "card_number"), code=str(error.get("code") or ""))
        try:
            return _charge(answer)
        except (KeyError, ValueError, TypeError) as exc:
            raise GatewayUnavailable(f"The gateway's charge answer is not a charge: {exc}") from exc

    def charge_status(self, transaction_id: str) -> GatewayCharge:
        status, answer = self._call("GET", f"/v1/charges/{urllib.parse.quote(transaction_id, safe='')}")
        if status != 200:
            raise GatewayUnavailable(f"The gateway has no charge {transaction_id!r} ({status}).")
        return _charge(answer)

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        why = signature_verify(self.webhook_secret, headers.get(HEADER, ""), body, now=time.time(),
                               tolerance=settings.UTILIS_GATEWAY_WEBHOOK_TOLERANCE_SECONDS)
        if why:
            raise WebhookRejected(why)
        try:
            event = json.loads(body)
            kind, data = str(event["type"]), event["data"]
            if kind.startswith("refund."):
                # A refund's data is the refund, with the charge it came out of.
                refund = GatewayRefund(refund_id=str(data["id"]), amount_cents=int(data["amount"]),
                                       reason=str(data.get("reason") or ""))
                return GatewayEvent(event_id=str(event["id"]), type=kind, charge=_charge(data["charge"]),
                                    refund=refund if kind == "refund.succeeded" else None)
            if kind.startswith("dispute."):
                dispute = GatewayDispute(dispute_id=str(data["id"]), amount_cents=int(data["amount"]),
                                         reason=str(data.get("reason") or ""))
                return GatewayEvent(event_id=str(event["id"]), type=kind, charge=_charge(data["charge"]),
                                    dispute=dispute if kind == "dispute.created" else None)
            return GatewayEvent(event_id=str(event["id"]), type=kind, charge=_charge(data))
        except (KeyError, ValueError, TypeError) as exc:
            raise WebhookRejected(f"The body is not a sandbox event: {exc}") from exc
