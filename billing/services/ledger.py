"""The customer ledger: posting (append-only) and reading balance and aging.

Every write is a new row. A mistake is undone by `ledger_reverse`, which posts the opposite
amount pointing at the original; the database refuses edits and deletes of posted rows."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum

from billing.models import LedgerEntry
from core.actors import Actor
from core.money import money


class LedgerError(Exception):
    pass


def _validate_amount(amount: Decimal) -> Decimal:
    try:
        value = Decimal(str(amount))
    except Exception as exc:  # noqa: BLE001 - any bad number is the same error to the user
        raise ValidationError({"amount": "Enter an amount such as 125.00."}) from exc
    if value != money(value):
        raise ValidationError({"amount": "Amounts have at most 2 decimal places."})
    if value == 0:
        raise ValidationError({"amount": "The amount cannot be zero."})
    return value


def _post(*, account_id: int, kind: str, amount: Decimal, effective_date: dt.date, description: str,
          reason: str = "", user=None, idempotency_key: str | None = None, **extra) -> LedgerEntry:
    if idempotency_key:
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return LedgerEntry.objects.create(
                account_id=account_id, kind=kind, amount=amount, effective_date=effective_date,
                description=description, reason=reason, idempotency_key=idempotency_key,
                created_by_id=Actor.of(user).user_id, **extra,
            )
    except IntegrityError:
        if idempotency_key:
            return LedgerEntry.objects.get(idempotency_key=idempotency_key)
        raise


def ledger_post_payment(*, account_id: int, amount, received_date: dt.date, reference: str = "",
                        reason: str = "", user=None, idempotency_key: str | None = None) -> LedgerEntry:
    """Post a payment (a credit). `amount` is what the customer paid, positive.
    Raises ValidationError for a bad or non-positive amount."""
    value = _validate_amount(amount)
    if value < 0:
        raise ValidationError({"amount": "A payment is entered as a positive amount."})
    return _post(account_id=account_id, kind=LedgerEntry.Kind.PAYMENT, amount=-value, effective_date=received_date,
                 description=f"Payment {reference}".strip(), reason=reason, user=user,
                 idempotency_key=idempotency_key, payment_reference=reference)


def ledger_post_adjustment(*, account_id: int, amount, effective_date: dt.date, reason: str, user=None,
                           idempotency_key: str | None = None) -> LedgerEntry:
    """Post an adjustment: positive charges the customer, negative credits them. A reason is
    required. Raises ValidationError."""
    value = _validate_amount(amount)
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the account is adjusted."})
    label = "Charge adjustment" if value > 0 else "Credit adjustment"
    return _post(account_id=account_id, kind=LedgerEntry.Kind.ADJUSTMENT, amount=value, effective_date=effective_date,
                 description=label, reason=reason.strip(), user=user, idempotency_key=idempotency_key)


def ledger_post_bill(*, account_id: int, bill, amount: Decimal, bill_date: dt.date) -> LedgerEntry:
    """Post an issued bill's charges (once per bill)."""
    return _post(account_id=account_id, kind=LedgerEntry.Kind.BILL, amount=money(amount), effective_date=bill_date,
                 description=f"Bill {bill.bill_number or bill.pk}", bill=bill, idempotency_key=f"bill:{bill.pk}")


def ledger_reverse(*, entry: LedgerEntry, reason: str, effective_date: dt.date, user=None) -> LedgerEntry:
    """Reverse a posted entry with an opposite entry. Raises LedgerError if it is a reversal
    itself or already reversed."""
    if entry.kind == LedgerEntry.Kind.REVERSAL:
        raise LedgerError("A reversal cannot be reversed; post a new entry instead.")
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise LedgerError(f"Entry {entry.pk} is already reversed.")
    try:
        with transaction.atomic():
            return LedgerEntry.objects.create(
                account_id=entry.account_id, kind=LedgerEntry.Kind.REVERSAL, amount=-entry.amount,
                effective_date=effective_date, description=f"Reversal of {entry.description}", reason=reason,
                reverses=entry, bill=entry.bill, created_by_id=Actor.of(user).user_id,
            )
    except IntegrityError as exc:
        raise LedgerError(f"Entry {entry.pk} is already reversed.") from exc


@dataclass(frozen=True)
class Aging:
    current: Decimal
    days_30: Decimal
    days_60: Decimal
    days_90_plus: Decimal

    @property
    def total(self) -> Decimal:
        return self.current + self.days_30 + self.days_60 + self.days_90_plus


def account_balance(*, account_id: int, as_of: dt.date | None = None) -> Decimal:
    qs = LedgerEntry.objects.filter(account_id=account_id)
    if as_of is not None:
        qs = qs.filter(effective_date__lte=as_of)
    return qs.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def account_aging(*, account_id: int, as_of: dt.date) -> Aging:
    """Age the balance: credits pay off the oldest charges first (first in, first out), and
    what remains of each charge is bucketed by its age in days on `as_of`: current (0-29),
    30 (30-59), 60 (60-89), 90+."""
    entries = list(
        LedgerEntry.objects.filter(account_id=account_id, effective_date__lte=as_of)
        .order_by("effective_date", "id").values_list("amount", "effective_date")
    )
    charges: list[list] = []
    credit = Decimal("0")
    for amount, day in entries:
        if amount > 0:
            charges.append([amount, day])
        else:
            credit += -amount
    for charge in charges:
        used = min(charge[0], credit)
        charge[0] -= used
        credit -= used
    buckets = [Decimal("0.00")] * 4
    for amount, day in charges:
        age = (as_of - day).days
        index = 0 if age < 30 else 1 if age < 60 else 2 if age < 90 else 3
        buckets[index] += amount
    buckets[0] -= credit  # an unused credit shows as a negative current balance
    return Aging(*(money(b) for b in buckets))


def account_ledger(*, account_id: int, limit: int = 50) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account_id=account_id).order_by("-effective_date", "-id")[:limit])
