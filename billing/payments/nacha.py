"""The NACHA (ACH) file layout autopay uses, pure (no database): the PPD debit file Utilis
writes and the returns file the bank sends back. docs/payments.md ("NACHA PPD debit file") is
the layout a bank reads; this module is its code.

Records are 94 characters, one a line (LF; the reader also takes CRLF). Money is in cents with
no decimal point, dates are YYMMDD, alphanumeric fields are upper case, left-justified and
space-filled, numeric fields right-justified and zero-filled.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
SERVICE_CLASS_DEBITS = "225"  # debits only
SEC_PPD = "PPD"
TRANSACTION_CODES = {"checking": "27", "savings": "37"}  # debit of a checking / savings account
# The return entries' codes: a returned debit (21-26 checking, 31-36 savings) or its credit kin.
RETURN_TRANSACTION_CODES = frozenset({"21", "22", "23", "24", "26", "27", "31", "32", "33", "34", "36", "37"})

_ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)
_ALLOWED = re.compile(r"[^A-Z0-9 .,&'/()\-]")


class NachaError(ValueError):
    """A value that does not fit the layout (a field too long, a bad routing number)."""


def aba_checksum_ok(routing: str) -> bool:
    """True for 9 digits whose ABA check sum (3, 7, 1 weights) is a multiple of 10."""
    if not re.fullmatch(r"[0-9]{9}", routing or ""):
        return False
    return sum(int(d) * w for d, w in zip(routing, _ABA_WEIGHTS)) % 10 == 0


def aba_check_digit(first8: str) -> str:
    """The ninth digit that makes `first8` a valid routing number."""
    total = sum(int(d) * w for d, w in zip(first8, _ABA_WEIGHTS[:8]))
    return str((10 - total % 10) % 10)


def alpha(value: str, width: int) -> str:
    """An alphanumeric field: upper case, characters outside the ACH set replaced by spaces,
    cut to `width`, left-justified."""
    text = _ALLOWED.sub(" ", (value or "").upper().encode("ascii", "replace").decode("ascii").replace("?", " "))
    return text[:width].ljust(width)


def numeric(value: int | str, width: int) -> str:
    text = str(value)
    if not text.isdigit() or len(text) > width:
        raise NachaError(f"{value!r} does not fit a {width}-digit numeric field.")
    return text.rjust(width, "0")


def cents(amount: Decimal) -> int:
    value = amount * 100
    if value != value.to_integral_value() or value < 0:
        raise NachaError(f"{amount} is not a positive amount in cents.")
    return int(value)


@dataclass(frozen=True)
class Originator:
    """Who sends the file: the utility's bank (immediate destination, the ODFI) and the utility."""

    immediate_destination: str  # the ODFI's 9-digit routing number
    immediate_destination_name: str
    immediate_origin: str  # 10 characters, as the bank assigns (often "1" + the tax id)
    immediate_origin_name: str
    company_id: str  # 10 characters
    company_name: str
    entry_description: str

    @property
    def odfi(self) -> str:
        return self.immediate_destination[:8]


@dataclass(frozen=True)
class DebitEntry:
    routing_number: str
    account_number: str
    account_type: str  # checking | savings
    amount: Decimal
    individual_id: str  # the utility's account number
    individual_name: str
    trace_number: str  # 15 digits: the ODFI's 8 + a 7-digit sequence


def _check(record: str) -> str:
    if len(record) != RECORD_LENGTH:
        raise NachaError(f"Record of {len(record)} characters, not {RECORD_LENGTH}: {record!r}")
    return record


def entry_hash(routings: list[str]) -> str:
    """The sum of the receiving banks' 8-digit ids, its last 10 digits."""
    return str(sum(int(r[:8]) for r in routings))[-10:].rjust(10, "0")


def write_ppd_debit_file(*, originator: Originator, entries: list[DebitEntry], effective_date: dt.date,
                         created_at: dt.datetime, file_id_modifier: str = "A", batch_number: int = 1) -> str:
    """A complete PPD debit file: file header, one batch (header, entries, control), file control
    and 9-filled records up to a whole block of 10."""
    if not aba_checksum_ok(originator.immediate_destination):
        raise NachaError(f"The immediate destination {originator.immediate_destination!r} is not a valid routing "
                         "number.")
    if not re.fullmatch(r"[A-Z0-9]", file_id_modifier):
        raise NachaError("The file id modifier is one upper-case letter or digit.")
    records = [_check(
        "1" + "01" + " " + originator.immediate_destination + originator.immediate_origin.rjust(10)[:10]
        + created_at.strftime("%y%m%d") + created_at.strftime("%H%M") + file_id_modifier + "094" + "10" + "1"
        + alpha(originator.immediate_destination_name, 23) + alpha(originator.immediate_origin_name, 23) + " " * 8)]
    batch = numeric(batch_number, 7)
    records.append(_check(
        "5" + SERVICE_CLASS_DEBITS + alpha(originator.company_name, 16) + " " * 20
        + alpha(originator.company_id, 10) + SEC_PPD + alpha(originator.entry_description, 10)
        + effective_date.strftime("%b%y").upper().ljust(6) + effective_date.strftime("%y%m%d") + "   " + "1"
        + originator.odfi + batch))
    total = 0
    for entry in entries:
        if not aba_checksum_ok(entry.routing_number):
            raise NachaError(f"Routing number {entry.routing_number!r} fails the ABA check.")
        if not re.fullmatch(r"[0-9]{4,17}", entry.account_number):
            raise NachaError("A bank account number is 4 to 17 digits.")
        if entry.account_type not in TRANSACTION_CODES:
            raise NachaError(f"Unknown account type {entry.account_type!r}.")
        if not re.fullmatch(r"[0-9]{15}", entry.trace_number):
            raise NachaError(f"Trace number {entry.trace_number!r} is not 15 digits.")
        amount = cents(entry.amount)
        total += amount
        records.append(_check(
            "6" + TRANSACTION_CODES[entry.account_type] + entry.routing_number[:8] + entry.routing_number[8]
            + entry.account_number.ljust(17) + numeric(amount, 10) + alpha(entry.individual_id, 15)
            + alpha(entry.individual_name, 22) + "  " + "0" + entry.trace_number))
    count = len(entries)
    hashed = entry_hash([e.routing_number for e in entries])
    records.append(_check(
        "8" + SERVICE_CLASS_DEBITS + numeric(count, 6) + hashed + numeric(total, 12) + numeric(0, 12)
        + alpha(originator.company_id, 10) + " " * 19 + " " * 6 + originator.odfi + batch))
    blocks = -(-(len(records) + 1) // BLOCKING_FACTOR)
    records.append(_check(
        "9" + numeric(1, 6) + numeric(blocks, 6) + numeric(count, 8) + hashed + numeric(total, 12) + numeric(0, 12)
        + " " * 39))
    while len(records) % BLOCKING_FACTOR:
        records.append("9" * RECORD_LENGTH)
    return "\n".join(records) + "\n"


# --- the returns file ------------------------------------------------------------------------

@dataclass(frozen=True)
class ReturnEntry:
    line_number: int  # the entry detail record's line
    reason_code: str  # R01, R02, ...
    original_trace: str
    amount: Decimal
    transaction_code: str
    individual_id: str


@dataclass(frozen=True)
class ReturnLineError:
    line_number: int
    field: str
    message: str


@dataclass
class ParsedReturns:
    file_date: dt.date | None = None
    entries: list[ReturnEntry] = field(default_factory=list)
    errors: list[ReturnLineError] = field(default_factory=list)


def read_returns_file(content: bytes | str) -> ParsedReturns:
    """Read a NACHA returns file: each entry detail record (6) followed by its addenda (7, type
    99) becomes a ReturnEntry (reason code, the original entry's trace number, the amount); a bad
    record is a ReturnLineError naming its line and field, and the good entries are kept."""
    text = content.decode("ascii", "replace") if isinstance(content, bytes) else content
    parsed = ParsedReturns()
    pending: tuple[int, str, str, Decimal, str] | None = None

    def error(line: int, name: str, message: str) -> None:
        parsed.errors.append(ReturnLineError(line, name, message))

    for number, raw in enumerate(text.splitlines(), start=1):
        record = raw.rstrip("\r")
        if not record.strip():
            continue
        if len(record) != RECORD_LENGTH:
            error(number, "record", f"A record is {RECORD_LENGTH} characters; this one has {len(record)}.")
            continue
        kind = record[0]
        if kind != "7" and pending is not None:
            error(pending[0], "addenda", "The return entry has no addenda record (type 99) after it.")
            pending = None
        if kind == "1":
            try:
                parsed.file_date = dt.datetime.strptime(record[23:29], "%y%m%d").date()
            except ValueError:
                error(number, "file_creation_date", f"{record[23:29]!r} is not a date (YYMMDD).")
        elif kind == "6":
            code = record[1:3]
            if code not in RETURN_TRANSACTION_CODES:
                error(number, "transaction_code", f"{code!r} is not a debit or return transaction code.")
                continue
            amount_text = record[29:39]
            if not amount_text.isdigit():
                error(number, "amount", f"{amount_text!r} is not an amount in cents (10 digits).")
                continue
            pending = (number, code, record[39:54].strip(), Decimal(int(amount_text)) / 100, record[79:94])
        elif kind == "7":
            if pending is None:
                error(number, "addenda", "An addenda record without a return entry before it.")
                continue
            entry_line, code, individual, amount, _ = pending
            pending = None
            if record[1:3] != "99":
                error(number, "addenda_type", f"Addenda type {record[1:3]!r}: a return's addenda is type 99.")
                continue
            reason = record[3:6]
            if not re.fullmatch(r"R[0-9]{2}", reason):
                error(number, "return_reason_code", f"{reason!r} is not a return reason code (R01, R02, ...).")
                continue
            trace = record[6:21]
            if not trace.isdigit():
                error(number, "original_trace_number", f"{trace!r} is not a 15-digit trace number.")
                continue
            parsed.entries.append(ReturnEntry(entry_line, reason, trace, amount, code, individual))
        elif kind in "589":
            continue
        else:
            error(number, "record_type", f"Unknown record type {kind!r} (1, 5, 6, 7, 8 or 9).")
    if pending is not None:
        error(pending[0], "addenda", "The return entry has no addenda record (type 99) after it.")
    return parsed


def write_returns_file(*, originator: Originator, returns: list[tuple[DebitEntry, str]], created_at: dt.datetime,
                       rdfi_routing: str = "091000019") -> str:
    """A returns file as a bank sends one (tests and the demo): for each (original entry, reason
    code), a return entry (transaction code 26/36) and its addenda 99 naming the original trace."""
    records = [_check(
        "1" + "01" + " " + originator.immediate_destination + originator.immediate_origin.rjust(10)[:10]
        + created_at.strftime("%y%m%d%H%M") + "A" + "094" + "10" + "1" + alpha(originator.immediate_destination_name, 23)
        + alpha(originator.immediate_origin_name, 23) + " " * 8)]
    records.append(_check(
        "5" + SERVICE_CLASS_DEBITS + alpha(originator.company_name, 16) + " " * 20 + alpha(originator.company_id, 10)
        + SEC_PPD + alpha("RETURNS", 10) + " " * 6 + created_at.strftime("%y%m%d") + "   " + "1"
        + rdfi_routing[:8] + numeric(1, 7)))
    total = 0
    for index, (entry, reason) in enumerate(returns, start=1):
        amount = cents(entry.amount)
        total += amount
        code = "26" if entry.account_type == "checking" else "36"
        trace = rdfi_routing[:8] + numeric(index, 7)
        records.append(_check(
            "6" + code + entry.routing_number[:9] + entry.account_number.ljust(17) + numeric(amount, 10)
            + alpha(entry.individual_id, 15) + alpha(entry.individual_name, 22) + "  " + "1" + trace))
        records.append(_check(
            "7" + "99" + reason + entry.trace_number + " " * 6 + originator.odfi + " " * 44 + trace))
    hashed = entry_hash([e.routing_number for e, _ in returns])
    records.append(_check(
        "8" + SERVICE_CLASS_DEBITS + numeric(2 * len(returns), 6) + hashed + numeric(total, 12) + numeric(0, 12)
        + alpha(originator.company_id, 10) + " " * 25 + rdfi_routing[:8] + numeric(1, 7)))
    blocks = -(-(len(records) + 1) // BLOCKING_FACTOR)
    records.append(_check(
        "9" + numeric(1, 6) + numeric(blocks, 6) + numeric(2 * len(returns), 8) + hashed + numeric(total, 12)
        + numeric(0, 12) + " " * 39))
    while len(records) % BLOCKING_FACTOR:
        records.append("9" * RECORD_LENGTH)
    return "\n".join(records) + "\n"
