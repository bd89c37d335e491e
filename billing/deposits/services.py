"""Deposits: require (by rule or by staff, or record a waiver), bill the instalments (on the
account's next bills through the bill-issue hook, or at once), hold what is paid (the
held-deposit ledger, apart from the account balance), credit interest, refund (to the account
or by cheque), apply to the final bill, transfer to a new account of the same customer, and
the daily review that recommends what to do. See docs/deposits.md.

How money moves: an instalment is a charge on the account (a charge adjustment with a Fee of
kind "deposit", so allocation pays it like the other fees); once payments pay it, the paid part
is moved into the deposit (a DepositEntry of kind payment) and is held there, not in the
account's balance. A refund or an application is a DepositEntry out of the deposit and a credit
adjustment on the account; a cheque refund is a DepositEntry out and a refund to pay."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum

from billing.collections.models import CollectionAction
from billing.deposits import rules
from billing.deposits.models import (
    Deposit,
    DepositClass,
    DepositEntry,
    DepositInstalment,
    DepositInterest,
    DepositInterestRate,
    DepositRecommendation,
    DepositRefund,
    DepositReview,
    DepositReviewChunk,
    Trigger,
)
from billing.models import Bill, LedgerEntry
from billing.payments.models import Allocation, Fee, PaymentReturn
from billing.services.ledger import LedgerError, ledger_post_adjustment, ledger_reverse
from cis.selectors import account_ids_opened_between, accounts_by_ids
from core.actors import Actor
from core.money import money
from core.runs import engine as run_engine

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
CLOSED = "closed"  # cis.Account.Status.CLOSED


class DepositError(Exception):
    """A deposit cannot be required, billed, waived, refunded, applied or transferred as asked."""


def _reason(reason: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError({"reason": f"Say why the deposit is {what}."})
    return text


def _locked(deposit: Deposit) -> Deposit:
    return Deposit.objects.select_for_update().select_related("deposit_class", "account__customer").get(pk=deposit.pk)


def _active(deposit: Deposit, what: str) -> None:
    if deposit.status != Deposit.Status.ACTIVE:
        raise DepositError(f"Deposit {deposit.pk} is {deposit.get_status_display().lower()} and cannot be {what}.")


def _entry(deposit: Deposit, *, kind: str, amount: Decimal, on: dt.date, description: str, key: str, actor: Actor,
           instalment: DepositInstalment | None = None, ledger_entry: LedgerEntry | None = None) -> DepositEntry:
    """One held-deposit ledger row and the deposit's held amount with it (the row lock is held)."""
    entry = DepositEntry.objects.create(
        deposit=deposit, account_id=deposit.account_id, kind=kind, amount=amount, effective_date=on,
        description=description[:200], instalment=instalment, ledger_entry=ledger_entry, idempotency_key=key,
        reason=actor.reason, created_by_id=actor.user_id, actor=actor.username)
    deposit.held_amount = money(deposit.held_amount + amount)
    if deposit.interest_from is None and kind in (DepositEntry.Kind.PAYMENT, DepositEntry.Kind.TRANSFER_IN):
        deposit.interest_from = on
    deposit.save(update_fields=["held_amount", "interest_from"])
    return entry


# ---- Require, waive ------------------------------------------------------------------------


def deposit_require(*, account, as_of: dt.date, actor: Actor, reason: str, deposit_class: DepositClass | None = None,
                    trigger: str = Trigger.MANUAL, trigger_key: str = "", amount: Decimal | None = None,
                    waiver: str = "", waiver_reference: str = "") -> Deposit:
    """Require a deposit of the account: its class (given, or the account's by rule), the amount
    (given, or the class's rule) split into the class's instalments, billed on the next bills.
    With `waiver` the decision is recorded as waived (low income, a reference letter) and
    nothing is billed. Raises ValidationError (no reason, a bad amount, a waiver without its
    reference), DepositError (no class, an active deposit of the class already, this event
    already decided)."""
    reason = _reason(reason, "required")
    deposit_class = deposit_class or rules.deposit_class_for(account)
    if deposit_class is None:
        raise DepositError(f"No active deposit class matches account {account.account_number}.")
    if not deposit_class.active:
        raise DepositError(f"Deposit class {deposit_class.code} is not active.")
    if trigger not in Trigger.values:
        raise ValidationError({"trigger": f"Unknown trigger {trigger!r}."})
    if waiver and waiver not in Deposit.Waiver.values:
        raise ValidationError({"waiver": f"Unknown waiver {waiver!r}: low_income, reference_letter or other."})
    if waiver and not (waiver_reference or "").strip():
        raise ValidationError({"waiver_reference": "Name the letter, programme or file that supports the waiver."})
    worked = rules.deposit_amount(account, deposit_class=deposit_class, as_of=as_of)
    workings = worked.workings
    if amount is not None:
        try:
            value = Decimal(str(amount))
        except Exception as exc:  # noqa: BLE001 - any bad number is the same message
            raise ValidationError({"amount": "Enter an amount such as 150.00."}) from exc
        if not value.is_finite() or value <= 0 or value != money(value) or value >= Decimal("1e11"):
            raise ValidationError({"amount": "A positive amount with at most 2 decimal places."})
        cap = workings.get("cap")
        if cap is not None and value > Decimal(cap):
            raise ValidationError({"amount": f"{value} is above the cap of {deposit_class.cap_multiple} average monthly "
                                             f"bills ({cap})."})
        workings = {**workings, "entered": str(value), "amount": str(value)}
    else:
        value = worked.amount
    if value <= 0 and not waiver:
        raise DepositError(f"The rule gives no deposit for account {account.account_number} ({workings['source']}, "
                           f"minimum {deposit_class.minimum_amount}).")
    key = (trigger_key or f"manual:{as_of.isoformat()}")[:100]
    if not waiver and Deposit.objects.filter(account=account, deposit_class=deposit_class, status=Deposit.Status.ACTIVE).exists():
        raise DepositError(f"Account {account.account_number} already has an active {deposit_class.code} deposit.")
    if Deposit.objects.filter(account=account, trigger_key=key).exists():
        raise DepositError(f"A deposit for this event ({key}) was already decided on account {account.account_number}.")
    action = "deposit_waive" if waiver else "deposit_require"
    try:
        with transaction.atomic(), actor.with_reason(reason).audit(action):
            deposit = Deposit.objects.create(
                account=account, deposit_class=deposit_class, trigger=trigger, trigger_key=key, required_on=as_of,
                amount=value, workings=workings, created_by_id=actor.user_id,
                status=Deposit.Status.WAIVED if waiver else Deposit.Status.ACTIVE,
                waiver=waiver, waiver_reference=(waiver_reference or "").strip()[:200],
                waived_by_id=actor.user_id if waiver else None, closed_on=as_of if waiver else None,
                close_reason=reason if waiver else "")
            if not waiver:
                DepositInstalment.objects.bulk_create(
                    DepositInstalment(deposit=deposit, number=n, amount=part)
                    for n, part in enumerate(rules.instalment_amounts(value, deposit_class.instalments), start=1))
            _recommendations_close(account.pk, action=DepositRecommendation.Action.REQUIRE, key=key, on=as_of, actor=actor,
                                   note=f"Deposit {deposit.pk} {'waived' if waiver else 'required'}")
    except IntegrityError as exc:
        raise DepositError(f"Account {account.account_number} already has an active {deposit_class.code} deposit, or "
                           f"this event ({key}) was decided meanwhile.") from exc
    return deposit


def deposit_waive(*, deposit: Deposit, waiver: str, waiver_reference: str, on: dt.date, actor: Actor, reason: str) -> Deposit:
    """Waive an active deposit before anything of it is held: billed instalments still unpaid
    are reversed, the rest cancelled. Raises ValidationError (no reason, an unknown waiver, no
    reference), DepositError (not active, or money already held: refund it instead)."""
    reason = _reason(reason, "waived")
    if waiver not in Deposit.Waiver.values:
        raise ValidationError({"waiver": f"Unknown waiver {waiver!r}: low_income, reference_letter or other."})
    if not (waiver_reference or "").strip():
        raise ValidationError({"waiver_reference": "Name the letter, programme or file that supports the waiver."})
    actor = actor.with_reason(reason)
    with transaction.atomic(), actor.audit("deposit_waive"):
        deposit = _locked(deposit)
        _active(deposit, "waived")
        _sync(deposit, on=on, actor=actor)
        if deposit.held_amount > 0:
            raise DepositError(f"Deposit {deposit.pk} already holds {deposit.held_amount}: refund it instead of waiving.")
        _instalments_cancel(deposit, on=on, actor=actor, why="deposit waived")
        _sync(deposit, on=on, actor=actor)
        deposit.status, deposit.closed_on, deposit.close_reason = Deposit.Status.WAIVED, on, reason
        deposit.waiver, deposit.waiver_reference, deposit.waived_by_id = waiver, waiver_reference.strip()[:200], actor.user_id
        deposit.save(update_fields=["status", "closed_on", "close_reason", "waiver", "waiver_reference", "waived_by"])
    return deposit


# ---- Billing the instalments and holding what is paid ------------------------------------


def _bill_instalment(deposit: Deposit, instalment: DepositInstalment, *, on: dt.date, actor: Actor,
                     bill: Bill | None) -> LedgerEntry:
    count = deposit.deposit_class.instalments
    entry = ledger_post_adjustment(
        account_id=deposit.account_id, amount=instalment.amount, effective_date=on, user=actor,
        reason=f"Security deposit {deposit.pk}: instalment {instalment.number} of {count}",
        idempotency_key=f"deposit-instalment:{instalment.pk}")
    fee = Fee.objects.create(account_id=deposit.account_id, kind=Fee.Kind.DEPOSIT, amount=instalment.amount, ledger_entry=entry)
    instalment.status, instalment.ledger_entry, instalment.fee = DepositInstalment.Status.BILLED, entry, fee
    instalment.bill, instalment.billed_on = bill, on
    instalment.save(update_fields=["status", "ledger_entry", "fee", "bill", "billed_on"])
    return entry


def deposit_bill_next(*, deposit: Deposit, on: dt.date, actor: Actor) -> DepositInstalment:
    """Charge the next scheduled instalment now (e.g. the customer pays the deposit at the
    counter), not on the next bill. Raises DepositError when none is left."""
    with transaction.atomic(), actor.with_reason(actor.reason or "Deposit instalment billed").audit("deposit_bill"):
        deposit = _locked(deposit)
        _active(deposit, "billed")
        instalment = deposit.instalments.filter(status=DepositInstalment.Status.SCHEDULED).order_by("number").first()
        if instalment is None:
            raise DepositError(f"Deposit {deposit.pk} has no instalment left to bill.")
        _bill_instalment(deposit, instalment, on=on, actor=actor, bill=None)
    return instalment


def _instalment_paid(instalment: DepositInstalment) -> tuple[Decimal, dt.date | None]:
    """What allocation has paid of the instalment's charge (0 once the charge is reversed)."""
    entry_id = instalment.ledger_entry_id
    if entry_id is None or LedgerEntry.objects.filter(reverses_id=entry_id).exists():
        return ZERO, None
    rows = Allocation.objects.filter(charge_id=entry_id).aggregate(total=Sum("amount"))
    last = Allocation.objects.filter(charge_id=entry_id).order_by("-allocated_date").values_list("allocated_date", flat=True).first()
    return money(rows["total"] or ZERO), last


def _sync(deposit: Deposit, *, on: dt.date, actor: Actor) -> int:
    """Move what payments paid of the billed instalments into the deposit (and out again when a
    payment came back or an instalment was reversed). Returns how many instalments changed."""
    changed = 0
    for instalment in deposit.instalments.exclude(status=DepositInstalment.Status.SCHEDULED).exclude(ledger_entry=None):
        paid, last = _instalment_paid(instalment)
        delta = paid - instalment.paid
        if not delta:
            continue
        seq = instalment.entries.count()
        kind = DepositEntry.Kind.PAYMENT if delta > 0 else DepositEntry.Kind.PAYMENT_UNDONE
        when = max(last or on, instalment.billed_on or on) if delta > 0 else on
        _entry(deposit, kind=kind, amount=delta, on=min(when, on), key=f"deposit-paid:{instalment.pk}:{seq}", actor=actor,
               instalment=instalment, description=f"Instalment {instalment.number}: {'paid' if delta > 0 else 'payment undone'}")
        instalment.paid = paid
        instalment.save(update_fields=["paid"])
        changed += 1
    return changed


def deposit_sync(*, deposit: Deposit, on: dt.date, actor: Actor | None = None) -> int:
    """Hold what payments have paid of the deposit's instalments (see `_sync`); safe to repeat."""
    actor = actor or Actor.system("deposits")
    with transaction.atomic(), actor.audit("deposit_sync"):
        deposit = _locked(deposit)
        if deposit.status != Deposit.Status.ACTIVE:
            return 0
        return _sync(deposit, on=on, actor=actor)


def _instalments_cancel(deposit: Deposit, *, on: dt.date, actor: Actor, why: str) -> list[DepositInstalment]:
    """Cancel what is not yet held: scheduled instalments, and billed ones not fully paid (their
    charge reversed, so a part paid goes back to the account as a credit). Returns the
    cancelled instalments."""
    cancelled = []
    for instalment in deposit.instalments.exclude(status=DepositInstalment.Status.CANCELLED):
        if instalment.status == DepositInstalment.Status.BILLED and instalment.paid >= instalment.amount:
            continue
        if instalment.ledger_entry is not None:
            try:
                ledger_reverse(entry=instalment.ledger_entry, effective_date=on, user=actor,
                               reason=f"Security deposit {deposit.pk}: instalment {instalment.number} cancelled ({why})")
            except LedgerError:
                pass  # reversed already (a bill cancelled): nothing more to undo
        instalment.status = DepositInstalment.Status.CANCELLED
        instalment.save(update_fields=["status"])
        cancelled.append(instalment)
    return cancelled


# ---- Interest -----------------------------------------------------------------------------


def _credit_interest(deposit: Deposit, *, until: dt.date, actor: Actor) -> DepositInterest | None:
    """Credit the interest earned up to `until` (exclusive) per the class: to the account (a
    credit adjustment) or to the deposit. Nothing when the period is empty."""
    if deposit.interest_from is None or until <= deposit.interest_from:
        return None
    amount, spans = rules.deposit_interest(deposit, until=until)
    start = deposit.interest_from
    method = deposit.deposit_class.interest_credit
    ledger_entry = entry = None
    if amount > 0 and method == DepositClass.InterestCredit.ACCOUNT:
        ledger_entry = ledger_post_adjustment(
            account_id=deposit.account_id, amount=-amount, effective_date=until, user=actor,
            reason=f"Interest on security deposit {deposit.pk}, {start:%Y-%m-%d} to {until:%Y-%m-%d}",
            idempotency_key=f"deposit-interest:{deposit.pk}:{until.isoformat()}")
    elif amount > 0:
        entry = _entry(deposit, kind=DepositEntry.Kind.INTEREST, amount=amount, on=until, actor=actor,
                       key=f"deposit-interest:{deposit.pk}:{until.isoformat()}",
                       description=f"Interest {start:%Y-%m-%d} to {until:%Y-%m-%d}")
    credit = DepositInterest.objects.create(deposit=deposit, period_start=start, period_end=until, amount=amount,
                                            credited_to=method, ledger_entry=ledger_entry, entry=entry,
                                            workings=[s.as_dict() for s in spans])
    deposit.interest_from = until
    deposit.save(update_fields=["interest_from"])
    return credit


def interest_due_on(deposit: Deposit) -> dt.date | None:
    """The day the next interest credit is due (interest_from + the class's months)."""
    if deposit.interest_from is None:
        return None
    return deposit.interest_from + relativedelta(months=deposit.deposit_class.interest_credit_months)


def deposit_interest_credit(*, deposit: Deposit, until: dt.date, actor: Actor) -> DepositInterest | None:
    """Credit a deposit's interest up to `until` now (the review does it when due)."""
    with transaction.atomic(), actor.with_reason(actor.reason or "Deposit interest").audit("deposit_interest"):
        deposit = _locked(deposit)
        _active(deposit, "credited interest")
        _sync(deposit, on=until, actor=actor)
        return _credit_interest(deposit, until=until, actor=actor)


# ---- Refund, apply, transfer --------------------------------------------------------------


def _close(deposit: Deposit, *, status: str, on: dt.date, reason: str) -> None:
    deposit.status, deposit.closed_on, deposit.close_reason = status, on, reason
    deposit.save(update_fields=["status", "closed_on", "close_reason"])


def _wind_up(deposit: Deposit, *, on: dt.date, actor: Actor, why: str) -> Decimal:
    """Hold what is paid, credit interest to `on`, cancel what is not held. Returns the held amount."""
    _sync(deposit, on=on, actor=actor)
    _credit_interest(deposit, until=on, actor=actor)
    _instalments_cancel(deposit, on=on, actor=actor, why=why)
    _sync(deposit, on=on, actor=actor)
    return deposit.held_amount


def deposit_refund(*, deposit: Deposit, on: dt.date, actor: Actor, reason: str, method: str = "") -> DepositRefund | None:
    """Refund a deposit (good payment history reached, or staff decide): interest to date, then
    the held amount as a credit on the account or a cheque to pay (the class's method unless
    `method`); instalments not yet paid are cancelled. A deposit with nothing held is closed as
    cancelled (None returned). Raises ValidationError (no reason, unknown method), DepositError
    (not active)."""
    reason = _reason(reason, "refunded")
    if method and method not in DepositRefund.Method.values:
        raise ValidationError({"method": f"Refund to the account or by cheque, not {method!r}."})
    actor = actor.with_reason(reason)
    with transaction.atomic(), actor.audit("deposit_refund"):
        deposit = _locked(deposit)
        _active(deposit, "refunded")
        held = _wind_up(deposit, on=on, actor=actor, why="deposit refunded")
        if held <= 0:
            _close(deposit, status=Deposit.Status.CANCELLED, on=on, reason=f"Nothing held to refund: {reason}")
            return None
        method = method or deposit.deposit_class.refund_method
        ledger_entry = None
        if method == DepositRefund.Method.ACCOUNT:
            ledger_entry = ledger_post_adjustment(account_id=deposit.account_id, amount=-held, effective_date=on, user=actor,
                                                  reason=f"Security deposit {deposit.pk} refunded: {reason}",
                                                  idempotency_key=f"deposit-refund:{deposit.pk}")
        entry = _entry(deposit, kind=DepositEntry.Kind.REFUND, amount=-held, on=on, actor=actor, ledger_entry=ledger_entry,
                       key=f"deposit-refund:{deposit.pk}", description=f"Refunded ({DepositRefund.Method(method).label.lower()})")
        customer = deposit.account.customer
        address = ", ".join(p for p in (customer.mailing_address_line1, customer.mailing_address_line2, customer.mailing_city,
                                        customer.mailing_region, customer.mailing_postal_code) if p)
        refund = DepositRefund.objects.create(
            deposit=deposit, account_id=deposit.account_id, method=method, amount=held, payee=customer.display_name,
            mailing_address=address, entry=entry, ledger_entry=ledger_entry, reason=reason, created_by_id=actor.user_id,
            status=DepositRefund.Status.PAID if method == DepositRefund.Method.ACCOUNT else DepositRefund.Status.PENDING)
        _close(deposit, status=Deposit.Status.REFUNDED, on=on, reason=reason)
        _recommendations_close(deposit.account_id, action=DepositRecommendation.Action.REFUND, key=f"deposit:{deposit.pk}",
                               on=on, actor=actor, note=f"Refunded {held}")
    return refund


def deposit_refund_paid(*, refund: DepositRefund, cheque_number: str, paid_on: dt.date, actor: Actor) -> DepositRefund:
    """Record the cheque that paid a refund. Raises ValidationError (no number, a date before the
    refund), DepositError (not a cheque still to pay)."""
    number = (cheque_number or "").strip()
    if not number:
        raise ValidationError({"cheque_number": "Enter the cheque number."})
    if len(number) > 40:
        raise ValidationError({"cheque_number": "At most 40 characters."})
    with transaction.atomic(), actor.with_reason(actor.reason or f"Cheque {number}").audit("deposit_refund_paid"):
        refund = DepositRefund.objects.select_for_update().get(pk=refund.pk)
        if refund.method != DepositRefund.Method.CHEQUE or refund.status != DepositRefund.Status.PENDING:
            raise DepositError(f"Refund {refund.pk} is not a cheque waiting to be paid.")
        if paid_on < refund.entry.effective_date:
            raise ValidationError({"paid_on": f"The cheque cannot be paid before the refund ({refund.entry.effective_date})."})
        refund.status, refund.cheque_number, refund.paid_on = DepositRefund.Status.PAID, number, paid_on
        refund.save(update_fields=["status", "cheque_number", "paid_on"])
    return refund


def _apply(deposit: Deposit, *, on: dt.date, actor: Actor, reason: str, bill: Bill | None) -> Decimal:
    """Apply the deposit (row locked, active): returns what it changed the account's balance by
    (the credit applied, interest credited to the account and instalment charges reversed)."""
    before = LedgerEntry.objects.filter(account_id=deposit.account_id).aggregate(s=Sum("amount"))["s"] or ZERO
    held = _wind_up(deposit, on=on, actor=actor, why="deposit applied")
    if held > 0:
        label = f"bill {bill.bill_number}" if bill is not None else "the account"
        credit = ledger_post_adjustment(account_id=deposit.account_id, amount=-held, effective_date=on, user=actor,
                                        reason=f"Security deposit {deposit.pk} applied to {label}: {reason}",
                                        idempotency_key=f"deposit-apply:{deposit.pk}")
        _entry(deposit, kind=DepositEntry.Kind.APPLIED, amount=-held, on=on, actor=actor, ledger_entry=credit,
               key=f"deposit-apply:{deposit.pk}", description=f"Applied to {label}")
        _close(deposit, status=Deposit.Status.APPLIED, on=on, reason=reason)
    else:
        _close(deposit, status=Deposit.Status.CANCELLED, on=on, reason=f"Nothing held to apply: {reason}")
    _recommendations_close(deposit.account_id, action=DepositRecommendation.Action.APPLY, key=f"deposit:{deposit.pk}",
                           on=on, actor=actor, note=f"Applied {held}")
    after = LedgerEntry.objects.filter(account_id=deposit.account_id).aggregate(s=Sum("amount"))["s"] or ZERO
    return after - before


def deposit_apply(*, deposit: Deposit, on: dt.date, actor: Actor, reason: str) -> Deposit:
    """Apply a deposit to what the account owes (on move-out when the final bill came first, or
    staff decide): interest to date, the held amount as a credit, unpaid instalments cancelled.
    Raises ValidationError (no reason), DepositError (not active)."""
    reason = _reason(reason, "applied")
    actor = actor.with_reason(reason)
    with transaction.atomic(), actor.audit("deposit_apply"):
        deposit = _locked(deposit)
        _active(deposit, "applied")
        _apply(deposit, on=on, actor=actor, reason=reason, bill=None)
    return deposit


def deposit_transfer(*, deposit: Deposit, to_account, on: dt.date, actor: Actor, reason: str) -> Deposit:
    """Move a deposit to a new account of the same customer: interest to date credited on the
    old account, the held amount out of the old deposit and into a new one on `to_account`,
    instalments not yet paid cancelled on the old account and scheduled again on the new one.
    Returns the new deposit. Raises ValidationError (no reason), DepositError (not active,
    another customer's account, the same account, an active deposit of the class there)."""
    reason = _reason(reason, "transferred")
    actor = actor.with_reason(reason)
    if to_account.pk == deposit.account_id:
        raise DepositError("A deposit is transferred to another account, not the one it is on.")
    with transaction.atomic(), actor.audit("deposit_transfer"):
        deposit = _locked(deposit)
        _active(deposit, "transferred")
        if to_account.customer_id != deposit.account.customer_id:
            raise DepositError(f"Account {to_account.account_number} belongs to another customer; a deposit moves only "
                               "between accounts of the same customer.")
        if Deposit.objects.filter(account=to_account, deposit_class=deposit.deposit_class, status=Deposit.Status.ACTIVE).exists():
            raise DepositError(f"Account {to_account.account_number} already has an active {deposit.deposit_class.code} deposit.")
        _sync(deposit, on=on, actor=actor)
        _credit_interest(deposit, until=on, actor=actor)
        unpaid = [(i.number, i.amount) for i in _instalments_cancel(deposit, on=on, actor=actor, why="deposit transferred")]
        _sync(deposit, on=on, actor=actor)
        held = deposit.held_amount
        moved = Deposit.objects.create(
            account=to_account, deposit_class=deposit.deposit_class, trigger=deposit.trigger,
            trigger_key=f"transfer:{deposit.pk}", required_on=deposit.required_on, amount=deposit.amount,
            workings={**deposit.workings, "transferred_from": deposit.pk}, transferred_from=deposit,
            created_by_id=actor.user_id)
        if held > 0:
            _entry(deposit, kind=DepositEntry.Kind.TRANSFER_OUT, amount=-held, on=on, actor=actor,
                   key=f"deposit-transfer-out:{deposit.pk}", description=f"To account {to_account.account_number}")
            _entry(moved, kind=DepositEntry.Kind.TRANSFER_IN, amount=held, on=on, actor=actor,
                   key=f"deposit-transfer-in:{deposit.pk}", description=f"From account {deposit.account.account_number}")
        DepositInstalment.objects.bulk_create(DepositInstalment(deposit=moved, number=n, amount=a) for n, a in unpaid)
        _close(deposit, status=Deposit.Status.TRANSFERRED, on=on, reason=f"To account {to_account.account_number}: {reason}")
    return moved


# ---- The bill-issue hook ------------------------------------------------------------------


def deposit_bills_issued(*, bills: list[Bill], now: dt.datetime, actor: Actor | None = None) -> None:
    """The bill-issue hook (billing.budget.hooks): a final bill takes the account's deposits
    (their class permitting: applied as a credit); any other bill of an account with an active
    deposit carries its next scheduled instalment. Each changes the bill's amount due. Runs in
    the issue transaction; a bill issued twice is not seen twice (bills_issue skips issued bills)."""
    actor = actor or Actor.system("deposits")
    accounts = {b.account_id for b in bills}
    deposits: dict[int, list[Deposit]] = {}
    for deposit in (Deposit.objects.filter(account_id__in=accounts, status=Deposit.Status.ACTIVE)
                    .select_related("deposit_class", "account__customer").select_for_update(of=("self",)).order_by("pk")):
        deposits.setdefault(deposit.account_id, []).append(deposit)
    if not deposits:
        return
    offsets: dict[int, Decimal] = {}
    for bill in sorted(bills, key=lambda b: (b.bill_date, b.pk)):
        offset = offsets.get(bill.account_id, ZERO)
        change = ZERO
        for deposit in deposits.get(bill.account_id, []):
            if deposit.status != Deposit.Status.ACTIVE or bill.bill_date < deposit.required_on:
                continue
            if bill.kind == Bill.Kind.FINAL:
                if deposit.deposit_class.apply_on_final_bill:
                    change += _apply(deposit, on=bill.bill_date, actor=actor, bill=bill,
                                     reason=f"Final bill {bill.bill_number}: moved out")
                continue
            instalment = deposit.instalments.filter(status=DepositInstalment.Status.SCHEDULED).order_by("number").first()
            if instalment is not None:
                _bill_instalment(deposit, instalment, on=bill.bill_date, actor=actor, bill=bill)
                change += instalment.amount
        if offset or change:
            bill.balance_forward += offset
            bill.amount_due += offset + change
            offsets[bill.account_id] = offset + change
            Bill.objects.filter(pk=bill.pk).update(balance_forward=bill.balance_forward, amount_due=bill.amount_due)


def deposit_bill_reversed(*, entry: LedgerEntry) -> None:
    """A bill was cancelled (its ledger entry reversed): the instalment it carried goes back to
    scheduled (its charge reversed too), so the rebill carries it again."""
    target = entry.reverses
    if target is None or target.kind != LedgerEntry.Kind.BILL or target.bill_id is None:
        return
    for instalment in DepositInstalment.objects.filter(bill_id=target.bill_id, status=DepositInstalment.Status.BILLED,
                                                       paid=0).select_related("ledger_entry"):
        if instalment.ledger_entry is None:
            continue
        try:
            ledger_reverse(entry=instalment.ledger_entry, effective_date=entry.effective_date,
                           reason=f"Bill {target.bill_id} cancelled: its deposit instalment too")
        except LedgerError:
            continue
        # A new instalment row keeps the old one's history (its charge and reversal) intact.
        number = instalment.number
        DepositInstalment.objects.filter(pk=instalment.pk).update(status=DepositInstalment.Status.CANCELLED)
        last = DepositInstalment.objects.filter(deposit_id=instalment.deposit_id).order_by("-number").values_list("number", flat=True)[0]
        DepositInstalment.objects.create(deposit_id=instalment.deposit_id, number=last + 1, amount=instalment.amount)
        log.info("Deposit %s instalment %s re-scheduled after bill %s was cancelled", instalment.deposit_id, number,
                 target.bill_id)


# ---- Recommendations and the daily review -------------------------------------------------


def _recommendations_close(account_id: int, *, action: str, key: str, on: dt.date, actor: Actor, note: str) -> None:
    DepositRecommendation.objects.filter(account_id=account_id, action=action, key=key,
                                         status=DepositRecommendation.Status.OPEN).update(
        status=DepositRecommendation.Status.ACCEPTED, decided_by_id=actor.user_id, decided_on=on, decision_note=note[:500])


def _recommend(account_id: int, *, action: str, key: str, on: dt.date, reason: str, review_id: int | None, **fields) -> bool:
    """One recommendation per account, action and key: True when it is new."""
    try:
        with transaction.atomic():
            _, created = DepositRecommendation.objects.get_or_create(
                account_id=account_id, action=action, key=key[:100],
                defaults={"reason": reason[:300], "recommended_on": on, "review_id": review_id, **fields})
    except IntegrityError:
        return False
    return created


@dataclass(frozen=True)
class Outcome:
    recommended: int
    instalments_paid: int
    interest_credited: int


def deposit_account_review(*, account, on: dt.date, actor: Actor, review_id: int | None = None) -> Outcome:
    """One account's review on `on`: hold what was paid of its deposits, credit interest that is
    due, and recommend (once each) requiring a deposit for each rule's event, refunding a
    deposit whose account reached good payment history, applying one whose account closed."""
    recommended = paid = credited = 0
    active = list(Deposit.objects.filter(account=account, status=Deposit.Status.ACTIVE).select_related("deposit_class"))
    for deposit in active:
        with transaction.atomic(), actor.audit("deposit_review"):
            deposit = _locked(deposit)
            paid += _sync(deposit, on=on, actor=actor)
            due = interest_due_on(deposit)
            if due is not None and due <= on and deposit.held_amount > 0:
                credited += int(_credit_interest(deposit, until=due, actor=actor) is not None)
        history = rules.payment_history(account_ids=[account.pk], since=deposit.required_on, as_of=on,
                                        deposit_class=deposit.deposit_class)
        closing = account.status == CLOSED or Bill.objects.filter(
            account=account, kind=Bill.Kind.FINAL, status=Bill.Status.ISSUED).exists()
        if closing:
            recommended += _recommend(account.pk, action=DepositRecommendation.Action.APPLY, key=f"deposit:{deposit.pk}", on=on,
                                      review_id=review_id, deposit=deposit, amount=deposit.held_amount,
                                      reason="The account is closing (final bill issued or account closed): apply the deposit.")
        elif history.good:
            recommended += _recommend(account.pk, action=DepositRecommendation.Action.REFUND, key=f"deposit:{deposit.pk}", on=on,
                                      review_id=review_id, deposit=deposit, amount=deposit.held_amount,
                                      reason=f"Good payment history reached: {history.explain()}.")
    deposit_class = rules.deposit_class_for(account)
    if deposit_class is not None and account.status != CLOSED and not any(
            d.deposit_class_id == deposit_class.pk for d in active):
        decided = set(Deposit.objects.filter(account=account).values_list("trigger_key", flat=True))
        for requirement in rules.deposit_triggers(account, as_of=on, deposit_class=deposit_class):
            if requirement.key in decided:
                continue
            amount = rules.deposit_amount(account, deposit_class=deposit_class, as_of=on).amount
            recommended += _recommend(account.pk, action=DepositRecommendation.Action.REQUIRE, key=requirement.key, on=on,
                                      review_id=review_id, trigger=requirement.trigger, deposit_class=deposit_class,
                                      amount=amount, reason=requirement.reason)
            break  # one deposit per class at a time: the first event asks, the others wait
    return Outcome(recommended, paid, credited)


def recommendation_accept(*, recommendation: DepositRecommendation, on: dt.date, actor: Actor, reason: str = "",
                          method: str = "") -> Deposit | DepositRefund | None:
    """Do what an open recommendation says (require, refund, apply), as `actor`."""
    if recommendation.status != DepositRecommendation.Status.OPEN:
        raise DepositError(f"Recommendation {recommendation.pk} was already {recommendation.get_status_display().lower()}.")
    why = (reason or "").strip() or recommendation.reason
    if recommendation.action == DepositRecommendation.Action.REQUIRE:
        return deposit_require(account=recommendation.account, as_of=on, actor=actor, reason=why,
                               deposit_class=recommendation.deposit_class, trigger=recommendation.trigger,
                               trigger_key=recommendation.key)
    assert recommendation.deposit is not None  # the database says so for refund and apply
    if recommendation.action == DepositRecommendation.Action.REFUND:
        return deposit_refund(deposit=recommendation.deposit, on=on, actor=actor, reason=why, method=method)
    return deposit_apply(deposit=recommendation.deposit, on=on, actor=actor, reason=why)


def recommendation_dismiss(*, recommendation: DepositRecommendation, on: dt.date, actor: Actor, note: str) -> DepositRecommendation:
    """Decide not to follow a recommendation (it is not made again). Raises ValidationError (no
    note), DepositError (not open)."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the recommendation is dismissed."})
    with transaction.atomic(), actor.with_reason(note).audit("deposit_recommendation_dismiss"):
        recommendation = DepositRecommendation.objects.select_for_update().get(pk=recommendation.pk)
        if recommendation.status != DepositRecommendation.Status.OPEN:
            raise DepositError(f"Recommendation {recommendation.pk} was already {recommendation.get_status_display().lower()}.")
        recommendation.status, recommendation.decided_by_id = DepositRecommendation.Status.DISMISSED, actor.user_id
        recommendation.decided_on, recommendation.decision_note = on, note
        recommendation.save(update_fields=["status", "decided_by", "decided_on", "decision_note"])
    return recommendation


def review_account_ids(*, as_of: dt.date) -> list[int]:
    """Accounts the review looks at: those with an active deposit, those opened within the
    longest good-history period of the active classes (new customers), and those with a
    disconnection or returned payment in that period."""
    months = max(DepositClass.objects.filter(active=True).values_list("good_history_months", flat=True), default=0)
    if not months:
        return sorted(set(Deposit.objects.filter(status=Deposit.Status.ACTIVE).values_list("account_id", flat=True)))
    since = as_of - relativedelta(months=months)
    ids = set(Deposit.objects.filter(status=Deposit.Status.ACTIVE).values_list("account_id", flat=True))
    ids |= set(account_ids_opened_between(start=since, end=as_of))
    ids |= set(CollectionAction.objects.filter(kind=CollectionAction.Kind.DISCONNECT, action_date__gte=since)
               .values_list("account_id", flat=True))
    ids |= set(PaymentReturn.objects.filter(counts_for_credit=True, return_date__gte=since).values_list("account_id", flat=True))
    return sorted(ids)


def _enqueue(run_id: int, numbers: Iterable[int]) -> None:
    from billing.tasks import deposit_review_chunk  # the tasks module imports this one

    for number in numbers:
        deposit_review_chunk.delay(run_id=run_id, chunk_number=number)


def deposit_review_start(*, run_date: dt.date, now: dt.datetime, user=None, chunk_size: int = 500,
                         enqueue: bool = True) -> DepositReview:
    """Start the deposit review of `run_date`, or return the one already started (one per date).
    Splits the accounts into chunks and queues one task per chunk after commit."""
    if chunk_size < 1:
        raise DepositError("The chunk size must be at least 1.")
    key = f"deposits:{run_date.isoformat()}"
    existing = DepositReview.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic(), Actor.of(user).audit("deposit_review_start"):
            ids = review_account_ids(as_of=run_date)
            slices = [ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size)]
            run = DepositReview.objects.create(
                run_date=run_date, idempotency_key=key, status=DepositReview.Status.RUNNING if slices else DepositReview.Status.DONE,
                started_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
                created_at=now, started_at=now, progress_at=now, finished_at=None if slices else now,
                progress_total=len(ids), chunks_total=len(slices), accounts_total=len(ids))
            DepositReviewChunk.objects.bulk_create(
                DepositReviewChunk(run=run, number=n, size=len(part), account_ids=part) for n, part in enumerate(slices))
            if enqueue and slices:
                numbers = list(range(len(slices)))
                transaction.on_commit(lambda: _enqueue(run.pk, numbers))
    except IntegrityError:
        return DepositReview.objects.get(idempotency_key=key)
    return run


def deposit_review_chunk_process(*, run_id: int, chunk_number: int, now: dt.datetime) -> str:
    """Review one chunk's accounts; its writes commit with the chunk's DONE mark. Returns
    "done", "skipped" (done already or held by another worker) or "failed"."""
    actor = Actor.system("deposit review")
    try:
        with run_engine.chunk_claim(DepositReviewChunk, run_id=run_id, number=chunk_number, now=now) as claim:
            if claim is None:
                return "skipped"
            run = DepositReview.objects.get(pk=run_id)
            ids = [int(i) for i in claim.chunk.account_ids]
            recommended = paid = credited = 0
            for account in accounts_by_ids(account_ids=ids):
                outcome = deposit_account_review(account=account, on=run.run_date, actor=actor, review_id=run_id)
                recommended += outcome.recommended
                paid += outcome.instalments_paid
                credited += outcome.interest_credited
            claim.add(recommended=recommended, instalments_paid=paid, interest_credited=credited)
        return "done"
    except Exception as exc:  # noqa: BLE001 - kept on the chunk for staff; resume retries it
        log.exception("deposit review %s chunk %s failed", run_id, chunk_number)
        run_engine.chunk_fail(DepositReviewChunk, run_id=run_id, number=chunk_number, error=f"{type(exc).__name__}: {exc}",
                              now=now)
        return "failed"


def deposit_review_inline(*, run_date: dt.date, now: dt.datetime, chunk_size: int = 500) -> DepositReview:
    """Start the review and do its chunks here (tests, the demo)."""
    run = deposit_review_start(run_date=run_date, now=now, chunk_size=chunk_size, enqueue=False)
    for number in run_engine.pending_chunks(DepositReviewChunk, run_id=run.pk):
        deposit_review_chunk_process(run_id=run.pk, chunk_number=number, now=now)
    run.refresh_from_db()
    return run


def enqueue_chunks(run_id: int, numbers: list[int]) -> None:
    """core.runs' sweeper: queue these chunks again."""
    _enqueue(run_id, numbers)


def deposit_class_save(*, deposit_class: DepositClass, actor: Actor, reason: str = "") -> DepositClass:
    """Validate (precise messages per field) and save a deposit class, audited."""
    deposit_class.full_clean()
    with transaction.atomic(), actor.with_reason(reason or f"Deposit class {deposit_class.code}").audit("deposit_class_save"):
        deposit_class.save()
    return deposit_class



# Ontario-style defaults (docs/deposits.md): residential 1 year of good history, small
# commercial 3 years, everyone else 7; at most 2.5 average monthly bills (Ontario's
# Distribution System Code caps a deposit there); residential billed over 4 bills.
PRESET_CLASSES: tuple[dict, ...] = (
    {"code": "RES", "name": "Residential", "priority": 10, "customer_kind": "person", "amount_multiple": Decimal("2.50"),
     "cap_multiple": Decimal("2.50"), "minimum_amount": Decimal("100.00"), "instalments": 4, "good_history_months": 12},
    {"code": "GS", "name": "Small commercial", "priority": 20, "customer_kind": "organisation",
     "rate_class": "small_commercial", "amount_multiple": Decimal("2.50"), "cap_multiple": Decimal("2.50"),
     "minimum_amount": Decimal("250.00"), "instalments": 2, "good_history_months": 36},
    {"code": "OTHER", "name": "Other customers", "priority": 90, "amount_multiple": Decimal("2.50"),
     "cap_multiple": Decimal("2.50"), "minimum_amount": Decimal("500.00"), "instalments": 1, "good_history_months": 84,
     "refund_method": "cheque"},
)
PRESET_RATES: tuple[tuple[dt.date, Decimal, str], ...] = (
    (dt.date(2024, 1, 1), Decimal("4.2000"), "Prime 7.20 % less 3 %"),
    (dt.date(2025, 7, 1), Decimal("2.9500"), "Prime 4.95 % less 2 %"),
)


def deposit_presets_load(*, actor: Actor | None = None) -> dict[str, int]:
    """Load the preset deposit classes and interest rates that do not exist yet (by code / start date)."""
    actor = actor or Actor.system("deposit presets")
    created = {"classes": 0, "rates": 0}
    with transaction.atomic(), actor.with_reason("Deposit presets").audit("deposit_presets_load"):
        for fields in PRESET_CLASSES:
            _, made = DepositClass.objects.get_or_create(code=fields["code"], defaults=fields)
            created["classes"] += int(made)
        for start, percent, note in PRESET_RATES:
            _, made = DepositInterestRate.objects.get_or_create(start_date=start, defaults={"annual_percent": percent,
                                                                                          "note": note})
            created["rates"] += int(made)
    return created
