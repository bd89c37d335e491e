"""Bank remittance (lockbox) files: the format registry integrations fill, the import that posts
each line through payment_post, and the suspense worklist staff work in the Billing Hub.

A file's format is parsed by integrations (a higher layer), which registers a parser here from
its AppConfig.ready(); billing never imports integrations. A parser returns every good line as a
RemittanceLine and every bad one as a RemittanceLineError (file line and field named): a file
with bad lines keeps its good ones.

Nothing is posted twice: the same file's bytes are recognised by their SHA-256
(RemittanceFileDuplicate), and the same item in another file by its bank reference, the
lockbox channel's external reference (the line is recorded as a duplicate of the payment that
posted it)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing.payments.models import Payment, RemittanceFile, RemittanceItem
from billing.payments.scanline import scan_line_read
from billing.payments.services import PaymentDuplicate, PaymentError, payment_post
from cis.selectors import account_get, search_accounts
from core.actors import Actor


@dataclass(frozen=True)
class RemittanceLine:
    line_number: int
    account_number: str
    amount: Decimal
    paid_date: dt.date
    item_reference: str
    tender_type: str
    payer: str = ""
    raw: str = ""


@dataclass(frozen=True)
class RemittanceLineError:
    line_number: int
    field: str
    message: str
    raw: str = ""


@dataclass
class ParsedRemittance:
    lines: list[RemittanceLine] = field(default_factory=list)
    errors: list[RemittanceLineError] = field(default_factory=list)


@dataclass(frozen=True)
class RemittanceFormat:
    key: str
    title: str
    parser: Callable[[bytes, str], ParsedRemittance]  # (content, file name) -> ParsedRemittance
    file_suffixes: tuple[str, ...] = ()


_FORMATS: dict[str, RemittanceFormat] = {}


def register_remittance_format(fmt: RemittanceFormat) -> None:
    _FORMATS[fmt.key] = fmt


def remittance_formats() -> list[RemittanceFormat]:
    return sorted(_FORMATS.values(), key=lambda f: f.key)


class RemittanceError(PaymentError):
    """A remittance file or item that cannot be handled as asked."""


class RemittanceFileDuplicate(RemittanceError):
    def __init__(self, existing: RemittanceFile) -> None:
        super().__init__(f"This file was already imported as {existing.file_name} on "
                         f"{existing.imported_at:%Y-%m-%d %H:%M} UTC: nothing was posted again.")
        self.file = existing


@dataclass(frozen=True)
class Match:
    account_id: int | None
    message: str  # why it is not matched ("" when it is)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text).lstrip("0")


def account_match(account_number: str) -> Match:
    """The account a bank line's account number names: the number as written, else the one
    account whose number is the same digits once punctuation and leading zeros are ignored.
    None (with why) when no account, or more than one, matches. A bill stub's scan line
    (billing/payments/scanline.py) names its account once its check digit is right."""
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


def _post_line(*, line: RemittanceLine, account_id: int, actor: Actor) -> Payment:
    return payment_post(account_id=account_id, amount=line.amount, received_date=line.paid_date,
                        channel=Payment.Channel.LOCKBOX, tender_type=line.tender_type,
                        external_reference=line.item_reference, reference=line.payer[:100],
                        reason=f"Remittance line {line.line_number}", actor=actor)


def remittance_import(*, format: str, content: bytes, file_name: str, actor: Actor,
                      now: dt.datetime) -> RemittanceFile:
    """Import a remittance file: each good line matched by account number is posted (channel
    lockbox, the bank reference as external reference); an unmatched or ambiguous one goes to
    suspense; one whose bank reference was already posted is recorded as a duplicate; a bad
    line is recorded as rejected with its field and message.

    Raises RemittanceFileDuplicate (the same bytes were imported), RemittanceError (an unknown
    format)."""
    fmt = _FORMATS.get(format)
    if fmt is None:
        raise RemittanceError(f"Unknown remittance format {format!r}; known: {', '.join(sorted(_FORMATS)) or 'none'}.")
    digest = hashlib.sha256(content).hexdigest()
    existing = RemittanceFile.objects.filter(file_hash=digest).first()
    if existing is not None:
        raise RemittanceFileDuplicate(existing)
    parsed = fmt.parser(content, file_name)
    try:
        with transaction.atomic(), actor.audit("remittance_import"):
            batch = RemittanceFile.objects.create(format=format, file_name=file_name[:255], file_hash=digest,
                                                  imported_by_id=actor.user_id, actor=actor.username, imported_at=now)
            items = [_import_line(batch=batch, line=line, actor=actor) for line in parsed.lines]
            items += [RemittanceItem(file=batch, line_number=e.line_number, status=RemittanceItem.Status.REJECTED,
                                     error_field=e.field, message=e.message, raw=e.raw) for e in parsed.errors]
            RemittanceItem.objects.bulk_create(items)
            counts = {status: sum(1 for i in items if i.status == status) for status in RemittanceItem.Status.values}
            batch.lines_total = len(items)
            batch.posted = counts[RemittanceItem.Status.POSTED]
            batch.suspense = counts[RemittanceItem.Status.SUSPENSE]
            batch.duplicates = counts[RemittanceItem.Status.DUPLICATE]
            batch.rejected = counts[RemittanceItem.Status.REJECTED]
            batch.save(update_fields=["lines_total", "posted", "suspense", "duplicates", "rejected"])
    except IntegrityError:
        existing = RemittanceFile.objects.filter(file_hash=digest).first()
        if existing is None:
            raise
        raise RemittanceFileDuplicate(existing) from None
    return batch


def _import_line(*, batch: RemittanceFile, line: RemittanceLine, actor: Actor) -> RemittanceItem:
    item = RemittanceItem(file=batch, line_number=line.line_number, account_number=line.account_number[:40],
                          amount=line.amount, paid_date=line.paid_date, item_reference=line.item_reference,
                          tender_type=line.tender_type, payer=line.payer[:200], raw=line.raw)
    match = account_match(line.account_number)
    if match.account_id is None:
        item.status, item.message = RemittanceItem.Status.SUSPENSE, match.message
        earlier = Payment.objects.filter(channel=Payment.Channel.LOCKBOX, external_reference=line.item_reference).first()
        if earlier is not None:  # already posted (from an earlier file, or assigned from suspense)
            item.status, item.payment, item.message = RemittanceItem.Status.DUPLICATE, earlier, str(PaymentDuplicate(earlier))
        return item
    item.account_id = match.account_id
    try:
        item.payment = _post_line(line=line, account_id=match.account_id, actor=actor)
        item.status = RemittanceItem.Status.POSTED
    except PaymentDuplicate as exc:
        item.status, item.payment, item.message = RemittanceItem.Status.DUPLICATE, exc.payment, str(exc)
    except ValidationError as exc:
        item.status, item.account_id = RemittanceItem.Status.REJECTED, None
        item.error_field = next(iter(exc.message_dict), "") if hasattr(exc, "error_dict") else ""
        item.message = "; ".join(exc.messages)
    return item


def suspense_assign(*, item: RemittanceItem, account_number: str, reason: str, actor: Actor,
                    now: dt.datetime) -> RemittanceItem:
    """Post a suspense item to the account staff chose (the same payment_post, with the item's
    bank reference, so it can still be posted only once). Raises ValidationError (no reason,
    an unknown account), RemittanceError (the item is not in suspense), PaymentDuplicate."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the line belongs to this account."})
    try:
        account = account_get(account_number=(account_number or "").strip())
    except Exception as exc:  # noqa: BLE001 - cis's Account.DoesNotExist
        raise ValidationError({"account_number": f"No account {account_number!r}."}) from exc
    actor = actor.with_reason(reason.strip())
    with transaction.atomic(), actor.audit("suspense_assign"):
        item = RemittanceItem.objects.select_for_update().get(pk=item.pk)
        if item.status != RemittanceItem.Status.SUSPENSE:
            raise RemittanceError(f"Line {item.line_number} of {item.file.file_name} is {item.get_status_display().lower()},"
                                  " not in suspense.")
        line = RemittanceLine(item.line_number, item.account_number, item.amount or Decimal("0"),
                              item.paid_date or now.date(), item.item_reference, item.tender_type, item.payer)
        payment = _post_line(line=line, account_id=account.pk, actor=actor)
        item.status, item.payment, item.account_id = RemittanceItem.Status.ASSIGNED, payment, account.pk
        item.resolved_by_id, item.resolved_at, item.resolve_reason = actor.user_id, now, reason.strip()
        item.save(update_fields=["status", "payment", "account", "resolved_by", "resolved_at", "resolve_reason"])
        waiting = RemittanceItem.objects.filter(file_id=item.file_id, status=RemittanceItem.Status.SUSPENSE).count()
        RemittanceFile.objects.filter(pk=item.file_id).update(suspense=waiting)
    return item
