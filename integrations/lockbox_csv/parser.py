"""Read a Utilis CSV remittance file into billing's RemittanceLine / RemittanceLineError: every
good line kept, every bad one named by line number and field (the header is line 1)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from billing.services import ParsedRemittance, RemittanceLine, RemittanceLineError
from integrations.lockbox_csv.layout import COLUMNS, DEFAULT_TENDER, MAX_REFERENCE, TENDERS


def _amount(text: str) -> Decimal:
    value = Decimal(text.strip())
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value >= Decimal("1e12"):
        raise ValueError
    return value


def parse_lockbox_csv(content: bytes, file_name: str = "") -> ParsedRemittance:
    result = ParsedRemittance()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.errors.append(RemittanceLineError(1, "file", f"Not UTF-8 text ({exc.reason} at byte {exc.start})."))
        return result
    lines = text.splitlines()
    if not lines or [c.strip().lower() for c in next(csv.reader([lines[0]]), [])] != list(COLUMNS):
        result.errors.append(RemittanceLineError(1, "header", f"The first line must be: {','.join(COLUMNS)}.",
                                                 lines[0] if lines else ""))
        return result
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        try:
            cells = next(csv.reader(io.StringIO(raw)))
        except csv.Error as exc:
            result.errors.append(RemittanceLineError(number, "line", f"Not a CSV line: {exc}.", raw))
            continue
        if len(cells) != len(COLUMNS):
            result.errors.append(RemittanceLineError(number, "line", f"Has {len(cells)} fields; the layout has "
                                                                     f"{len(COLUMNS)}.", raw))
            continue
        account, amount, paid, reference, tender, payer = (c.strip() for c in cells)
        bad = None
        try:
            value = _amount(amount)
        except (InvalidOperation, ValueError):
            bad = ("amount", f"{amount!r} is not a positive amount with at most 2 decimals (e.g. 125.00).")
        try:
            day = dt.date.fromisoformat(paid)
        except ValueError:
            bad = bad or ("paid_date", f"{paid!r} is not a date (YYYY-MM-DD).")
        if not reference or len(reference) > MAX_REFERENCE:
            bad = bad or ("item_reference", f"The bank's item reference is required (at most {MAX_REFERENCE} characters).")
        kind = TENDERS.get(tender.lower() or DEFAULT_TENDER)
        if kind is None:
            bad = bad or ("tender_type", f"{tender!r} is not cheque or eft.")
        if "\x00" in raw:
            bad = ("line", "The line contains a NUL character.")
        if bad is not None:
            result.errors.append(RemittanceLineError(number, bad[0], bad[1], raw.replace("\x00", "")))
            continue
        result.lines.append(RemittanceLine(number, account, value, day, reference, kind or DEFAULT_TENDER, payer, raw))
    return result
