"""Payment writes: the one posting service every channel ends in, returns and reversals, and
the API's idempotency keys. Exported through billing.services.

Each write is atomic, runs inside `actor.audit(...)` (pghistory records who, what and why on
the payment and return rows' insert events) and copies the actor onto its rows."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from billing.payments.allocation import account_allocate, account_lock, allocation_deferred, allocations_release
from billing.payments.models import (
    RECEIPT_SEQUENCE,
    Fee,
    Payment,
    PaymentIdempotencyKey,
    PaymentReturn,
    PaymentSettings,
)
from billing.services.ledger import ledger_post_adjustment, ledger_post_payment, ledger_reverse
from core.actors import Actor
from core.money import money


ZERO = Decimal("0.00")


class PaymentError(Exception):
    """A payment that cannot be posted, returned or reversed as asked."""


class PaymentDuplicate(PaymentError):
    """The channel's external reference was already posted; `payment` is the one posted."""

    def __init__(self, payment: Payment) -> None:
        super().__init__(f"{payment.get_channel_display()} reference {payment.external_reference!r} was already "
                         f"posted as receipt {payment.receipt_number}.")
        self.payment = payment


class PaymentAlreadyReturned(PaymentError):
    def __init__(self, payment: Payment) -> None:
        super().__init__(f"Payment {payment.receipt_number} was already returned or reversed.")
        self.payment = payment


class IdempotencyKeyReused(PaymentError):
    """The idempotency key was used before with a different request."""


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"amount": "Enter an amount such as 125.00."}) from exc
    if not amount.is_finite():
        raise ValidationError({"amount": "Enter an amount such as 125.00."})
    if amount != money(amount):
        raise ValidationError({"amount": "Amounts have at most 2 decimal places."})
    if amount <= 0:
        raise ValidationError({"amount": "A payment is a positive amount."})
    if amount >= Decimal("1e12"):
        raise ValidationError({"amount": "The amount is too large."})
    return amount


def _choice(value: str, choices: type[Any], field: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: f"Choose one of: {', '.join(choices.values)}."})
    return value


def _next_receipt() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [RECEIPT_SEQUENCE])
        (number,) = cursor.fetchone()
    return f"R{number:09d}"


def payment_settings() -> PaymentSettings:
    """The settings row (created with its defaults the first time it is asked for)."""
    settings, _ = PaymentSettings.objects.get_or_create(id=1)
    return settings


def payment_fields_check(*, amount: Any, channel: str, tender_type: str, external_reference: str = "",
                         reference: str = "") -> tuple[Decimal, str]:
    """What payment_post checks before it posts, in its order: the amount (returned as a
    Decimal), the channel, the tender type, the lengths of the references (the external one
    returned stripped). The bulk remittance posting checks each line with it too, so a bad
    line is named the same way on both paths. Raises ValidationError (the first bad field)."""
    value = _amount(amount)
    _choice(channel, Payment.Channel, "channel")
    _choice(tender_type, Payment.Tender, "tender_type")
    external_reference = (external_reference or "").strip()
    if len(external_reference) > 100:
        raise ValidationError({"external_reference": "At most 100 characters."})
    if len(reference or "") > 100:
        raise ValidationError({"reference": "At most 100 characters."})
    return value, external_reference


def payment_post(*, account_id: int, amount: Any, received_date: dt.date, channel: str, tender_type: str,
                 actor: Actor, external_reference: str = "", reference: str = "", reason: str = "") -> Payment:
    """Record a payment, post its credit to the ledger and allocate it to the account's open
    charges (oldest first, by AllocationPriority); an amount beyond them stays an account
    credit, applied to the next charge posted.

    Raises ValidationError (bad amount, channel or tender type), PaymentDuplicate (this
    channel's `external_reference` was already posted: the database's unique constraint, so
    also under a race)."""
    value, external_reference = payment_fields_check(amount=amount, channel=channel, tender_type=tender_type,
                                                     external_reference=external_reference, reference=reference)
    actor = actor.with_reason(reason.strip()) if (reason or "").strip() else actor
    try:
        with transaction.atomic(), actor.audit("payment_post"), allocation_deferred():
            account_lock(account_id=account_id)
            if external_reference:
                existing = Payment.objects.filter(channel=channel, external_reference=external_reference).first()
                if existing is not None:
                    raise PaymentDuplicate(existing)
            receipt = _next_receipt()
            entry = ledger_post_payment(
                account_id=account_id, amount=value, received_date=received_date, reference=receipt,
                reason=(reason or "").strip(), user=actor, idempotency_key=f"payment:{receipt}")
            payment = Payment.objects.create(
                receipt_number=receipt, account_id=account_id, channel=channel, tender_type=tender_type,
                amount=value, received_date=received_date, external_reference=external_reference,
                reference=(reference or "").strip(), ledger_entry=entry, reason=(reason or "").strip(),
                created_by_id=actor.user_id, actor=actor.username)
            account_allocate(account_id=account_id, on_date=received_date)
    except IntegrityError:
        existing = (Payment.objects.filter(channel=channel, external_reference=external_reference).first()
                    if external_reference else None)
        if existing is None:
            raise
        raise PaymentDuplicate(existing) from None
    return payment


def _undo(*, payment: Payment, kind: str, return_date: dt.date, reason: str, actor: Actor,
          external_reference: str, fee: Decimal | None) -> PaymentReturn:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the payment is returned or reversed."})
    _choice(kind, PaymentReturn.Kind, "kind")
    if return_date < payment.received_date:
        raise ValidationError({"return_date": f"A payment cannot come back before it was received "
                                              f"({payment.received_date})."})
    actor = actor.with_reason(reason.strip())
    counts = kind != PaymentReturn.Kind.POSTING_ERROR
    with transaction.atomic(), actor.audit(f"payment_{'return' if counts else 'reverse'}"), allocation_deferred():
        account_lock(account_id=payment.account_id)
        if PaymentReturn.objects.filter(payment=payment).exists():
            raise PaymentAlreadyReturned(payment)
        label = PaymentReturn.Kind(kind).label
        allocations_release(account_id=payment.account_id, credit_id=payment.ledger_entry_id,
                            reason=f"Payment {payment.receipt_number}: {label}", on_date=return_date)
        try:
            with transaction.atomic():
                reversal = ledger_reverse(entry=payment.ledger_entry, reason=f"{label}: {reason.strip()}",
                                          effective_date=return_date, user=actor)
                returned = PaymentReturn.objects.create(
                    payment=payment, account_id=payment.account_id, kind=kind, return_date=return_date,
                    reason=reason.strip(), external_reference=(external_reference or "").strip()[:100],
                    reversal_entry=reversal, counts_for_credit=counts, created_by_id=actor.user_id,
                    actor=actor.username)
        except IntegrityError as exc:
            raise PaymentAlreadyReturned(payment) from exc
        fee_amount = ZERO if not counts else (payment_settings().returned_payment_fee if fee is None else fee)
        if fee_amount:
            entry = ledger_post_adjustment(
                account_id=payment.account_id, amount=fee_amount, effective_date=return_date,
                reason=f"Returned payment fee: {payment.receipt_number} ({label})", user=actor,
                idempotency_key=f"payment-return-fee:{returned.pk}")
            Fee.objects.create(account_id=payment.account_id, kind=Fee.Kind.RETURNED_PAYMENT, amount=fee_amount,
                               ledger_entry=entry, payment_return=returned)
        account_allocate(account_id=payment.account_id, on_date=return_date)
    return returned


def payment_return(*, payment: Payment, kind: str, return_date: dt.date, reason: str, actor: Actor,
                   external_reference: str = "", fee: Any = None) -> PaymentReturn:
    """A payment that came back (NSF or chargeback): reverse its credit in the ledger, release
    its allocations (the charges it paid reopen), charge the returned-payment fee (PaymentSettings,
    or `fee` when given; 0: none) as an open charge of kind "fee", and count the return for the
    account's credit rating.

    Raises ValidationError (no reason, a kind that is not nsf/chargeback, a bad fee, a date
    before the payment), PaymentAlreadyReturned."""
    if kind == PaymentReturn.Kind.POSTING_ERROR or kind not in PaymentReturn.Kind.values:
        raise ValidationError({"kind": "A returned payment is nsf or chargeback (a mistake is reversed instead)."})
    fee_amount = None
    if fee is not None:
        try:
            fee_amount = Decimal(str(fee))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError({"fee": "Enter an amount such as 25.00."}) from exc
        if not fee_amount.is_finite() or fee_amount < 0 or fee_amount != money(fee_amount) or fee_amount >= Decimal("1e12"):
            raise ValidationError({"fee": "The fee is 0 or a positive amount with at most 2 decimal places."})
    return _undo(payment=payment, kind=kind, return_date=return_date, reason=reason, actor=actor,
                 external_reference=external_reference, fee=fee_amount)


def payment_reverse(*, payment: Payment, effective_date: dt.date, reason: str, actor: Actor) -> PaymentReturn:
    """Undo a payment posted by mistake (wrong account, wrong amount): the same ledger reversal
    and released allocations as a return, but no fee and no count for the credit rating.
    Raises ValidationError (no reason, a date before the payment), PaymentAlreadyReturned."""
    return _undo(payment=payment, kind=PaymentReturn.Kind.POSTING_ERROR, return_date=effective_date, reason=reason,
                 actor=actor, external_reference="", fee=None)


# --- the API's Idempotency-Key --------------------------------------------------------------

def request_fingerprint(body: Any) -> str:
    """SHA-256 of a request body as canonical JSON (keys sorted), so key order does not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class IdempotentAnswer:
    status: int
    body: Any
    replayed: bool


def payment_post_idempotent(*, user_id: int, key: str, fingerprint: str,
                            post: Callable[[], tuple[Payment, int, Any]]) -> IdempotentAnswer:
    """Run `post` (which posts a payment and returns it with the answer's status and body) once
    per (user, key): a second call with the same key and fingerprint returns the first answer
    without posting; with another fingerprint it raises IdempotencyKeyReused. A `post` that
    raises stores nothing (the client may retry the key). Concurrent calls with one key are
    serialised by the key's row (its unique constraint)."""
    def replay(record: PaymentIdempotencyKey) -> IdempotentAnswer:
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was used for another request (payment {record.payment.receipt_number}).")
        return IdempotentAnswer(record.response_status, record.response_body, True)

    existing = PaymentIdempotencyKey.objects.select_related("payment").filter(user_id=user_id, key=key).first()
    if existing is not None:
        return replay(existing)
    try:
        with transaction.atomic():
            payment, status, body = post()
            PaymentIdempotencyKey.objects.create(user_id=user_id, key=key, fingerprint=fingerprint, payment=payment,
                                                 response_status=status, response_body=body)
    except IntegrityError:
        # Another request with this key committed first (the unique constraint waited for it).
        existing = PaymentIdempotencyKey.objects.select_related("payment").filter(user_id=user_id, key=key).first()
        if existing is None:
            raise
        return replay(existing)
    return IdempotentAnswer(status, body, False)


__all__ = [
    "IdempotencyKeyReused", "IdempotentAnswer", "PaymentAlreadyReturned", "PaymentDuplicate", "PaymentError",
    "payment_fields_check", "payment_post", "payment_post_idempotent", "payment_return", "payment_reverse", "payment_settings",
    "request_fingerprint",
]
