"""Allocation: which credits pay which charges.

A charge is a positive ledger entry (a bill, a charge adjustment, a fee) that is not reversed;
a credit is a negative one (a payment, a credit adjustment, a credit bill) that is not
reversed. Reversal entries are neither: they cancel their target, whose allocations are then
released. `account_allocate` settles an account: it releases allocations that touch a reversed
entry, then lets every unallocated credit (oldest first) pay the open charges in priority order
(AllocationPriority rank, then oldest first). It is idempotent: run again, it writes nothing.

The plan is pure (`plan_allocations`, no database); `account_allocate` loads, plans and writes
under the account's advisory lock, so two postings on one account settle one after the other.

Ledger entries posted outside this package (a bill issued, an adjustment, a bill cancelled)
settle their account through `ledger_entry_posted`, connected to LedgerEntry's post_save in
billing.payments.register(). A bill run issues its bills with one bulk insert, which sends no
signal: those accounts settle at their next payment or posting, or through `accounts_allocate`.
"""
from __future__ import annotations

import contextvars
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum

from billing.models import LedgerEntry
from core.lookups import AnyOf
from billing.payments.models import DEFAULT_PRIORITY, Allocation, AllocationPriority, ChargeKind, Fee

ZERO = Decimal("0.00")
# The advisory-lock namespace of "an account's allocations" (any fixed int4; the account id is the other half).
_LOCK_NAMESPACE = 710_001

_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("billing_payments_allocation_deferred", default=False)


@contextmanager
def allocation_deferred() -> Iterator[None]:
    """Inside the block, ledger postings do not settle their account: the payments services
    post several entries and then settle once, with every row (fees) in place."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def account_lock(*, account_id: int) -> None:
    """Take the account's allocation lock until the transaction ends (re-entrant in it)."""
    with connection.cursor() as cursor:
        # Two int4 keys: this namespace and the account id folded into int4 (a collision only
        # serialises two accounts' postings, it never lets two of one account's run together).
        cursor.execute("SELECT pg_advisory_xact_lock(%s::int, (%s::bigint %% 2147483647)::int)",
                       [_LOCK_NAMESPACE, account_id])


def accounts_lock(*, account_ids: Iterable[int]) -> None:
    """Take the allocation locks of many accounts until the transaction ends, in id order (two
    bulk postings over overlapping accounts never wait on each other in a circle)."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s::int, (a %% 2147483647)::int) "
                       "FROM unnest(%s::bigint[]) AS a ORDER BY a", [_LOCK_NAMESPACE, ids])


@dataclass(frozen=True)
class OpenItem:
    """A charge with an open amount, or a credit with an unallocated amount."""

    entry_id: int
    kind: str  # ChargeKind for a charge, the ledger kind for a credit
    effective_date: dt.date
    open: Decimal


@dataclass(frozen=True)
class PlannedAllocation:
    credit_id: int
    charge_id: int
    amount: Decimal


def plan_allocations(*, charges: Iterable[OpenItem], credits: Iterable[OpenItem],
                     ranks: dict[str, int]) -> list[PlannedAllocation]:
    """Pay `charges` (lowest rank, then oldest, first) with `credits` (oldest first)."""
    order = sorted(charges, key=lambda c: (ranks.get(c.kind, DEFAULT_PRIORITY.get(c.kind, 100)),
                                           c.effective_date, c.entry_id))
    remaining = {c.entry_id: c.open for c in order}
    planned: list[PlannedAllocation] = []
    charge_index = 0
    for credit in sorted(credits, key=lambda c: (c.effective_date, c.entry_id)):
        left = credit.open
        while left > 0 and charge_index < len(order):
            charge = order[charge_index]
            amount = min(left, remaining[charge.entry_id])
            planned.append(PlannedAllocation(credit.entry_id, charge.entry_id, amount))
            left -= amount
            remaining[charge.entry_id] -= amount
            if remaining[charge.entry_id] == 0:
                charge_index += 1
        if charge_index >= len(order):
            break
    return planned


def priority_ranks() -> dict[str, int]:
    ranks = dict(DEFAULT_PRIORITY)
    ranks.update(AllocationPriority.objects.values_list("kind", "rank"))
    return ranks


@dataclass(frozen=True)
class AccountItems:
    charges: list[OpenItem]
    credits: list[OpenItem]
    # Allocations still in force that touch a reversed entry: (allocation id, amount, credit, charge).
    stale: list[tuple[int, Decimal, int, int]]


def account_items(*, account_ids: Iterable[int]) -> dict[int, AccountItems]:
    """Each account's open charges and unallocated credits, and its stale allocations."""
    ids = list(account_ids)
    entries = list(LedgerEntry.objects.filter(AnyOf(F("account_id"), ids)).order_by()
                   .values_list("id", "account_id", "kind", "amount", "effective_date", "reverses_id"))
    reversed_ids = {row[5] for row in entries if row[5] is not None}
    fee_ids = set(Fee.objects.filter(AnyOf(F("account_id"), ids)).order_by().values_list("ledger_entry_id", flat=True))
    used: dict[int, Decimal] = defaultdict(Decimal)
    for credit_id, charge_id, total in (Allocation.objects.filter(AnyOf(F("account_id"), ids)).order_by()
                                        .values("credit_id", "charge_id").annotate(total=Sum("amount"))
                                        .values_list("credit_id", "charge_id", "total")):
        used[credit_id] += total
        used[charge_id] += total
    stale = defaultdict(list)
    if reversed_ids:
        live = (Allocation.objects.filter(AnyOf(F("account_id"), ids), releases__isnull=True, released_by__isnull=True)
                .values_list("id", "account_id", "amount", "credit_id", "charge_id"))
        for allocation_id, account_id, amount, credit_id, charge_id in live:
            if credit_id in reversed_ids or charge_id in reversed_ids:
                stale[account_id].append((allocation_id, amount, credit_id, charge_id))
                used[credit_id] -= amount
                used[charge_id] -= amount
    charges: dict[int, list[OpenItem]] = defaultdict(list)
    credits: dict[int, list[OpenItem]] = defaultdict(list)
    for entry_id, account_id, kind, amount, day, reverses_id in entries:
        if kind == LedgerEntry.Kind.REVERSAL or entry_id in reversed_ids:
            continue
        if amount > 0:
            open_amount = amount - used[entry_id]
            if open_amount > 0:
                charge_kind = (ChargeKind.BILL if kind == LedgerEntry.Kind.BILL
                               else ChargeKind.FEE if entry_id in fee_ids else ChargeKind.ADJUSTMENT)
                charges[account_id].append(OpenItem(entry_id, charge_kind, day, open_amount))
        else:
            free = -amount - used[entry_id]
            if free > 0:
                credits[account_id].append(OpenItem(entry_id, kind, day, free))
    return {a: AccountItems(charges[a], credits[a], stale[a]) for a in ids}


def allocations_release(*, account_id: int, allocation_ids: Iterable[int] | None = None, credit_id: int | None = None,
                        reason: str, on_date: dt.date) -> int:
    """Release allocations still in force (those given, or all of one credit's): a negative row
    each, so their charges reopen. Returns how many were released."""
    live = Allocation.objects.filter(account_id=account_id, releases__isnull=True, released_by__isnull=True)
    if allocation_ids is not None:
        live = live.filter(pk__in=list(allocation_ids))
    if credit_id is not None:
        live = live.filter(credit_id=credit_id)
    rows = [Allocation(account_id=account_id, credit_id=a.credit_id, charge_id=a.charge_id, amount=-a.amount,
                       releases=a, reason=reason[:200], allocated_date=on_date) for a in live]
    Allocation.objects.bulk_create(rows)
    return len(rows)


def _settle(*, items: dict[int, AccountItems], on_date: dt.date) -> list[Allocation]:
    ranks = priority_ranks()
    for account_id, account in items.items():
        if account.stale:
            allocations_release(account_id=account_id, allocation_ids=[s[0] for s in account.stale],
                                reason="Reversed in the ledger", on_date=on_date)
    rows = [Allocation(account_id=account_id, credit_id=p.credit_id, charge_id=p.charge_id, amount=p.amount,
                       allocated_date=on_date)
            for account_id, account in items.items()
            for p in plan_allocations(charges=account.charges, credits=account.credits, ranks=ranks)]
    return Allocation.objects.bulk_create(rows)


def account_allocate(*, account_id: int, on_date: dt.date) -> list[Allocation]:
    """Settle one account (see the module docstring). Returns the allocations written."""
    account_lock(account_id=account_id)
    return _settle(items=account_items(account_ids=[account_id]), on_date=on_date)


def accounts_allocate(*, account_ids: Iterable[int], on_date: dt.date, batch: int = 1000) -> int:
    """Settle many accounts (after a bulk posting such as a bill run's issue), a batch of
    accounts per load and insert, their locks taken in id order. Returns the allocations written."""
    ids = sorted(set(account_ids))
    written = 0
    for start in range(0, len(ids), batch):
        part = ids[start:start + batch]
        accounts_lock(account_ids=part)
        written += len(_settle(items=account_items(account_ids=part), on_date=on_date))
    return written


def ledger_entry_posted(sender, instance: LedgerEntry, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of LedgerEntry: a new entry posted outside the payments services settles its
    account at once, in the same transaction (a bill pays itself from open credits)."""
    if not created or raw or _deferred.get():
        return
    account_allocate(account_id=instance.account_id, on_date=instance.effective_date)
