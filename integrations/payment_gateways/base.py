"""The gateway adapter interface: what Utilis asks of a card gateway. An adapter turns the
gateway's own API and webhook format into billing's records (CardToken, GatewayCharge,
GatewayEvent) and its errors into billing's (CardRejected, GatewayUnavailable, WebhookRejected)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from billing.services import CardToken, GatewayCharge, GatewayEvent


class PaymentGatewayAdapter(ABC):
    name: str = ""

    def __init__(self, url: str, webhook_secret: str) -> None:
        self.url = url.rstrip("/")
        self.webhook_secret = webhook_secret

    @abstractmethod
    def tokenise(self, *, card_number: str, exp_month: int, exp_year: int, cvc: str) -> CardToken:
        """Exchange card data for the gateway's token (the number is not kept by Utilis)."""

    @abstractmethod
    def charge_create(self, *, token: str, amount_cents: int, currency: str, reference: str) -> GatewayCharge:
        """Charge a token; `reference` is Utilis' id of the charge and the request's idempotency key."""

    @abstractmethod
    def charge_status(self, transaction_id: str) -> GatewayCharge:
        """The gateway's current view of a charge."""

    @abstractmethod
    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify a webhook's signature and timestamp and parse it; raise WebhookRejected if not."""
