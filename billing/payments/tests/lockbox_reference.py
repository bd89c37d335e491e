"""The remittance import as it was before the bulk posting: one payment at a time through
payment_post, each line matched with account_match. Kept as the reference the bulk path is
compared against (test_payments_lockbox_bulk.py) and timed against (bench/lockbox.py
--reference): the same ledger, allocations and suspense, line for line."""
from __future__ import annotations

import datetime as dt
import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction

import re

from billing.payments.models import Payment, RemittanceFile, RemittanceItem
from billing.payments.remittance import Match, RemittanceLine, remittance_formats
from billing.payments.scanline import scan_line_read
from billing.services import PaymentDuplicate, payment_post
from cis.selectors import account_get, search_accounts
from core.actors import Actor


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text).lstrip("0")


def account_match(account_number: str) -> Match:
    """One line's account, through cis's one-box search (the rule accounts_match implements in bulk)."""
    written = account_number.strip()
    scan = scan_line_read(written)
    if scan is not None:
        if not scan.valid:
            return Match(None, f"Scan line {written!r}: check digit {scan.check_digit} is wrong "
                               f"(the digits before it give {scan.expected}); mistyped or misread.")
        written = scan.account_digits
    if written:
        try:
            return Match(account_get(account_number=written).pk, "")
        except Exception:  # noqa: BLE001 - cis's Account.DoesNotExist
            pass
    digits = _digits(written)
    if len(digits) < 2:
        return Match(None, f"No account number {written!r}." if written else "No account number on the line.")
    hits = [h.account for h in search_accounts(digits, kind="account", limit=50)
            if _digits(h.account.account_number) == digits]
    if len(hits) == 1:
        return Match(hits[0].pk, "")
    if len(hits) > 1:
        numbers = ", ".join(sorted(h.account_number for h in hits))
        return Match(None, f"Ambiguous: {written!r} could be any of accounts {numbers}.")
    return Match(None, f"No account number {written!r}.")


def remittance_import_one_by_one(*, format: str, content: bytes, file_name: str, actor: Actor,
                                 now: dt.datetime) -> RemittanceFile:
    fmt = next(f for f in remittance_formats() if f.key == format)
    parsed = fmt.parser(content, file_name)
    with transaction.atomic(), actor.audit("remittance_import"):
        batch = RemittanceFile.objects.create(format=format, file_name=file_name[:255],
                                              file_hash=hashlib.sha256(content).hexdigest(),
                                              imported_by_id=actor.user_id, actor=actor.username, imported_at=now,
                                              completed_at=now)
        items = [_line(batch=batch, line=line, actor=actor) for line in parsed.lines]
        items += [RemittanceItem(file=batch, line_number=e.line_number, status=RemittanceItem.Status.REJECTED,
                                 error_field=e.field, message=e.message, raw=e.raw) for e in parsed.errors]
        RemittanceItem.objects.bulk_create(items, batch_size=1000)
        counts = {status: sum(1 for i in items if i.status == status) for status in RemittanceItem.Status.values}
        batch.lines_total = len(items)
        batch.posted = counts[RemittanceItem.Status.POSTED]
        batch.suspense = counts[RemittanceItem.Status.SUSPENSE]
        batch.duplicates = counts[RemittanceItem.Status.DUPLICATE]
        batch.rejected = counts[RemittanceItem.Status.REJECTED]
        batch.save(update_fields=["lines_total", "posted", "suspense", "duplicates", "rejected"])
    return batch


def _line(*, batch: RemittanceFile, line: RemittanceLine, actor: Actor) -> RemittanceItem:
    item = RemittanceItem(file=batch, line_number=line.line_number, account_number=line.account_number[:40],
                          amount=line.amount, paid_date=line.paid_date, item_reference=line.item_reference,
                          tender_type=line.tender_type, payer=line.payer[:200], raw=line.raw)
    match = account_match(line.account_number)
    if match.account_id is None:
        item.status, item.message = RemittanceItem.Status.SUSPENSE, match.message
        earlier = Payment.objects.filter(channel=Payment.Channel.LOCKBOX, external_reference=line.item_reference).first()
        if earlier is not None:
            item.status, item.payment, item.message = RemittanceItem.Status.DUPLICATE, earlier, str(PaymentDuplicate(earlier))
        return item
    item.account_id = match.account_id
    try:
        item.payment = payment_post(account_id=match.account_id, amount=line.amount, received_date=line.paid_date,
                                    channel=Payment.Channel.LOCKBOX, tender_type=line.tender_type,
                                    external_reference=line.item_reference, reference=line.payer[:100],
                                    reason=f"Remittance line {line.line_number}", actor=actor)
        item.status = RemittanceItem.Status.POSTED
    except PaymentDuplicate as exc:
        item.status, item.payment, item.message = RemittanceItem.Status.DUPLICATE, exc.payment, str(exc)
    except ValidationError as exc:
        item.status, item.account_id = RemittanceItem.Status.REJECTED, None
        item.error_field = next(iter(exc.message_dict), "") if hasattr(exc, "error_dict") else ""
        item.message = "; ".join(exc.messages)
    return item
