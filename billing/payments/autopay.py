"""Autopay (pre-authorised debit): enrolment with a bank account, the NACHA PPD debit file for
the bills due on a date, and the bank's returns file read back into returned payments.
Exported through billing.services (writes) and billing.selectors (reads).

Bank details are validated (routing number: 9 digits with the ABA check sum; account number:
4 to 17 digits), stored as Fernet tokens (settings.UTILIS_FIELD_ENCRYPTION_KEY) and shown
masked through core.privacy: only their last four digits are kept in clear.

Each debit is posted through payment_post when its file is produced (channel autopay, tender
EFT, received on the due date, external reference = the entry's trace number); a return
reverses it through payment_return. docs/payments.md ("Autopay") says why.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.models import Bill, LedgerEntry
from billing.payments import nacha
from billing.payments.allocation import account_items, accounts_allocate
from billing.payments.autopay_models import TRACE_SEQUENCE, AutopayDebit, AutopayDebitFile, AutopayEnrolment
from billing.payments.models import Payment, PaymentReturn
from billing.payments.services import PaymentAlreadyReturned, PaymentError, payment_post, payment_return
from cis.selectors import account_numbers
from core.actors import Actor
from core.money import money
from core.privacy import MASK, PersonalData, register_personal_fields

ZERO = Decimal("0.00")
# Returns that say the bank account cannot be debited again: the enrolment is cancelled.
CANCELLING_CODES = {"R02": "account closed", "R03": "no account / unable to locate account",
                    "R04": "invalid account number", "R07": "authorisation revoked by the customer",
                    "R10": "customer advises not authorised"}
REASON_TEXT = {"R01": "insufficient funds", "R08": "payment stopped", "R09": "uncollected funds",
               "R16": "account frozen", "R20": "non-transaction account", **CANCELLING_CODES}
# Returns that are the customer disputing the debit: recorded as a chargeback, not an NSF.
DISPUTE_CODES = frozenset({"R05", "R07", "R10", "R29"})


class AutopayError(PaymentError):
    """An autopay request that cannot be done as asked (an account already enrolled, ...)."""


# --- encryption and masking ------------------------------------------------------------------

def field_cipher() -> Fernet:
    key = settings.UTILIS_FIELD_ENCRYPTION_KEY
    if getattr(settings, "UTILIS_FIELD_ENCRYPTION_KEY_REQUIRED", False) and key == settings.DEV_FIELD_ENCRYPTION_KEY:
        raise ImproperlyConfigured(
            "UTILIS_FIELD_ENCRYPTION_KEY is the published development key and DEBUG is off: set it to a Fernet "
            "key (bin/utilis start keeps one in .local/field_encryption_key) before storing bank details.")
    try:
        return Fernet(key.encode())
    except ValueError as exc:
        raise ImproperlyConfigured("UTILIS_FIELD_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64 bytes).") from exc


def encrypt(value: str) -> str:
    return field_cipher().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return field_cipher().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("Stored bank details cannot be read with UTILIS_FIELD_ENCRYPTION_KEY "
                                   "(was the key changed?).") from exc


def masked_account(enrolment: AutopayEnrolment) -> str:
    """"•••• 6789": the only form bank details leave the server in (core.privacy's mask)."""
    return f"{MASK} {enrolment.account_last4}" if enrolment.account_last4 else MASK


def register() -> None:
    """From BillingConfig.ready: the encrypted columns are bank details for core.privacy (the
    admin and the audit trail mask them)."""
    register_personal_fields("billing.AutopayEnrolment", {
        "routing_number_encrypted": PersonalData.BANK_DETAILS,
        "account_number_encrypted": PersonalData.BANK_DETAILS,
    })


# --- enrolment -------------------------------------------------------------------------------

def validate_routing_number(value: str) -> str:
    routing = re.sub(r"[\s-]", "", value or "")
    if not re.fullmatch(r"[0-9]{9}", routing):
        raise ValidationError({"routing_number": "A routing number is 9 digits."})
    if not nacha.aba_checksum_ok(routing):
        raise ValidationError({"routing_number": (
            f"{routing} is not a valid routing number: its check digit should be "
            f"{nacha.aba_check_digit(routing[:8])}, not {routing[8]} (ABA check sum). Check the number on the "
            "cheque or with the bank.")})
    return routing


def validate_account_number(value: str) -> str:
    number = re.sub(r"[\s-]", "", value or "")
    if not re.fullmatch(r"[0-9]{4,17}", number):
        raise ValidationError({"account_number": "A bank account number is 4 to 17 digits."})
    return number


def _max_amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"max_amount": "Enter an amount such as 250.00."}) from exc
    if not amount.is_finite() or amount <= 0 or amount != money(amount) or amount >= Decimal("1e12"):
        raise ValidationError({"max_amount": "The maximum is a positive amount with at most 2 decimal places."})
    return amount


def autopay_enrol(*, account_id: int, routing_number: str, account_number: str, account_type: str,
                  holder_name: str, start_date: dt.date, actor: Actor, max_amount: Any = None,
                  reason: str = "") -> AutopayEnrolment:
    """Enrol an account in autopay. Raises ValidationError (every bad field at once, by field)
    or AutopayError (the account already has an active enrolment: the database's partial
    unique constraint, so also under a race)."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, check, raw in (("routing_number", validate_routing_number, routing_number),
                             ("account_number", validate_account_number, account_number),
                             ("max_amount", _max_amount, max_amount)):
        try:
            values[name] = check(raw)
        except ValidationError as exc:
            errors.update({k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()})
    if account_type not in AutopayEnrolment.AccountType.values:
        errors["account_type"] = [f"Choose one of: {', '.join(AutopayEnrolment.AccountType.values)}."]
    holder = " ".join((holder_name or "").split())
    if not holder:
        errors["holder_name"] = ["Enter the name on the bank account."]
    elif len(holder) > 100:
        errors["holder_name"] = ["At most 100 characters."]
    if errors:
        raise ValidationError(errors)
    number = values["account_number"]
    actor = actor.with_reason(reason.strip()) if (reason or "").strip() else actor.with_reason("Autopay enrolment")
    try:
        with transaction.atomic(), actor.audit("autopay_enrol"):
            if AutopayEnrolment.objects.filter(account_id=account_id, status=AutopayEnrolment.Status.ACTIVE).exists():
                raise AutopayError("The account already has an active autopay enrolment: cancel it first.")
            return AutopayEnrolment.objects.create(
                account_id=account_id, routing_number_encrypted=encrypt(values["routing_number"]),
                account_number_encrypted=encrypt(number), account_last4=number[-4:] if len(number) >= 8 else "",
                account_type=account_type, holder_name=holder, start_date=start_date, max_amount=values["max_amount"],
                created_by_id=actor.user_id, actor=actor.username)
    except IntegrityError as exc:
        raise AutopayError("The account already has an active autopay enrolment: cancel it first.") from exc


def autopay_cancel(*, enrolment: AutopayEnrolment, reason: str, actor: Actor,
                   now: dt.datetime | None = None) -> AutopayEnrolment:
    """Cancel an active enrolment (no more debits; those already sent stand). Raises
    ValidationError (no reason), AutopayError (already cancelled)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why autopay is cancelled."})
    actor = actor.with_reason(reason)
    with transaction.atomic(), actor.audit("autopay_cancel"):
        locked = AutopayEnrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.status != AutopayEnrolment.Status.ACTIVE:
            raise AutopayError("This autopay enrolment is already cancelled.")
        locked.status = AutopayEnrolment.Status.CANCELLED
        locked.cancelled_at = now or timezone.now()
        locked.cancelled_by_id = actor.user_id
        locked.cancel_reason = reason
        locked.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return locked


def active_enrolment(*, account_id: int) -> AutopayEnrolment | None:
    return AutopayEnrolment.objects.filter(account_id=account_id, status=AutopayEnrolment.Status.ACTIVE).first()


def bill_autopay_note(bill: Bill) -> str:
    """What a bill of an autopay account says ("Paid by pre-authorised debit on <due date> from
    account •••• 6789"), or "" (billing.pdf's bill-note hook)."""
    debit = AutopayDebit.objects.filter(bill_id=bill.pk).select_related("enrolment").first()
    enrolment: AutopayEnrolment | None
    if debit is not None:  # debited: the account it came from (held or returned: not paid that way)
        enrolment = debit.enrolment if debit.status == AutopayDebit.Status.SENT else None
    else:
        enrolment = active_enrolment(account_id=bill.account_id)
        if enrolment is not None and enrolment.start_date > bill.due_date:
            enrolment = None
    if enrolment is None:
        return ""
    return f"Paid by pre-authorised debit on {bill.due_date:%B} {bill.due_date.day}, {bill.due_date:%Y} from account {masked_account(enrolment)}."


# --- the debit file --------------------------------------------------------------------------

def originator() -> nacha.Originator:
    return nacha.Originator(
        immediate_destination=settings.UTILIS_ACH_IMMEDIATE_DESTINATION,
        immediate_destination_name=settings.UTILIS_ACH_IMMEDIATE_DESTINATION_NAME,
        immediate_origin=settings.UTILIS_ACH_IMMEDIATE_ORIGIN, immediate_origin_name=settings.UTILIS_ACH_IMMEDIATE_ORIGIN_NAME,
        company_id=settings.UTILIS_ACH_COMPANY_ID, company_name=settings.UTILIS_ACH_COMPANY_NAME,
        entry_description=settings.UTILIS_ACH_ENTRY_DESCRIPTION)


def _next_trace(odfi: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [TRACE_SEQUENCE])
        (number,) = cursor.fetchone()
    return f"{odfi}{number:07d}"


@dataclass
class DebitRun:
    """What one autopay_debit_file call did: `file` is the file written now (None: nothing
    new; `files` are the date's files, oldest first), `held` the debits held for review."""

    due_date: dt.date
    file: AutopayDebitFile | None
    files: list[AutopayDebitFile] = field(default_factory=list)
    held: list[AutopayDebit] = field(default_factory=list)

    @property
    def content(self) -> str:
        """The file to hand the bank: the one written now, or the date's latest again."""
        chosen = self.file or (self.files[-1] if self.files else None)
        return chosen.content if chosen else ""


def _bill_open_amounts(bills: list[Bill]) -> dict[int, Decimal]:
    entries = dict(LedgerEntry.objects.filter(bill__in=bills, kind=LedgerEntry.Kind.BILL, reversed_by__isnull=True)
                   .values_list("id", "bill_id"))
    opens: dict[int, Decimal] = {}
    for items in account_items(account_ids=list({b.account_id for b in bills})).values():
        for charge in items.charges:
            if charge.entry_id in entries:
                opens[entries[charge.entry_id]] = opens.get(entries[charge.entry_id], ZERO) + charge.open
    return opens


def autopay_debit_file(*, due_date: dt.date, actor: Actor, now: dt.datetime | None = None) -> DebitRun:
    """Debit every issued bill due on `due_date` of an account with an active enrolment (started
    on or before it) that has no debit yet, for what is still open on the bill. A debit above the
    enrolment's maximum is held; the others are one PPD file (effective entry date = the due
    date) and each is posted through payment_post. Run again for the same date it writes
    nothing new (the bill's one-to-one debit), and the date's file is handed back unchanged."""
    now = now or timezone.now()
    actor = actor.with_reason(actor.reason or f"Autopay debit file for bills due {due_date}")
    with transaction.atomic(), actor.audit("autopay_debit_file"):
        # One run per date at a time: the lock is the date's number.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7310, due_date.toordinal()])
        enrolments = {e.account_id: e for e in AutopayEnrolment.objects.filter(
            status=AutopayEnrolment.Status.ACTIVE, start_date__lte=due_date)}
        bills = list(Bill.objects.filter(due_date=due_date, status=Bill.Status.ISSUED, account_id__in=list(enrolments),
                                         autopay_debit__isnull=True).order_by("account_id", "id"))
        if bills:  # a bill run's bulk issue leaves its accounts unsettled: credit on file pays first
            accounts_allocate(account_ids=sorted({b.account_id for b in bills}), on_date=due_date)
        opens = _bill_open_amounts(bills) if bills else {}
        numbers = account_numbers(account_ids=[b.account_id for b in bills])
        origin = originator()
        entries: list[tuple[Bill, AutopayEnrolment, Decimal, nacha.DebitEntry]] = []
        held: list[AutopayDebit] = []
        for bill in bills:
            amount = money(opens.get(bill.pk, ZERO))
            if amount <= 0:
                continue  # paid already (or a credit bill): nothing to debit
            enrolment = enrolments[bill.account_id]
            if enrolment.max_amount is not None and amount > enrolment.max_amount:
                held.append(AutopayDebit.objects.create(
                    bill=bill, enrolment=enrolment, account_id=bill.account_id, due_date=due_date, amount=amount,
                    status=AutopayDebit.Status.HELD,
                    hold_reason=f"{amount} is above the enrolment's maximum of {enrolment.max_amount}."))
                continue
            entries.append((bill, enrolment, amount, nacha.DebitEntry(
                routing_number=decrypt(enrolment.routing_number_encrypted),
                account_number=decrypt(enrolment.account_number_encrypted), account_type=enrolment.account_type,
                amount=amount, individual_id=numbers.get(bill.account_id, str(bill.account_id)),
                individual_name=enrolment.holder_name, trace_number=_next_trace(origin.odfi))))
        files = list(AutopayDebitFile.objects.filter(due_date=due_date).order_by("file_id_modifier"))
        if not entries:
            return DebitRun(due_date, None, files, held)
        modifiers = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        if len(files) >= len(modifiers):
            raise AutopayError(f"{due_date} already has {len(files)} debit files, the most one date can have.")
        modifier = modifiers[len(files)]
        content = nacha.write_ppd_debit_file(originator=origin, entries=[e for *_, e in entries],
                                             effective_date=due_date, created_at=timezone.localtime(now),
                                             file_id_modifier=modifier)
        debit_file = AutopayDebitFile.objects.create(
            due_date=due_date, file_id_modifier=modifier, content=content,
            file_hash=hashlib.sha256(content.encode()).hexdigest(), entry_count=len(entries),
            total_amount=sum((a for _, _, a, _ in entries), ZERO), created_by_id=actor.user_id,
            actor=actor.username, created_at=now)
        for bill, enrolment, amount, entry in entries:
            payment = payment_post(
                account_id=bill.account_id, amount=amount, received_date=due_date, channel=Payment.Channel.AUTOPAY,
                tender_type=Payment.Tender.EFT, external_reference=entry.trace_number,
                reference=f"Bill {bill.bill_number or bill.pk}", actor=actor,
                reason=f"Pre-authorised debit of bill {bill.bill_number or bill.pk} (file {due_date} {modifier})")
            AutopayDebit.objects.create(
                bill=bill, enrolment=enrolment, account_id=bill.account_id, due_date=due_date, amount=amount,
                status=AutopayDebit.Status.SENT, trace_number=entry.trace_number, file=debit_file, payment=payment)
    return DebitRun(due_date, debit_file, [*files, debit_file], held)


# --- the returns file ------------------------------------------------------------------------

@dataclass
class ReturnsImport:
    returned: list[AutopayDebit] = field(default_factory=list)
    already: list[AutopayDebit] = field(default_factory=list)
    cancelled: list[AutopayEnrolment] = field(default_factory=list)
    errors: list[nacha.ReturnLineError] = field(default_factory=list)


def autopay_returns_import(*, content: bytes | str, actor: Actor, return_date: dt.date | None = None) -> ReturnsImport:
    """Read the bank's returns file: each return is matched by the original trace number to its
    debit and becomes payment_return (NSF, or chargeback for a disputed debit; the configured
    returned-payment fee); R02/R03/R04 (and R07/R10) also cancel the enrolment. Bad lines are
    reported (line and field), the good ones processed; the same file again changes nothing
    (its returns are reported as already returned). `return_date`: the file's creation date
    unless given."""
    parsed = nacha.read_returns_file(content)
    result = ReturnsImport(errors=list(parsed.errors))
    on = return_date or parsed.file_date
    for entry in parsed.entries:
        debit = (AutopayDebit.objects.filter(trace_number=entry.original_trace)
                 .select_related("payment", "enrolment").first())
        if debit is None or debit.payment is None:
            result.errors.append(nacha.ReturnLineError(entry.line_number + 1, "original_trace_number",
                                                       f"No autopay debit has trace number {entry.original_trace}."))
            continue
        if entry.amount != debit.amount:
            result.errors.append(nacha.ReturnLineError(
                entry.line_number, "amount", f"The return is for {entry.amount}, the debit {entry.original_trace} "
                                             f"was {debit.amount}."))
            continue
        if on is None:
            result.errors.append(nacha.ReturnLineError(1, "file_creation_date", "The file has no valid creation date."))
            break
        meaning = REASON_TEXT.get(entry.reason_code, "returned by the bank")
        reason = f"ACH return {entry.reason_code} ({meaning}), trace {entry.original_trace}"
        kind = PaymentReturn.Kind.CHARGEBACK if entry.reason_code in DISPUTE_CODES else PaymentReturn.Kind.NSF
        try:
            with transaction.atomic():
                payment_return(payment=debit.payment, kind=kind, return_date=max(on, debit.payment.received_date),
                               reason=reason, actor=actor, external_reference=entry.reason_code)
                with actor.with_reason(reason).audit("autopay_return"):
                    debit.status = AutopayDebit.Status.RETURNED
                    debit.return_code = entry.reason_code
                    debit.save(update_fields=["status", "return_code"])
                if entry.reason_code in CANCELLING_CODES and debit.enrolment.status == AutopayEnrolment.Status.ACTIVE:
                    result.cancelled.append(autopay_cancel(enrolment=debit.enrolment, reason=reason, actor=actor))
        except PaymentAlreadyReturned:
            result.already.append(debit)
            continue
        except ValidationError as exc:
            result.errors.append(nacha.ReturnLineError(entry.line_number, "return", "; ".join(exc.messages)))
            continue
        result.returned.append(debit)
    return result


def held_debits() -> list[AutopayDebit]:
    return list(AutopayDebit.objects.filter(status=AutopayDebit.Status.HELD).select_related("bill", "enrolment", "account")
                .order_by("due_date", "id")[:200])
