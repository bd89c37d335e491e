"""Bulk posting of remittance (lockbox) lines: one transaction per batch of lines, a handful of
queries and one COPY per table per batch, and every line left exactly as payment_post one by
one would have left it (billing/tests/test_payments_lockbox_bulk.py compares the two).

Per batch, in one transaction:
1. lock the file's row and skip the lines already recorded (a resumed import);
2. match the account numbers (and bill-stub scan lines) in one query, a second only for the
   numbers that match no account exactly (the digits-only rule of `account_match`);
3. take the allocation locks of the matched accounts in id order (payment_post's lock);
4. find the bank references already posted in one query;
5. plan each line in file order (pure: `lines_plan`): suspense (no or several accounts),
   rejected (payment_post's field checks), duplicate (a reference posted before, in an
   earlier file or earlier in this one), or posted;
6. draw receipt numbers and ledger/payment ids from their sequences, load the accounts' open
   charges and credits once, and settle each account after each of its payments in file
   order, as payment_post's account_allocate would (`allocations_plan`, pure);
7. COPY the ledger entries, payments, allocations and remittance items in.

The database's protections hold as for any insert: the ledger and payment tables are
append-only (triggers on UPDATE/DELETE), the allocation guard (a constraint trigger) checks
every allocation row, the unique (channel, external reference) refuses a payment posted
twice by a concurrent import (the batch is then planned again), and each payment and
remittance item gets its pghistory insert event with the actor's context (who, action, why):
written by one INSERT ... SELECT per table instead of the per-row trigger, which the COPY
ignores (the trigger's PL/pgSQL and context upsert per row cost more than the rest together)."""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pgtrigger
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models

from django.db.models import F

from billing.models import LedgerEntry
from billing.payments.allocation import (
    AccountItems,
    OpenItem,
    account_items,
    accounts_lock,
    allocations_release,
    plan_allocations,
    priority_ranks,
)
from billing.payments.models import RECEIPT_SEQUENCE, Allocation, Payment, RemittanceFile, RemittanceItem
from billing.payments.remittance_lines import Match, RemittanceLine, RemittanceLineError
from billing.payments.scanline import scan_line_read
from billing.payments.services import PaymentDuplicate, payment_fields_check
from cis.selectors import account_ids_by_number, accounts_by_number_prefix
from core.actors import Actor
from core.lookups import AnyOf

BATCH_SIZE = 2000
# search_accounts' page for the digits-only rule (account_match asks it for 50 hits).
_PREFIX_HITS = 50

Status = RemittanceItem.Status


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text).lstrip("0")


def accounts_match(account_numbers: Iterable[str]) -> dict[str, Match]:
    """`account_match` for many account numbers (as written on the lines) at once: the number
    as written (or a valid scan line's account digits) exactly, else the one account whose
    number is the same digits. One query, plus one for the numbers that need the digits rule."""
    out: dict[str, Match] = {}
    written_of: dict[str, str] = {}
    for number in set(account_numbers):
        written = number.strip()
        scan = scan_line_read(written)
        if scan is not None:
            if not scan.valid:
                out[number] = Match(None, f"Scan line {written!r}: check digit {scan.check_digit} is wrong "
                                          f"(the digits before it give {scan.expected}); mistyped or misread.")
                continue
            written = scan.account_digits
        written_of[number] = written
    exact = account_ids_by_number(account_numbers=written_of.values())
    by_digits: dict[str, str] = {}
    for number, written in written_of.items():
        if written and written in exact:
            out[number] = Match(exact[written], "")
            continue
        digits = _digits(written)
        if len(digits) < 2:
            out[number] = Match(None, f"No account number {written!r}." if written else "No account number on the line.")
        else:
            by_digits[number] = digits
    candidates = accounts_by_number_prefix(prefixes=by_digits.values(), limit=_PREFIX_HITS) if by_digits else {}
    for number, digits in by_digits.items():
        written = written_of[number]
        hits = [(account_id, acct) for account_id, acct in candidates.get(digits, []) if _digits(acct) == digits]
        if len(hits) == 1:
            out[number] = Match(hits[0][0], "")
        elif hits:
            numbers = ", ".join(sorted(acct for _, acct in hits))
            out[number] = Match(None, f"Ambiguous: {written!r} could be any of accounts {numbers}.")
        else:
            out[number] = Match(None, f"No account number {written!r}.")
    return out


@dataclass(frozen=True)
class PostedBefore:
    """A payment already posted with a bank reference (the lockbox channel's)."""

    payment_id: int
    receipt_number: str


@dataclass
class PlannedLine:
    """What becomes of one line. `posting` is the index (in the batch's postings) of the payment
    this line posts, or, for a duplicate of a line posted earlier in the batch, of that one."""

    line: RemittanceLine
    status: str
    account_id: int | None = None
    message: str = ""
    error_field: str = ""
    amount: Decimal | None = None
    external_reference: str = ""
    before: PostedBefore | None = None
    posting: int | None = None


def lines_plan(*, lines: Sequence[RemittanceLine], matches: dict[str, Match],
               posted: dict[str, PostedBefore]) -> tuple[list[PlannedLine], list[int]]:
    """Each line's fate in file order, as remittance_import's line-by-line posting decides it
    (pure: `matches` from accounts_match, `posted` the references already posted). Returns the
    plans and the indexes (into the plans) of the lines that post a payment."""
    plans: list[PlannedLine] = []
    postings: list[int] = []
    in_batch: dict[str, int] = {}  # reference -> index into postings
    for line in lines:
        match = matches[line.account_number]
        if match.account_id is None:
            plan = PlannedLine(line, Status.SUSPENSE, message=match.message)
            if line.item_reference in in_batch:
                plan.status, plan.posting, plan.message = Status.DUPLICATE, in_batch[line.item_reference], ""
            elif line.item_reference in posted:
                plan.status, plan.before, plan.message = Status.DUPLICATE, posted[line.item_reference], ""
            plans.append(plan)
            continue
        try:
            amount, reference = payment_fields_check(
                amount=line.amount, channel=Payment.Channel.LOCKBOX, tender_type=line.tender_type,
                external_reference=line.item_reference, reference=line.payer[:100])
        except ValidationError as exc:
            plans.append(PlannedLine(line, Status.REJECTED, message="; ".join(exc.messages),
                                     error_field=next(iter(exc.message_dict), "") if hasattr(exc, "error_dict") else ""))
            continue
        plan = PlannedLine(line, Status.POSTED, account_id=match.account_id, amount=amount,
                           external_reference=reference)
        if reference and reference in in_batch:
            plan.status, plan.posting = Status.DUPLICATE, in_batch[reference]
        elif reference and reference in posted:
            plan.status, plan.before = Status.DUPLICATE, posted[reference]
        else:
            plan.posting = len(postings)
            postings.append(len(plans))
            if reference:
                in_batch[reference] = plan.posting
        plans.append(plan)
    return plans, postings


@dataclass(frozen=True)
class NewCredit:
    """A payment's credit to settle: its (pre-drawn) ledger entry id, account, date, amount."""

    entry_id: int
    account_id: int
    received_date: dt.date
    amount: Decimal


@dataclass
class SettlePlan:
    releases: dict[int, tuple[list[int], dt.date]] = field(default_factory=dict)  # account -> (stale ids, on date)
    allocations: list[tuple[int, int, int, Decimal, dt.date]] = field(default_factory=list)  # account, credit, charge


def allocations_plan(*, credits: Sequence[NewCredit], items: dict[int, AccountItems],
                     ranks: dict[str, int]) -> SettlePlan:
    """The allocations payment_post would write for these credits posted one after the other
    (in the order given): after each one its account is settled (account_allocate: stale
    allocations released the first time, then every unallocated credit, oldest first, pays
    the open charges by priority), on the payment's received date. Pure."""
    plan = SettlePlan()
    charge_open: dict[int, dict[int, Decimal]] = {}
    credit_open: dict[int, dict[int, Decimal]] = {}
    known: dict[int, dict[int, OpenItem]] = defaultdict(dict)
    for credit in credits:
        account = credit.account_id
        if account not in charge_open:
            loaded = items[account]
            if loaded.stale:
                plan.releases[account] = ([s[0] for s in loaded.stale], credit.received_date)
            charge_open[account] = {c.entry_id: c.open for c in loaded.charges}
            credit_open[account] = {c.entry_id: c.open for c in loaded.credits}
            for item in [*loaded.charges, *loaded.credits]:
                known[account][item.entry_id] = item
        known[account][credit.entry_id] = OpenItem(credit.entry_id, LedgerEntry.Kind.PAYMENT, credit.received_date,
                                                   credit.amount)
        credit_open[account][credit.entry_id] = credit.amount
        charges = [OpenItem(i, known[account][i].kind, known[account][i].effective_date, left)
                   for i, left in charge_open[account].items() if left > 0]
        if not charges:
            continue
        open_credits = [OpenItem(i, known[account][i].kind, known[account][i].effective_date, left)
                        for i, left in credit_open[account].items() if left > 0]
        for p in plan_allocations(charges=charges, credits=open_credits, ranks=ranks):
            plan.allocations.append((account, p.credit_id, p.charge_id, p.amount, credit.received_date))
            charge_open[account][p.charge_id] -= p.amount
            credit_open[account][p.credit_id] -= p.amount
    return plan


def _sequence_values(sequence: str, count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
        return sorted(row[0] for row in cursor.fetchall())


def _id_sequence(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        return cursor.fetchone()[0]


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """COPY rows in (psycopg adapts Decimal, date, None). The rows' pghistory context is the one
    the batch's earlier statements set for the transaction."""
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


# The pghistory insert trigger of these tables runs a PL/pgSQL function and an upsert of the
# context row for every row; a batch ignores it for its COPY and writes the same event rows
# with one INSERT ... SELECT (`_events_insert`), under the same context.
_AUDITED_INSERTS = ("billing.Payment:insert_insert", "billing.RemittanceItem:insert_insert")


def _events_insert(model: type[models.Model], where: str, params: list[Any]) -> None:
    """The rows pghistory's insert trigger would have written for the rows of `model` that
    `where` selects: a copy of each with the label "insert", the time and the context (the
    actor, action and reason of the transaction's pghistory context, attached once)."""
    event = apps.get_model(model._meta.app_label, f"{model.__name__}Event")
    columns = [f.column for f in event._meta.concrete_fields if not f.column.startswith("pgh_")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT _pgh_attach_context()")
        (context_id,) = cursor.fetchone()
        cursor.execute(
            f"INSERT INTO {event._meta.db_table} (pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id, "
            f"{', '.join(columns)}) SELECT NOW(), 'insert', t.id, %s, {', '.join('t.' + c for c in columns)} "
            f"FROM {model._meta.db_table} t WHERE {where}", [context_id, *params])


def _posted_before(references: Iterable[str]) -> dict[str, PostedBefore]:
    refs = sorted({r for r in references if r})
    if not refs:
        return {}
    # One probe of the unique (channel, reference) index per reference (OFFSET 0 keeps the
    # planner from turning it into a scan of every lockbox payment, which grows with each file).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.external_reference, p.id, p.receipt_number FROM unnest(%s::text[]) AS r(ref) "
            f"CROSS JOIN LATERAL (SELECT id, external_reference, receipt_number FROM {Payment._meta.db_table} "
            f"  WHERE channel = %s AND external_reference = r.ref AND external_reference <> '' OFFSET 0) AS p",
            [refs, Payment.Channel.LOCKBOX])
        return {ref: PostedBefore(pk, receipt) for ref, pk, receipt in cursor.fetchall()}


def _duplicate_message(reference: str, receipt: str) -> str:
    return str(PaymentDuplicate(Payment(channel=Payment.Channel.LOCKBOX, external_reference=reference,
                                        receipt_number=receipt)))


def batch_post(*, file: RemittanceFile, lines: Sequence[RemittanceLine], errors: Sequence[RemittanceLineError],
               actor: Actor, now: dt.datetime) -> dict[str, int]:
    """Post one batch of a file's lines (see the module docstring); the caller holds the
    transaction and the actor's audit context. Lines the file already has items for are
    skipped. Returns the count of new items by status. Raises IntegrityError when a concurrent
    import posted one of the references first (plan the batch again)."""
    RemittanceFile.objects.select_for_update().filter(pk=file.pk).values_list("pk", flat=True).get()
    numbers = [line.line_number for line in lines] + [e.line_number for e in errors]
    done = set(RemittanceItem.objects.filter(AnyOf(F("line_number"), numbers), file_id=file.pk)
               .values_list("line_number", flat=True))
    lines = [line for line in lines if line.line_number not in done]
    errors = [e for e in errors if e.line_number not in done]
    matches = accounts_match(line.account_number for line in lines)
    accounts_lock(account_ids=[m.account_id for m in matches.values() if m.account_id is not None])
    posted = _posted_before(line.item_reference.strip() for line in lines)
    plans, postings = lines_plan(lines=lines, matches=matches, posted=posted)

    receipts = [f"R{n:09d}" for n in _sequence_values(RECEIPT_SEQUENCE, len(postings))]
    entry_ids = _sequence_values(_id_sequence(LedgerEntry._meta.db_table), len(postings))
    payment_ids = _sequence_values(_id_sequence(Payment._meta.db_table), len(postings))
    credits = [NewCredit(entry_ids[k], plans[i].account_id or 0, plans[i].line.paid_date, plans[i].amount or Decimal(0))
               for k, i in enumerate(postings)]
    accounts = sorted({c.account_id for c in credits})
    settle = allocations_plan(credits=credits, items=account_items(account_ids=accounts) if accounts else {},
                              ranks=priority_ranks())

    with pgtrigger.ignore(*_AUDITED_INSERTS):
        _rows_copy(file=file, plans=plans, postings=postings, errors=errors, receipts=receipts, entry_ids=entry_ids,
                   payment_ids=payment_ids, settle=settle, actor=actor, now=now)
    if payment_ids:
        _events_insert(Payment, "t.id = ANY(%s)", [payment_ids])
    if plans or errors:
        _events_insert(RemittanceItem, "t.file_id = %s AND t.line_number = ANY(%s)",
                       [file.pk, [p.line.line_number for p in plans] + [e.line_number for e in errors]])
    counts = {status: 0 for status in Status.values}
    for plan in plans:
        counts[plan.status] += 1
    counts[Status.REJECTED] += len(errors)
    return counts


def _rows_copy(*, file: RemittanceFile, plans: list[PlannedLine], postings: list[int],
               errors: Sequence[RemittanceLineError], receipts: list[str], entry_ids: list[int],
               payment_ids: list[int], settle: SettlePlan, actor: Actor, now: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # sets the ignored triggers (and the audit context) for the COPYs below
    user_id, username = actor.user_id, actor.username
    ledger_rows, payment_rows = [], []
    for k, i in enumerate(postings):
        plan, receipt = plans[i], receipts[k]
        reason = f"Remittance line {plan.line.line_number}"
        ledger_rows.append((entry_ids[k], plan.account_id, LedgerEntry.Kind.PAYMENT, -(plan.amount or 0),
                            plan.line.paid_date, f"Payment {receipt}", reason, f"payment:{receipt}", receipt, now,
                            user_id))
        payment_rows.append((payment_ids[k], receipt, plan.account_id, Payment.Channel.LOCKBOX, plan.line.tender_type,
                             plan.amount, plan.line.paid_date, plan.external_reference, plan.line.payer[:100].strip(),
                             entry_ids[k], reason, user_id, username, now))
    _copy(LedgerEntry._meta.db_table, ("id", "account_id", "kind", "amount", "effective_date", "description", "reason",
                                       "idempotency_key", "payment_reference", "posted_at", "created_by_id"),
          ledger_rows)
    _copy(Payment._meta.db_table, ("id", "receipt_number", "account_id", "channel", "tender_type", "amount",
                                   "received_date", "external_reference", "reference", "ledger_entry_id", "reason",
                                   "created_by_id", "actor", "created_at"), payment_rows)
    for account_id, (stale_ids, on_date) in settle.releases.items():
        allocations_release(account_id=account_id, allocation_ids=stale_ids, reason="Reversed in the ledger",
                            on_date=on_date)
    _copy(Allocation._meta.db_table, ("account_id", "credit_id", "charge_id", "amount", "reason", "allocated_date",
                                      "created_at"),
          ((a, credit, charge, amount, "", day, now) for a, credit, charge, amount, day in settle.allocations))

    item_rows: list[tuple[object, ...]] = []
    for plan in plans:
        line, payment_id, message = plan.line, None, plan.message
        if plan.posting is not None:
            payment_id = payment_ids[plan.posting]
            if plan.status == Status.DUPLICATE:
                message = _duplicate_message(line.item_reference.strip(), receipts[plan.posting])
        elif plan.before is not None:
            payment_id = plan.before.payment_id
            message = _duplicate_message(line.item_reference.strip(), plan.before.receipt_number)
        item_rows.append((file.pk, line.line_number, plan.status, line.account_number[:40], line.amount,
                          line.paid_date, line.item_reference, line.tender_type, line.payer[:200], line.raw,
                          plan.error_field, message, plan.account_id, payment_id, ""))
    for error in errors:
        item_rows.append((file.pk, error.line_number, Status.REJECTED, "", None, None, "", "", "", error.raw,
                          error.field, error.message, None, None, ""))
    _copy(RemittanceItem._meta.db_table, ("file_id", "line_number", "status", "account_number", "amount", "paid_date",
                                          "item_reference", "tender_type", "payer", "raw", "error_field", "message",
                                          "account_id", "payment_id", "resolve_reason"), item_rows)
