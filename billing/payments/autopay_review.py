"""The review of autopay debits held above the enrolment's maximum withdrawal amount
(billing.payments.autopay holds them; the Billing Hub's Payments page lists them).

Billing staff decide each, with a reason, and the debit records who, when and why:
- **send anyway**: the debit goes to the bank in a file of its own (the due date's next file
  modifier; effective entry date the due date, or the day of the review when that has passed),
  posted through payment_post like every autopay debit, for what is still open on the bill
  (never more than was held);
- **skip**: the bill is not debited (the customer pays it another way; collections chase it
  as any unpaid bill).
A debit is reviewed once: the row is locked and must still be held."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from billing.payments import nacha
from billing.payments.autopay import AutopayError, _bill_open_amounts, _next_trace, decrypt, originator
from billing.payments.autopay_models import AutopayDebit, AutopayDebitFile
from billing.payments.models import Payment
from billing.payments.services import payment_post
from cis.selectors import account_numbers
from core.actors import Actor
from core.clock import utility_zone
from core.money import money

SEND, SKIP = "send", "skip"
MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def autopay_held_review(*, debit: AutopayDebit, decision: str, reason: str, actor: Actor,
                        now: dt.datetime) -> AutopayDebit:
    """Send a held debit anyway, or skip it. Raises ValidationError (no reason, an unknown
    decision) or AutopayError (not held any more, the bill is paid, the date has no file
    modifier left)."""
    reason = " ".join((reason or "").split())
    if decision not in (SEND, SKIP):
        raise ValidationError({"decision": "Choose send anyway or skip."})
    if not reason:
        raise ValidationError({"reason": "Say why."})
    reason = reason[:200]
    actor = actor.with_reason(reason)
    with transaction.atomic(), actor.audit(f"autopay_held_{decision}"):
        locked = AutopayDebit.objects.select_for_update().select_related("bill", "enrolment").get(pk=debit.pk)
        if locked.status != AutopayDebit.Status.HELD:
            raise AutopayError(f"This debit is {locked.get_status_display().lower()}: it was reviewed already.")
        locked.reviewed_by_id, locked.reviewed_actor, locked.reviewed_at = actor.user_id, actor.username, now
        locked.review_reason = reason
        if decision == SKIP:
            locked.status = AutopayDebit.Status.SKIPPED
            locked.save(update_fields=["status", "reviewed_by", "reviewed_actor", "reviewed_at", "review_reason"])
            return locked
        _send(locked, actor=actor, now=now)
    return locked


def _send(debit: AutopayDebit, *, actor: Actor, now: dt.datetime) -> None:
    bill, enrolment = debit.bill, debit.enrolment
    open_amount = money(_bill_open_amounts([bill]).get(bill.pk, money(0)))
    amount = min(open_amount, debit.amount)
    if amount <= 0:
        raise AutopayError(f"Bill {bill.bill_number or bill.pk} is paid already: skip this debit instead.")
    today = now.astimezone(utility_zone()).date()
    effective = max(debit.due_date, today)
    used = set(AutopayDebitFile.objects.filter(due_date=debit.due_date).values_list("file_id_modifier", flat=True))
    modifier = next((m for m in MODIFIERS if m not in used), None)
    if modifier is None:
        raise AutopayError(f"{debit.due_date} already has {len(used)} debit files, the most one date can have.")
    origin = originator()
    entry = nacha.DebitEntry(
        routing_number=decrypt(enrolment.routing_number_encrypted), account_number=decrypt(enrolment.account_number_encrypted),
        account_type=enrolment.account_type, amount=amount,
        individual_id=account_numbers(account_ids=[bill.account_id]).get(bill.account_id, str(bill.account_id)),
        individual_name=enrolment.holder_name, trace_number=_next_trace(origin.odfi))
    content = nacha.write_ppd_debit_file(originator=origin, entries=[entry], effective_date=effective,
                                         created_at=now.astimezone(utility_zone()), file_id_modifier=modifier)
    debit_file = AutopayDebitFile.objects.create(
        due_date=debit.due_date, file_id_modifier=modifier, content=content,
        file_hash=hashlib.sha256(content.encode()).hexdigest(), entry_count=1, total_amount=amount,
        created_by_id=actor.user_id, actor=actor.username, created_at=now)
    payment = payment_post(
        account_id=bill.account_id, amount=amount, received_date=effective, channel=Payment.Channel.AUTOPAY,
        tender_type=Payment.Tender.EFT, external_reference=entry.trace_number,
        reference=f"Bill {bill.bill_number or bill.pk}", actor=actor,
        reason=f"Held pre-authorised debit of bill {bill.bill_number or bill.pk} sent anyway: {actor.reason}")
    debit.status, debit.amount, debit.trace_number = AutopayDebit.Status.SENT, amount, entry.trace_number
    debit.file, debit.payment = debit_file, payment
    debit.save(update_fields=["status", "amount", "trace_number", "file", "payment", "reviewed_by", "reviewed_actor",
                              "reviewed_at", "review_reason"])


def debit_file_to_outbox(debit_file: AutopayDebitFile) -> Path:
    """Write a debit file where the daily task writes its files (UTILIS_AUTOPAY_OUTBOX), for the
    bank transfer to pick up."""
    out = Path(settings.UTILIS_AUTOPAY_OUTBOX) / f"autopay-{debit_file.due_date:%Y%m%d}-{debit_file.file_id_modifier}.ach"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(debit_file.content, encoding="ascii", newline="\n")
    return out


def reviewed_debits(limit: int = 20) -> list[AutopayDebit]:
    return list(AutopayDebit.objects.filter(reviewed_at__isnull=False).select_related("account", "bill")
                .order_by("-reviewed_at", "-id")[:limit])


def returned_debits(limit: int = 20) -> list[AutopayDebit]:
    return list(AutopayDebit.objects.filter(status=AutopayDebit.Status.RETURNED).select_related("account", "bill", "payment")
                .order_by("-id")[:limit])


def autopay_returns_file_for(*, due_date: dt.date, returns: dict[int, str], created_at: dt.datetime) -> str:
    """The returns file a bank would send for the sent debits of `due_date` of these accounts
    (account id -> return reason code, e.g. "R01"): the demo's file, and tests'. Raises
    AutopayError when an account has no sent debit on that date."""
    debits = {d.account_id: d for d in AutopayDebit.objects.filter(due_date=due_date, status=AutopayDebit.Status.SENT,
                                                                    account_id__in=list(returns)).select_related("enrolment")}
    missing = sorted(set(returns) - set(debits))
    if missing:
        raise AutopayError(f"No sent debit on {due_date} for accounts {missing}.")
    entries = []
    for account_id, code in returns.items():
        debit = debits[account_id]
        entries.append((nacha.DebitEntry(
            routing_number=decrypt(debit.enrolment.routing_number_encrypted),
            account_number=decrypt(debit.enrolment.account_number_encrypted), account_type=debit.enrolment.account_type,
            amount=debit.amount, individual_id=str(account_id), individual_name=debit.enrolment.holder_name,
            trace_number=debit.trace_number), code))
    return nacha.write_returns_file(originator=originator(), returns=entries, created_at=created_at)
