"""Read a BAI2 file into billing's RemittanceLine / RemittanceLineError.

Each transaction detail (record 16) whose type code is a credit becomes one remittance line:
amount in cents (an implied 2 decimals), the bank reference as the item reference, the customer
reference (else the detail's text) as the account number or bill scan line, the group's as-of
date as the paid date. Debit and non-detail records are not remittances and are skipped.

The `bai2` package parses the structure and checks the control totals and record counts. A
detail it cannot read is kept as an error with its line number and field, and the file is
read again without it (its totals can then no longer add up, so they are not checked); a file
whose structure or totals are wrong as a whole is one error and nothing of it is posted."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bai2 import bai2  # type: ignore[import-untyped]
from bai2.constants import FundsType, TypeCodes, TypeCodeTransaction  # type: ignore[import-untyped]
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException  # type: ignore[import-untyped]
from bai2.helpers import IteratorHelper  # type: ignore[import-untyped]
from bai2.models import TransactionDetail  # type: ignore[import-untyped]
from bai2.parsers import TransactionDetailParser  # type: ignore[import-untyped]

from billing.services import ParsedRemittance, RemittanceLine, RemittanceLineError

MAX_REFERENCE = 100
# Credits that arrive electronically (ACH, wires); other credits (lockbox, deposits) are cheques.
EFT_TYPE_CODES = frozenset({"142", "143", "165", "166", "167", "168", "169", "195", "196", "201", "206", "208"})
_FUNDS_TYPES = {f.value for f in FundsType}


@dataclass
class _Record:
    line_number: int
    lines: list[str]

    @property
    def code(self) -> str:
        return self.lines[0][:2]

    @property
    def raw(self) -> str:
        return "\n".join(self.lines)


def _records(text: str) -> list[_Record]:
    records: list[_Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("88,") and records:
            records[-1].lines.append(line)
        else:
            records.append(_Record(number, [line]))
    return records


def _quick_problem(record: _Record) -> tuple[str, str]:
    """(field, message) for a 16 record whose type code, amount or funds type is wrong ('' field
    when they are right): string checks only."""
    fields = ",".join([record.lines[0][3:]] + [c[3:] for c in record.lines[1:]]).rstrip("/").split(",")
    type_code = fields[0] if fields else ""
    if type_code not in TypeCodes:
        return "type_code", f"{type_code!r} is not a BAI2 type code."
    amount = fields[1] if len(fields) > 1 else ""
    if amount and not amount.isdigit():
        return "amount", f"{amount!r} is not an amount in cents (digits only)."
    funds = fields[2] if len(fields) > 2 else ""
    if funds and funds not in _FUNDS_TYPES:
        return "funds_type", f"{funds!r} is not a BAI2 funds type."
    return "", ""


def _detail_problem(record: _Record) -> tuple[str, str]:
    """(field, message) for a 16 record the bai2 package cannot read, '' field when it can."""
    field, message = _quick_problem(record)
    if field:
        return field, message
    try:
        TransactionDetailParser(IteratorHelper(record.lines)).parse()
    except (ParsingException, NotSupportedYetException, ValueError, IndexError) as exc:
        return "record", f"Not a readable transaction detail: {exc}."
    return "", ""


def _line(record: _Record, detail: TransactionDetail, paid: dt.date | None) -> RemittanceLine | RemittanceLineError:
    cents = detail.amount
    reference = (detail.bank_reference or "").strip()
    customer = (detail.customer_reference or "").strip() or (detail.text or "").strip().rstrip("/").strip()
    if not cents or cents <= 0:
        return RemittanceLineError(record.line_number, "amount", "A remitted item is a positive amount.", record.raw)
    if paid is None:
        return RemittanceLineError(record.line_number, "as_of_date", "The group header (02) has no as-of date.",
                                   record.raw)
    if not reference or len(reference) > MAX_REFERENCE:
        return RemittanceLineError(record.line_number, "bank_reference",
                                   f"The bank reference is required (at most {MAX_REFERENCE} characters).", record.raw)
    tender = "eft" if detail.type_code.code in EFT_TYPE_CODES else "cheque"
    return RemittanceLine(record.line_number, customer, Decimal(cents).scaleb(-2), paid, reference, tender,
                          (detail.text or "").strip().rstrip("/").strip()[:200], record.raw)


def parse_bai2(content: bytes, file_name: str = "") -> ParsedRemittance:
    result = ParsedRemittance()
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError as exc:
        result.errors.append(RemittanceLineError(1, "file", f"Not ASCII text (byte {exc.start}): BAI2 is ASCII."))
        return result
    if "\x00" in text:
        result.errors.append(RemittanceLineError(1, "file", "The file contains a NUL character."))
        return result
    records = _records(text)
    if not records or records[0].code != "01" or records[-1].code != "99":
        result.errors.append(RemittanceLineError(records[0].line_number if records else 1, "file",
                                                 "A BAI2 file starts with a file header (01) and ends with a file "
                                                 "trailer (99)."))
        return result
    parsed = None
    if not any(record.code == "16" and _quick_problem(record)[0] for record in records):
        # Every detail looks right: parse the file once. Only when that fails is each detail
        # parsed on its own (the package's detail parser, as the whole-file parse runs it) to
        # name the bad ones and keep the rest; the outcome is the same, the common case twice
        # as fast.
        try:
            parsed = bai2.parse_from_lines([line for r in records for line in r.lines], check_integrity=True)
        except (ParsingException, IntegrityException, NotSupportedYetException, ValueError, IndexError):
            parsed = None
    kept: list[_Record] = records
    if parsed is None:
        kept = []
        for record in records:
            if record.code == "16":
                field, message = _detail_problem(record)
                if field:
                    result.errors.append(RemittanceLineError(record.line_number, field, message, record.raw))
                    continue
            kept.append(record)
        try:
            parsed = bai2.parse_from_lines([line for r in kept for line in r.lines], check_integrity=not result.errors)
        except (ParsingException, IntegrityException, NotSupportedYetException, ValueError, IndexError) as exc:
            return ParsedRemittance(errors=[RemittanceLineError(1, "file", f"Not a readable BAI2 file: {exc}.")])
    details = iter([r for r in kept if r.code == "16"])
    for group in parsed.children:
        paid = group.header.as_of_date
        for account in group.children:
            for detail in account.children:
                record = next(details)
                if detail.type_code.transaction != TypeCodeTransaction.credit:
                    continue
                item = _line(record, detail, paid)
                if isinstance(item, RemittanceLineError):
                    result.errors.append(item)
                else:
                    result.lines.append(item)
    return result
