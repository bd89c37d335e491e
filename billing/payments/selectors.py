"""Payment reads: an account's payment history (with allocations and returns), its open
charges and unallocated credit, aging by allocation, and the returned-payment credit rating.
The public ones are listed in billing.selectors."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Prefetch, QuerySet

from billing.models import LedgerEntry
from billing.payments.allocation import account_items
from billing.payments.card_models import CardCharge
from billing.payments.models import Allocation, Payment, PaymentReturn, PaymentSettings, RemittanceFile, RemittanceItem
from billing.services.ledger import Aging
from core.money import money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OpenCharge:
    entry_id: int
    kind: str
    description: str
    effective_date: dt.date
    amount: Decimal
    open: Decimal


@dataclass(frozen=True)
class OpenItems:
    """What allocation leaves: `charges` still (partly) unpaid, and `credit` not yet applied.
    `owed - credit` equals the ledger balance."""

    charges: list[OpenCharge]
    credit: Decimal

    @property
    def owed(self) -> Decimal:
        return sum((c.open for c in self.charges), ZERO)


def account_open_items(*, account_id: int) -> OpenItems:
    items = account_items(account_ids=[account_id])[account_id]
    entries = {pk: (description, amount) for pk, description, amount in LedgerEntry.objects.filter(
        pk__in=[c.entry_id for c in items.charges]).values_list("id", "description", "amount")}
    charges = [OpenCharge(c.entry_id, c.kind, entries[c.entry_id][0], c.effective_date, entries[c.entry_id][1], c.open)
               for c in sorted(items.charges, key=lambda c: (c.effective_date, c.entry_id))]
    return OpenItems(charges, sum((c.open for c in items.credits), ZERO))


def account_aging_by_allocation(*, account_id: int, as_of: dt.date) -> Aging:
    """The balance aged by what allocation left open: each open charge in the bucket of its age
    on `as_of` (current 0-29 days, 30, 60, 90+), unapplied credit as a negative current amount."""
    items = account_open_items(account_id=account_id)
    buckets = [ZERO] * 4
    for charge in items.charges:
        age = (as_of - charge.effective_date).days
        buckets[0 if age < 30 else 1 if age < 60 else 2 if age < 90 else 3] += charge.open
    buckets[0] -= items.credit
    return Aging(*(money(b) for b in buckets))


@dataclass(frozen=True)
class CreditRating:
    """Returned payments (NSF, chargeback) in the last `months` months and what they make of
    the account: 0 good, 1 fair, 2 or more poor; `score` is 100 less 25 per return (0 at least)."""

    returns: int
    months: int
    score: int
    rating: str


def account_credit_rating(*, account_id: int, as_of: dt.date) -> CreditRating:
    settings = PaymentSettings.objects.filter(id=1).first()
    months = settings.credit_rating_months if settings else 12
    since = as_of - relativedelta(months=months)
    count = PaymentReturn.objects.filter(account_id=account_id, counts_for_credit=True, return_date__gt=since,
                                         return_date__lte=as_of).count()
    rating = "good" if count == 0 else "fair" if count == 1 else "poor"
    return CreditRating(count, months, max(0, 100 - 25 * count), rating)


def payments_with_history() -> QuerySet[Payment]:
    """Payments with what the history shows: allocations (and the charges they paid), the return
    and its fee."""
    return (Payment.objects.select_related("payment_return", "payment_return__fee", "created_by")
            .prefetch_related(Prefetch("ledger_entry__allocations_out",
                                       queryset=Allocation.objects.select_related("charge").order_by("id"),
                                       to_attr="allocation_rows")))


def payments_for_account(*, account_id: int, limit: int = 20) -> list[Payment]:
    """Newest first, each with `.ledger_entry.allocation_rows` and `.payment_return` (or none)."""
    return list(payments_with_history().filter(account_id=account_id).order_by("-received_date", "-id")[:limit])


def payment_by_receipt(*, receipt_number: str) -> Payment:
    """Raises Payment.DoesNotExist."""
    return payments_with_history().get(receipt_number=receipt_number)


def suspense_items() -> QuerySet[RemittanceItem]:
    """The suspense worklist: remittance lines waiting for staff, oldest file first."""
    return (RemittanceItem.objects.filter(status=RemittanceItem.Status.SUSPENSE).select_related("file")
            .order_by("file__imported_at", "file_id", "line_number"))


def remittance_files(*, limit: int = 20) -> list[RemittanceFile]:
    return list(RemittanceFile.objects.order_by("-imported_at", "-id")[:limit])


def card_charges_for_account(*, account_id: int, limit: int = 10) -> list[CardCharge]:
    """The account's card charges, newest first, each with its payment (if posted) and refunds."""
    return list(CardCharge.objects.filter(account_id=account_id).select_related("payment__payment_return")
                .prefetch_related("refunds").order_by("-created_at", "-id")[:limit])


def card_charge_for_account(*, account_id: int, reference: str) -> CardCharge:
    """One of the account's card charges by its reference. Raises CardCharge.DoesNotExist, also
    for another account's charge."""
    return (CardCharge.objects.select_related("payment__payment_return").prefetch_related("refunds")
            .get(account_id=account_id, reference=reference))
