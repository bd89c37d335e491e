"""What a remittance parser gives billing (a good line, a bad line, the two lists) and what an
account number matches: the values shared by the import (remittance.py) and its bulk posting
(remittance_posting.py). Re-exported through billing.services."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


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
class Match:
    account_id: int | None
    message: str  # why it is not matched ("" when it is)
