"""Bank remittance (lockbox) files: the format registry integrations fill, the import that posts
their lines in batches exactly as payment_post posts one payment (remittance_posting.py), and
the suspense worklist staff work in the Billing Hub (each assignment through payment_post).

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
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F

from billing.models import LedgerEntry
from billing.payments.models import Allocation, Payment, RemittanceFile, RemittanceItem
from billing.payments.remittance_lines import Match, ParsedRemittance, RemittanceLine, RemittanceLineError
from billing.payments.remittance_posting import BATCH_SIZE, accounts_match, batch_post
from billing.payments.services import PaymentError, payment_post
from cis.selectors import account_get
from core.actors import Actor
from core.runs import tables_analyze_if_grown


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


def account_match(account_number: str) -> Match:
    """The account a bank line's account number names: the number as written, else the one
    account whose number is the same digits once punctuation and leading zeros are ignored.
    None (with why) when no account, or more than one, matches. A bill stub's scan line
    (billing/payments/scanline.py) names its account once its check digit is right. (The
    import matches a batch of lines at once with remittance_posting.accounts_match.)"""
    return accounts_match([account_number])[account_number]


def _post_line(*, line: RemittanceLine, account_id: int, actor: Actor) -> Payment:
    return payment_post(account_id=account_id, amount=line.amount, received_date=line.paid_date,
                        channel=Payment.Channel.LOCKBOX, tender_type=line.tender_type,
                        external_reference=line.item_reference, reference=line.payer[:100],
                        reason=f"Remittance line {line.line_number}", actor=actor)


def remittance_import(*, format: str, content: bytes, file_name: str, actor: Actor, now: dt.datetime,
                      batch_size: int = BATCH_SIZE,
                      progress: Callable[[RemittanceFile], None] | None = None) -> RemittanceFile:
    """Import a remittance file: each good line matched by account number is posted (channel
    lockbox, the bank reference as external reference) exactly as payment_post posts it; an
    unmatched or ambiguous one goes to suspense; one whose bank reference was already posted is
    recorded as a duplicate; a bad line is recorded as rejected with its field and message.

    The lines are posted in batches of `batch_size`, one transaction each
    (billing/payments/remittance_posting.py); after each batch `progress` (when given) gets the
    file with its counts so far. An import cut off half way (a killed process) left its file
    without `completed_at`: importing the same bytes again resumes it at the first line not yet
    recorded, so nothing is posted twice.

    Raises RemittanceFileDuplicate (the same bytes were imported completely), RemittanceError
    (an unknown format)."""
    fmt = _FORMATS.get(format)
    if fmt is None:
        raise RemittanceError(f"Unknown remittance format {format!r}; known: {', '.join(sorted(_FORMATS)) or 'none'}.")
    digest = hashlib.sha256(content).hexdigest()
    existing = RemittanceFile.objects.filter(file_hash=digest).first()
    if existing is not None and existing.completed_at is not None:
        raise RemittanceFileDuplicate(existing)
    parsed = fmt.parser(content, file_name)
    with actor.audit("remittance_import"):
        batch = existing or _file_create(format=format, file_name=file_name, digest=digest,
                                         lines=len(parsed.lines) + len(parsed.errors), actor=actor, now=now)
        size = max(1, batch_size)
        errors = sorted(parsed.errors, key=lambda e: e.line_number)
        done = 0
        for start in range(0, max(len(parsed.lines), len(errors)), size):
            lines_part, errors_part = parsed.lines[start:start + size], errors[start:start + size]
            counts = _batch_post(file=batch, lines=lines_part, errors=errors_part, actor=actor, now=now)
            for status, field in _COUNTERS.items():
                setattr(batch, field, getattr(batch, field) + counts[status])
            # The batches' lookups (posted references, open items, the allocation guard's sums)
            # would otherwise be planned on the tables' statistics from before the import: a
            # first large file into near-empty tables then scans them in full on every batch.
            tables_analyze_if_grown(_FILLED_TABLES, before=done, after=done + sum(counts.values()), step=size)
            done += sum(counts.values())
            if progress is not None:
                progress(batch)
        return _file_complete(file=batch, now=now, resumed=existing is not None)


_FILLED_TABLES = [model._meta.db_table for model in (LedgerEntry, Payment, Allocation, RemittanceItem)]

# The file's counter of each item status (an item assigned from suspense counts as suspense resolved).
_COUNTERS = {RemittanceItem.Status.POSTED: "posted", RemittanceItem.Status.SUSPENSE: "suspense",
             RemittanceItem.Status.DUPLICATE: "duplicates", RemittanceItem.Status.REJECTED: "rejected"}


def _file_create(*, format: str, file_name: str, digest: str, lines: int, actor: Actor,
                 now: dt.datetime) -> RemittanceFile:
    try:
        with transaction.atomic():
            return RemittanceFile.objects.create(format=format, file_name=file_name[:255], file_hash=digest,
                                                 lines_total=lines, imported_by_id=actor.user_id,
                                                 actor=actor.username, imported_at=now)
    except IntegrityError:
        # The same file imported at the same moment: that import's row (its batches and ours
        # are serialised by the row lock, and each skips the lines the other recorded).
        existing = RemittanceFile.objects.filter(file_hash=digest).first()
        if existing is None:
            raise
        if existing.completed_at is not None:
            raise RemittanceFileDuplicate(existing) from None
        return existing


def _batch_post(*, file: RemittanceFile, lines: list[RemittanceLine], errors: list[RemittanceLineError],
                actor: Actor, now: dt.datetime) -> dict[str, int]:
    """One batch in one transaction; planned again when a concurrent import posted one of its
    bank references first (the unique constraint), which then shows as a duplicate."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                counts = batch_post(file=file, lines=lines, errors=errors, actor=actor, now=now)
                # The row's counts move with each batch: another process sees the progress.
                RemittanceFile.objects.filter(pk=file.pk).update(
                    **{name: F(name) + counts[status] for status, name in _COUNTERS.items()})
                return counts
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _file_complete(*, file: RemittanceFile, now: dt.datetime, resumed: bool) -> RemittanceFile:
    """Mark the file complete with its counts from its items (exact also for a resumed import).
    Raises RemittanceFileDuplicate when a concurrent import of the same file completed it."""
    with transaction.atomic():
        locked = RemittanceFile.objects.select_for_update().get(pk=file.pk)
        if locked.completed_at is not None:
            raise RemittanceFileDuplicate(locked)
        counts = dict(RemittanceItem.objects.filter(file_id=file.pk).order_by().values_list("status")
                      .annotate(n=Count("id")).values_list("status", "n"))
        locked.posted = counts.get(RemittanceItem.Status.POSTED, 0)
        locked.suspense = counts.get(RemittanceItem.Status.SUSPENSE, 0)
        locked.duplicates = counts.get(RemittanceItem.Status.DUPLICATE, 0)
        locked.rejected = counts.get(RemittanceItem.Status.REJECTED, 0)
        locked.lines_total = sum(counts.values())
        locked.completed_at = now
        locked.save(update_fields=["posted", "suspense", "duplicates", "rejected", "lines_total", "completed_at"])
    return locked


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
