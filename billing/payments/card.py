"""Card payments through a gateway (docs/payments.md "Card payments").

billing never imports integrations: a gateway adapter (integrations/payment_gateways/) is
registered here from IntegrationsConfig.ready under a name, and `card_gateway()` builds the one
settings.UTILIS_PAYMENT_GATEWAY names with the gateway's URL and webhook secret. An adapter
tokenises a card, creates a charge from a token, fetches a charge, and verifies and parses
the gateway's webhook into the records below.

Flow: `card_payment_take` (a CSR on the account page) tokenises the card (the number is passed
through to the gateway and dropped), records a CardCharge, asks the gateway to charge the
token; a decline is recorded and nothing is posted. The gateway confirms asynchronously through
its webhook; `card_event_apply` posts the payment through payment_post (channel card, the
gateway transaction id as external reference) exactly once, however often and however
concurrently the confirmation arrives."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction

from billing.payments.card_models import CardCharge
from billing.payments.models import Payment
from billing.payments.services import PaymentDuplicate, payment_post
from core.actors import Actor
from core.clock import utility_today
from core.money import money

CENT = Decimal("0.01")


class GatewayError(Exception):
    """The gateway refused a request (bad card data) or did not answer."""


class GatewayUnavailable(GatewayError):
    """The gateway did not answer, or answered something that is not its API."""


class CardRejected(GatewayError):
    """The gateway refused the card data (bad number, expired): `field` says which."""

    def __init__(self, message: str, field: str = "card_number") -> None:
        super().__init__(message)
        self.field = field


class WebhookRejected(Exception):
    """A webhook that is not the gateway's: bad or missing signature, a stale timestamp, a body
    that is not an event."""


@dataclass(frozen=True)
class CardToken:
    token: str
    brand: str
    last4: str


@dataclass(frozen=True)
class GatewayCharge:
    transaction_id: str
    status: str  # "pending" | "succeeded" | "declined" | "failed"
    amount_cents: int
    currency: str
    reference: str  # Utilis' CardCharge.reference, echoed by the gateway
    decline_code: str = ""
    message: str = ""


@dataclass(frozen=True)
class GatewayEvent:
    event_id: str
    type: str
    charge: GatewayCharge


class CardGateway(Protocol):
    name: str

    def tokenise(self, *, card_number: str, exp_month: int, exp_year: int, cvc: str) -> CardToken: ...

    def charge_create(self, *, token: str, amount_cents: int, currency: str, reference: str) -> GatewayCharge: ...

    def charge_status(self, transaction_id: str) -> GatewayCharge: ...

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayEvent: ...


GatewayFactory = Callable[[str, str], CardGateway]  # (gateway URL, webhook secret) -> adapter
_GATEWAYS: dict[str, GatewayFactory] = {}


def register_card_gateway(name: str, factory: GatewayFactory) -> None:
    _GATEWAYS[name] = factory


def card_gateways() -> list[str]:
    return sorted(_GATEWAYS)


def card_gateway() -> CardGateway:
    """The adapter settings.UTILIS_PAYMENT_GATEWAY names, for UTILIS_GATEWAY_URL."""
    name = settings.UTILIS_PAYMENT_GATEWAY
    factory = _GATEWAYS.get(name)
    if factory is None:
        raise ImproperlyConfigured(f"UTILIS_PAYMENT_GATEWAY={name!r} is not a registered gateway "
                                   f"(known: {', '.join(card_gateways()) or 'none'}).")
    return factory(settings.UTILIS_GATEWAY_URL, settings.UTILIS_GATEWAY_WEBHOOK_SECRET)


def _cents(amount: Any) -> tuple[Decimal, int]:
    try:
        value = Decimal(str(amount))
    except ArithmeticError as exc:
        raise ValidationError({"amount": "Enter an amount such as 125.00."}) from exc
    if not value.is_finite() or value <= 0 or value != money(value) or value >= Decimal("1e9"):
        raise ValidationError({"amount": "A card payment is a positive amount with at most 2 decimal places."})
    return value, int(value / CENT)


def card_payment_take(*, account_id: int, amount: Any, card_number: str, exp_month: int, exp_year: int, cvc: str,
                      actor: Actor, currency: str = "CAD") -> CardCharge:
    """Charge a card for an account. The card number goes to the gateway's tokenise call and is
    dropped: only the token, brand and last 4 digits are kept. Returns the CardCharge: pending
    (approved; posted when the gateway's webhook confirms it), succeeded (the gateway confirmed
    at once: posted), or declined (nothing posted; `message` says why).

    Raises ValidationError (a bad amount), CardRejected (the gateway refused the card data),
    GatewayUnavailable (nothing was charged)."""
    value, cents = _cents(amount)
    gateway = card_gateway()
    token = gateway.tokenise(card_number=card_number, exp_month=exp_month, exp_year=exp_year, cvc=cvc)
    with actor.audit("card_charge"):
        charge = CardCharge.objects.create(
            reference=f"UC-{uuid.uuid4().hex}", gateway=gateway.name, account_id=account_id, amount=value,
            currency=currency, token=token.token, brand=token.brand[:20], last4=token.last4,
            created_by_id=actor.user_id, actor=actor.username)
    try:
        answer = gateway.charge_create(token=token.token, amount_cents=cents, currency=currency,
                                       reference=charge.reference)
    except GatewayUnavailable:
        with actor.audit("card_charge"):
            CardCharge.objects.filter(pk=charge.pk, status=CardCharge.Status.STARTED).update(
                status=CardCharge.Status.FAILED, message="The gateway did not answer: nothing was charged.")
        raise
    return card_charge_update(charge=answer, actor=actor)


def card_charge_update(*, charge: GatewayCharge, actor: Actor) -> CardCharge:
    """Apply what the gateway says of a charge (its answer, a status fetch or a webhook) to the
    CardCharge it names by reference. A succeeded charge is posted through payment_post (channel
    card, the transaction id as external reference) once: the row is locked, an already
    succeeded one is left alone, and the payment's unique channel reference backs that up.

    Raises CardCharge.DoesNotExist (not a charge Utilis asked for), ValidationError (the
    gateway's amount or currency is not the one asked for)."""
    with transaction.atomic(), actor.audit("card_charge_update"):
        row = CardCharge.objects.select_for_update().get(reference=charge.reference)
        if row.status == CardCharge.Status.SUCCEEDED:
            return row
        if row.transaction_id and charge.transaction_id != row.transaction_id:
            raise ValidationError(f"Charge {row.reference} is gateway transaction {row.transaction_id}, "
                                  f"not {charge.transaction_id}.")
        if charge.amount_cents != int(row.amount / CENT) or charge.currency.upper() != row.currency:
            raise ValidationError(f"The gateway's charge {charge.transaction_id} is {charge.amount_cents} cents "
                                  f"{charge.currency}; Utilis asked for {row.amount} {row.currency}.")
        row.transaction_id = charge.transaction_id
        fields = ["transaction_id", "status", "decline_code", "message", "updated_at"]
        if charge.status == "succeeded":
            try:
                payment = payment_post(
                    account_id=row.account_id, amount=row.amount, received_date=utility_today(),
                    channel=Payment.Channel.CARD, tender_type=Payment.Tender.CARD,
                    external_reference=charge.transaction_id, reference=f"{row.brand} •••• {row.last4}"[:100],
                    reason=f"Card payment {row.reference}", actor=actor)
            except PaymentDuplicate as exc:
                payment = exc.payment
            row.status, row.payment, row.message = CardCharge.Status.SUCCEEDED, payment, ""
            fields.append("payment")
        elif charge.status == "pending":
            row.status = CardCharge.Status.PENDING
        elif charge.status in ("declined", "failed"):
            row.status = CardCharge.Status(charge.status)
            row.decline_code, row.message = charge.decline_code[:50], (charge.message or "Declined")[:300]
        else:
            raise ValidationError(f"Unknown gateway charge status {charge.status!r}.")
        row.save(update_fields=fields)
    return row


def card_webhook_receive(*, body: bytes, headers: Mapping[str, str]) -> CardCharge | None:
    """Verify and apply a gateway webhook. Returns the CardCharge it updated, or None for an
    event that names no charge status Utilis acts on. Raises WebhookRejected (not the
    gateway's, or stale), CardCharge.DoesNotExist, ValidationError."""
    event = card_gateway().webhook_parse(body=body, headers=headers)
    if not event.type.startswith("charge."):
        return None
    return card_charge_update(charge=event.charge, actor=Actor.system("card-gateway", reason=f"Webhook {event.event_id}"))


__all__ = [
    "CardGateway", "CardRejected", "CardToken", "GatewayCharge", "GatewayError", "GatewayEvent",
    "GatewayUnavailable", "WebhookRejected", "card_charge_update", "card_gateway", "card_gateways",
    "card_payment_take", "card_webhook_receive", "register_card_gateway",
]
