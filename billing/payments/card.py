"""Card payments through a gateway (docs/payments.md "Card payments").

billing never imports integrations: a gateway adapter (integrations/payment_gateways/) is
registered here from IntegrationsConfig.ready under a name, and `card_gateway()` builds the one
settings.UTILIS_PAYMENT_GATEWAY names with the gateway's URL and webhook secret. An adapter
tokenises a card, creates a charge from a token, fetches a charge, and verifies and parses
the gateway's webhook into the records below.

Flow: `card_payment_take` (a CSR on the account page) tokenises the card (the number is passed
through to the gateway and dropped), records a CardCharge, asks the gateway to charge the
token; a decline is recorded and nothing is posted. The gateway confirms asynchronously through
its webhook; `card_charge_update` posts the payment through payment_post (channel card, the
gateway transaction id as external reference) exactly once, however often and however
concurrently the confirmation arrives. The gateway's refund and dispute webhooks record a
refund (a ledger charge, CardRefund) and a chargeback (payment_return) once each, and
`card_charges_poll` (a beat task) asks the gateway about charges whose webhook never came."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from billing.payments.card_models import CardCharge, CardRefund
from billing.payments.card_texts import NO_ANSWER_MESSAGE
from billing.payments.models import Payment, PaymentReturn
from billing.payments.services import PaymentAlreadyReturned, PaymentDuplicate, payment_post, payment_return
from billing.services.ledger import ledger_post_adjustment
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

    def __init__(self, message: str, field: str = "card_number", code: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.code = code  # the gateway's error code (billing.payments.card_texts words it for customers)


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
class GatewayRefund:
    """Money the gateway gave back to the card holder out of a succeeded charge."""
    refund_id: str
    amount_cents: int
    reason: str = ""


@dataclass(frozen=True)
class GatewayDispute:
    """A chargeback: the card holder's bank took the charge back."""
    dispute_id: str
    amount_cents: int
    reason: str = ""


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook. `type` is the gateway's; an adapter maps its own refund and dispute
    events to `refund` / `dispute` (and fills `charge` with the charge they are about)."""
    event_id: str
    type: str
    charge: GatewayCharge
    refund: GatewayRefund | None = None
    dispute: GatewayDispute | None = None


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
                      actor: Actor, currency: str = "CAD", idempotency_key: str = "") -> CardCharge:
    """Charge a card for an account. The card number goes to the gateway's tokenise call and is
    dropped: only the token, brand and last 4 digits are kept. Returns the CardCharge: pending
    (approved; posted when the gateway's webhook confirms it), succeeded (the gateway confirmed
    at once: posted), or declined (nothing posted; `message` says why).

    `idempotency_key` (a form's one-time id: 8 to 40 letters, digits or dashes) makes a second
    submission of the same form answer the first charge instead of charging again.

    Raises ValidationError (a bad amount or key), CardRejected (the gateway refused the card data),
    GatewayUnavailable (nothing was charged)."""
    value, cents = _cents(amount)
    reference = f"UC-{uuid.uuid4().hex}"
    if idempotency_key:
        if not (8 <= len(idempotency_key) <= 40 and all(ch.isalnum() or ch == "-" for ch in idempotency_key)):
            raise ValidationError({"idempotency_key": "8 to 40 letters, digits or dashes."})
        reference = f"UK-{idempotency_key}"
        earlier = CardCharge.objects.filter(reference=reference).first()
        if earlier is not None:
            if earlier.account_id != account_id:
                raise ValidationError({"idempotency_key": gettext("This form was used for another account.")})
            return earlier
    gateway = card_gateway()
    token = gateway.tokenise(card_number=card_number, exp_month=exp_month, exp_year=exp_year, cvc=cvc)
    try:
        with transaction.atomic(), actor.audit("card_charge"):
            charge = CardCharge.objects.create(
                reference=reference, gateway=gateway.name, account_id=account_id, amount=value,
                currency=currency, token=token.token, brand=token.brand[:20], last4=token.last4,
                created_by_id=actor.user_id, actor=actor.username)
    except IntegrityError:
        # The same form submitted twice at once: the other request made the charge.
        earlier = CardCharge.objects.filter(reference=reference, account_id=account_id).first()
        if earlier is None:
            raise
        return earlier
    try:
        answer = gateway.charge_create(token=token.token, amount_cents=cents, currency=currency,
                                       reference=charge.reference)
    except GatewayUnavailable:
        with actor.audit("card_charge"):
            CardCharge.objects.filter(pk=charge.pk, status=CardCharge.Status.STARTED).update(
                status=CardCharge.Status.FAILED, message=NO_ANSWER_MESSAGE)
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


def _refund_apply(*, row: CardCharge, refund: GatewayRefund, actor: Actor) -> CardCharge:
    """Record a gateway refund of a posted card payment: a charge on the account's ledger for
    the refunded amount (the customer owes it again; allocation pays it from any credit), and
    a CardRefund row. Once per gateway refund id; never more than the charge in total."""
    with transaction.atomic(), actor.audit("card_refund"):
        row = CardCharge.objects.select_for_update().get(pk=row.pk)
        if CardRefund.objects.filter(gateway=row.gateway, refund_id=refund.refund_id).exists():
            return row
        if row.status != CardCharge.Status.SUCCEEDED or row.payment is None:
            raise ValidationError(f"Refund {refund.refund_id} is for charge {row.reference}, which was not posted "
                                  f"({row.get_status_display()}).")
        if PaymentReturn.objects.filter(payment=row.payment).exists():
            raise ValidationError(f"Refund {refund.refund_id}: payment {row.payment.receipt_number} was already "
                                  f"returned or reversed; a person must look at it.")
        amount = money(Decimal(refund.amount_cents) * CENT)
        refunded = sum((r.amount for r in row.refunds.all()), Decimal("0.00"))
        if amount <= 0 or refunded + amount > row.amount:
            raise ValidationError(f"Refund {refund.refund_id} of {amount} would take the refunds of charge "
                                  f"{row.reference} past its {row.amount} (already refunded: {refunded}).")
        entry = ledger_post_adjustment(
            account_id=row.account_id, amount=amount, effective_date=utility_today(),
            reason=f"Card refund {refund.refund_id} of payment {row.payment.receipt_number} "
                   f"({row.brand} •••• {row.last4}){': ' + refund.reason if refund.reason else ''}"[:500],
            user=actor, idempotency_key=f"card-refund:{row.gateway}:{refund.refund_id}")
        CardRefund.objects.create(card_charge=row, gateway=row.gateway, refund_id=refund.refund_id[:100],
                                  amount=amount, reason=refund.reason[:200], ledger_entry=entry,
                                  actor=actor.username)
    return row


def _dispute_apply(*, row: CardCharge, dispute: GatewayDispute, actor: Actor) -> CardCharge:
    """A chargeback of a posted card payment becomes a returned payment (payment_return, kind
    chargeback: reversal, the returned-payment fee, a count for the credit rating), once."""
    with transaction.atomic():
        row = CardCharge.objects.select_for_update().get(pk=row.pk)
        if row.status != CardCharge.Status.SUCCEEDED or row.payment is None:
            raise ValidationError(f"Dispute {dispute.dispute_id} is for charge {row.reference}, which was not "
                                  f"posted ({row.get_status_display()}).")
        if PaymentReturn.objects.filter(payment=row.payment).exists():
            return row  # this dispute's delivery again (or staff returned it by hand first)
        if row.refunds.exists() or dispute.amount_cents != int(row.amount / CENT):
            raise ValidationError(f"Dispute {dispute.dispute_id} of {dispute.amount_cents} cents: charge "
                                  f"{row.reference} ({row.amount}) was partly refunded or is disputed in part; "
                                  f"a person must decide what comes back.")
        try:
            payment_return(payment=row.payment, kind=PaymentReturn.Kind.CHARGEBACK, return_date=utility_today(),
                           reason=f"Chargeback {dispute.dispute_id} at the card gateway"
                                  f"{': ' + dispute.reason if dispute.reason else ''}",
                           external_reference=dispute.dispute_id, actor=actor)
        except PaymentAlreadyReturned:
            pass
    return row


def card_webhook_receive(*, body: bytes, headers: Mapping[str, str]) -> CardCharge | None:
    """Verify and apply a gateway webhook: a charge's outcome (posted once), a refund (a ledger
    charge, once per refund id) or a dispute (a returned payment, once). A refund or dispute
    first applies the charge it carries, so it works even if the charge's own event is late.
    Returns the CardCharge it updated, or None for an event Utilis does not act on.

    Raises WebhookRejected (not the gateway's, or stale), CardCharge.DoesNotExist,
    ValidationError (amounts that do not agree, a refund or dispute of a charge not posted)."""
    event = card_gateway().webhook_parse(body=body, headers=headers)
    actor = Actor.system("card-gateway", reason=f"Webhook {event.event_id}")
    if event.refund is not None:
        return _refund_apply(row=card_charge_update(charge=event.charge, actor=actor), refund=event.refund,
                             actor=actor)
    if event.dispute is not None:
        return _dispute_apply(row=card_charge_update(charge=event.charge, actor=actor), dispute=event.dispute,
                              actor=actor)
    if not event.type.startswith("charge."):
        return None
    return card_charge_update(charge=event.charge, actor=actor)


@dataclass(frozen=True)
class PollResult:
    asked: int
    settled: int  # now succeeded (posted), declined or failed
    still_pending: int
    errors: list[str]


def card_charges_poll(*, now: dt.datetime, older_than: dt.timedelta, limit: int = 200) -> PollResult:
    """Ask the gateway about charges still pending `older_than` after they were made (their
    webhook never came, or was refused) and apply its answer as the webhook would have: a
    succeeded charge is posted once (card_charge_update's lock and the unique reference), so a
    webhook arriving at the same moment posts nothing twice. Oldest first, at most `limit`.
    A gateway that does not answer stops the round (the next one asks again)."""
    rows = list(CardCharge.objects.filter(status=CardCharge.Status.PENDING, created_at__lt=now - older_than)
                .exclude(transaction_id="").order_by("created_at", "id")[:limit])
    if not rows:
        return PollResult(0, 0, 0, [])
    gateway = card_gateway()
    asked = settled = pending = 0
    errors: list[str] = []
    for row in rows:
        try:
            answer = gateway.charge_status(row.transaction_id)
        except GatewayUnavailable as exc:
            errors.append(f"{row.reference}: {exc}")
            break
        asked += 1
        try:
            updated = card_charge_update(charge=answer, actor=Actor.system(
                "card-poll", reason=f"No webhook for {row.reference} after {older_than}: asked the gateway"))
        except (ValidationError, CardCharge.DoesNotExist) as exc:
            errors.append(f"{row.reference}: {'; '.join(getattr(exc, 'messages', [str(exc)]))}")
            continue
        if updated.status == CardCharge.Status.PENDING:
            pending += 1
        else:
            settled += 1
    return PollResult(asked, settled, pending, errors)


__all__ = [
    "CardGateway", "CardRejected", "CardToken", "GatewayCharge", "GatewayDispute", "GatewayError", "GatewayEvent",
    "GatewayRefund", "PollResult", "card_charges_poll",
    "GatewayUnavailable", "WebhookRejected", "card_charge_update", "card_gateway", "card_gateways",
    "card_payment_take", "card_webhook_receive", "register_card_gateway",
]
